//! Items only `#[derive(Model)]`'s expansion may use. Not part of the public API: they may
//! change in any release.

pub use sqlx;

pub use crate::backend::{Backend, Dialect, Query};
pub use crate::column::{decode_checked, ColumnType, GeneratedKey, Stored};
pub use crate::commit::Callback;
pub use crate::conn::Conn;
pub use crate::error::Error;
pub use crate::events::private::*;
pub use crate::listener::{CommitListener, Event, Failure, ListenerInfo, MutListener, RefListener};
pub use crate::model::Model;
pub use crate::query::{from_row, Column, ColumnMap};
pub use crate::session::Session;
pub use crate::statements::{StatementCache, Statements};
pub use crate::types::derived::{unknown_number, unknown_text};
// Issue 14: change sets and optimistic locking.
pub use crate::changes::{
    call_after_update, call_before_update, changed, ChangeSet, Changed, TrackChanges,
};
pub use crate::update::update_bare;
pub use crate::version::{delete_all as delete_versioned, Version};

/// Calls one listener of an event that hands out `&mut M`, naming it in the error.
#[inline]
pub async fn call_mut<M, DB, Marker, L>(
    listener: &L,
    model: &mut M,
    session: &mut Session<'_, DB>,
    event: Event,
    name: &'static str,
) -> Result<(), Error>
where
    M: Model,
    DB: Backend,
    L: MutListener<M, DB, Marker>,
{
    listener
        .call(model, session)
        .await
        .map_err(|failure| failure.into_error::<M>(event, name))
}

/// Calls one listener of an event that hands out `&M`, naming it in the error.
#[inline]
pub async fn call_ref<M, DB, Marker, L>(
    listener: &L,
    model: &M,
    session: &mut Session<'_, DB>,
    event: Event,
    name: &'static str,
) -> Result<(), Error>
where
    M: Model,
    DB: Backend,
    L: RefListener<M, DB, Marker>,
{
    listener
        .call(model, session)
        .await
        .map_err(|failure| failure.into_error::<M>(event, name))
}

impl Failure {
    pub(crate) fn into_error<M: Model>(self, event: Event, listener: &'static str) -> Error {
        match self {
            Failure::Listener(source) => Error::Listener {
                model: M::NAME,
                event,
                listener,
                source,
            },
            Failure::Begin(source) => Error::from_sqlx(M::NAME, source),
        }
    }
}

/// The model, cloned once for all its after-commit listeners: they run after the write
/// returned the borrow.
#[inline]
pub fn share<M: Clone>(model: &M) -> std::sync::Arc<M> {
    std::sync::Arc::new(model.clone())
}

/// One after-commit listener call on `model`, to queue.
#[inline]
pub fn commit_callback<M, Marker, L>(listener: L, model: std::sync::Arc<M>) -> Callback
where
    M: Send + Sync + 'static,
    L: CommitListener<M, Marker>,
{
    Box::new(move || Box::pin(async move { listener.call(&model).await }))
}
