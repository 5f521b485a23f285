//! Items only `#[derive(Model)]`'s expansion may use. Not part of the public API: they may
//! change in any release.

pub use sqlx;

pub use crate::backend::{Backend, Dialect, Query};
pub use crate::column::{
    check_length, decode_checked, ColumnType, GeneratedKey, MaxLength, Stored,
};
pub use crate::commit::Callback;
pub use crate::conn::Conn;
pub use crate::error::Error;
pub use crate::events::private::*;
pub use crate::key::PrimaryKey;
pub use crate::listener::{CommitListener, Event, Failure, ListenerInfo, MutListener, RefListener};
pub use crate::model::Model;
pub use crate::record::Record;
pub use crate::query::{from_row, BindValue, Column, ColumnMap};
pub use crate::schema::def::{references, ColumnDef, ForeignKey, HoldsKeyOf, OnDelete, SqlType};
pub use crate::session::Session;
pub use crate::statements::{StatementCache, Statements};
pub use crate::types::derived::{unknown_number, unknown_text};
// Issue 14: change sets and optimistic locking.
pub use crate::changes::{
    call_after_update, call_before_update, changed, ChangeSet, Changed, TrackChanges,
};
pub use crate::update::update_bare_all;
pub use crate::version::{delete_all as delete_versioned, Version};

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

/// The model, for the derive's `__share`: `(&ShareProbe(self)).__share()` is a clone where
/// the model is `Clone` ([`ShareViaClone`], tried first by method lookup) and `None` where
/// it is not ([`ShareFallback`]): autoref specialisation of a concrete type, as
/// [`crate::events::private::Probe`] does for column values.
pub struct ShareProbe<'a, M>(pub &'a M);

/// [`ShareProbe`] of a `Clone` model.
pub trait ShareViaClone<M> {
    /// A clone of the model.
    fn __share(&self) -> Option<std::sync::Arc<M>>;
}

impl<M: Clone> ShareViaClone<M> for ShareProbe<'_, M> {
    #[inline]
    fn __share(&self) -> Option<std::sync::Arc<M>> {
        Some(std::sync::Arc::new(self.0.clone()))
    }
}

/// [`ShareProbe`] of any model.
pub trait ShareFallback<M> {
    /// `None`: the model is not `Clone`.
    fn __share(&self) -> Option<std::sync::Arc<M>>;
}

impl<M> ShareFallback<M> for &ShareProbe<'_, M> {
    #[inline]
    fn __share(&self) -> Option<std::sync::Arc<M>> {
        None
    }
}

/// Requires `M: Clone` where a function-side `before_commit` listener of `M` is declared:
/// its listeners get a clone of the row at the commit.
#[inline]
pub fn before_commit_needs_clone<M: Clone>() {}
