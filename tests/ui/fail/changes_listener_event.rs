use model_core::{Conn, Model};

#[derive(Clone, Model)]
#[model(track_changes)]
#[listens_for(before_insert, stamp)]
#[listens_for(after_delete, forget)]
#[listens_for(after_update_commit, announce)]
#[listens_for(after_update, edit)]
struct Post {
    id: Option<i64>,
    title: String,
}

/// Only before_update and after_update listeners get a change set.
fn stamp(_post: &mut Post, _changes: &PostChanges) {}

async fn forget<DB: model_core::Backend>(
    _post: &Post,
    _changes: &PostChanges,
    _conn: &mut Conn<DB>,
) -> Result<(), model_core::Error> {
    Ok(())
}

fn announce(_post: &Post, _changes: &PostChanges) {}

/// after_update gets the model as `&Post`.
fn edit(_post: &mut Post, _changes: &PostChanges) {}

/// A model without `track_changes` has no change set to give.
#[derive(Model)]
#[listens_for(before_update, plain_listener)]
struct Plain {
    id: Option<i64>,
}

fn plain_listener(_plain: &mut Plain, _changes: &PostChanges) {}

fn main() {}
