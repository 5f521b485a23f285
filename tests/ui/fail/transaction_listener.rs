use model_core::{Model, TransactionInfo};

// A listener of the transaction declared on the function is a plain function: async work
// before the commit is registered at run time (`before_commit_with`).
#[model_core::listens_for(transaction_before_commit)]
async fn publish(tx: &TransactionInfo) {
    let _ = tx;
}

// After the commit there is nothing to veto: no `Result`.
#[model_core::listens_for(transaction_after_commit)]
fn can_fail(tx: &TransactionInfo) -> Result<(), std::io::Error> {
    let _ = tx;
    Ok(())
}

// It takes the transaction, not a model.
#[model_core::listens_for(transaction_after_commit)]
fn takes_a_post(post: &Post) {
    let _ = post;
}

// On the struct, a transaction event is not a model's.
#[derive(Model)]
#[listens_for(transaction_after_commit, notify)]
struct Post {
    id: Option<i64>,
}

fn notify(_: &Post) {}

fn main() {}
