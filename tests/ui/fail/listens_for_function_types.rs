//! `#[model_core::listens_for]` on a function whose type does not fit: reported at the
//! function's name (or the model's type) by the listener traits.

use model_core::{AnyModel, Backend, Conn, Model};

#[derive(Debug, Model)]
struct Post {
    id: Option<i64>,
}

struct Comment;

/// The model named is not the one the function takes.
#[model_core::listens_for(Post, before_insert)]
fn wrong_model(_: &mut Comment) {}

/// The first argument names a type that is no model.
#[model_core::listens_for(before_insert)]
fn not_a_model(_: &mut String) {}

/// Returns something a listener cannot.
#[model_core::listens_for(after_insert)]
fn returns_a_number(_: &Post) -> i32 {
    1
}

/// Async without the connection.
#[model_core::listens_for(after_delete)]
async fn async_without_conn(_: &Post) -> Result<(), model_core::Error> {
    Ok(())
}

/// A commit listener of a model that is not `Clone`: it runs on a clone.
#[model_core::listens_for(after_insert_commit)]
fn committed(_: &Post) {}

/// A commit listener cannot take the connection: the transaction is over.
#[model_core::listens_for(after_update_commit)]
async fn committed_with_conn<DB: Backend>(_: &dyn AnyModel, _: &mut Conn<DB>) {}

fn main() {}
