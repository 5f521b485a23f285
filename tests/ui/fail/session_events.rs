use model_core::{AnyModel, Backend, Conn, Model};

// After the rollback the row is gone: a change could never be written.
#[derive(Clone, Model)]
#[listens_for(after_rollback, restamp)]
struct Post {
    id: Option<i64>,
    title: String,
}

fn restamp(post: &mut Post) {
    post.title.clear();
}

// A near miss.
#[derive(Clone, Model)]
#[listens_for(before_comit, check)]
struct Comment {
    id: Option<i64>,
}

fn check(_: &Comment) {}

// On the function: `&mut` on after_rollback, and the misspelling.
#[model_core::listens_for(after_rollback)]
fn forget(post: &mut Post) {
    post.title.clear();
}

#[model_core::listens_for(before_comit)]
fn audit(_: &dyn AnyModel) {}

// after_rollback takes no connection: the transaction is gone.
#[model_core::listens_for(after_rollback)]
async fn compensate<DB: Backend>(_: &Post, _: &mut Conn<DB>) -> Result<(), std::io::Error> {
    Ok(())
}

// before_commit listeners get a clone of the row at the commit.
#[derive(Model)]
#[listens_for(before_commit, validate)]
struct Tag {
    id: Option<i64>,
}

fn validate(_: &Tag) {}

#[derive(Model)]
struct Label {
    id: Option<i64>,
}

#[model_core::listens_for(before_commit)]
fn label_check(_: &Label) {}

fn main() {}
