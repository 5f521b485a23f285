//! Items only `#[derive(Model)]`'s expansion may use. Not part of the public API: they may
//! change in any release.

pub use sqlx;

pub use crate::base::column::{
    check_length, decode_checked, ColumnType, GeneratedKey, MaxLength, Stored,
};
pub use crate::base::def::{ColumnDef, ForeignKey, HoldsKeyOf, OnDelete, SqlType};
pub use crate::base::error::Error;
pub use crate::base::statements::{StatementCache, Statements};
pub use crate::base::table::{ReadBack, Table};
pub use crate::base::types::derived::{unknown_number, unknown_text};
pub use crate::db::backend::{Backend, Dialect, Query};
pub use crate::db::commit::Callback;
pub use crate::db::conn::Conn;
pub use crate::db::key::PrimaryKey;
pub use crate::db::session::Session;
// Issue 27: function-side listeners of transactions.
pub use crate::db::transaction_events::{
    CheckTransaction, IntoVeto, ObserveTransaction, TransactionFn, TransactionRegistration,
    TRANSACTION_LISTENERS,
};
pub use crate::listen::listener::{
    CommitListener, Event, Failure, ListenerInfo, MutListener, RefListener,
};
pub use crate::listen::private::*;
pub use crate::listen::record::Record;
pub use crate::model::Model;
pub use crate::query::{from_row, BindValue, Column, ColumnMap, Filter};
pub use crate::relations::BelongsTo;
pub use crate::schema::references;
// Issue 14: change sets and optimistic locking.
pub use crate::write::batch::delete_versioned;
// Issue 25: cascades that run every listener.
pub use crate::write::cascade::{Cascade, CASCADES};
pub use crate::write::changes::{
    call_after_update, call_before_update, changed, ChangeSet, Changed, TrackChanges,
};
pub use crate::write::children::{cascade, cascade_set_null};
pub use crate::write::tracked::update_bare_all;
pub use crate::write::version::Version;

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
/// [`crate::listen::private::Probe`] does for column values.
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
