//! Items only `#[derive(Model)]`'s expansion may use. Not part of the public API: they may
//! change in any release.

pub use sqlx;

pub use crate::base::column::{
    check_length, decode_checked, ColumnType, GeneratedKey, MaxLength, Stored,
};
pub use crate::base::def::{ColumnDef, ForeignKey, HoldsKeyOf, OnDelete, SqlType};
pub use crate::base::error::{BoxError, Error};
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
pub use crate::query::{from_row, shim_query, BindValue, Column, ColumnMap, Filter, QueryOf};
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

/// A column's value as the derive's `__prepare` hands it to [`prepare_columns`]: one vtable
/// per column type, shared by every model that has a column of it.
pub trait PrepareValue {
    /// [`ColumnType::__prepare`].
    fn prepare(&mut self, dialect: Dialect) -> Result<(), &'static str>;
    /// [`ColumnType::__text`].
    fn text(&self) -> Option<&str>;
}

impl<T: ColumnType> PrepareValue for T {
    #[inline]
    fn prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        self.__prepare(dialect)
    }

    #[inline]
    fn text(&self) -> Option<&str> {
        self.__text()
    }
}

/// The derive's `__prepare`: each written column's value in `values`, with its name and
/// `#[model(length = n)]` at the same place in `columns`, in `Model::COLUMNS` order, given
/// the value `dialect` will store; the first that `dialect` cannot store, or that is too
/// long, and why.
///
/// Why a loop over `dyn` values and not a check per field written out by the derive: that
/// was a few hundred lines of code per model to compile (issue 28), this is one.
pub fn prepare_columns(
    columns: &[(&'static str, Option<u32>)],
    values: &mut [&mut dyn PrepareValue],
    dialect: Dialect,
) -> Result<(), (&'static str, &'static str)> {
    for (&(column, length), value) in columns.iter().zip(values) {
        value.prepare(dialect).map_err(|reason| (column, reason))?;
        if let Some(max) = length {
            crate::base::column::check_text(value.text(), max)
                .map_err(|reason| (column, reason))?;
        }
    }
    Ok(())
}

/// A column's value as the derive's `__from_row_at` hands it to [`decode_columns`]: an
/// `Option` it fills, with one vtable per column type and backend, shared by every model.
pub trait DecodeSlot<DB: Backend> {
    /// Decodes column `index` of `row` into the slot.
    fn decode(&mut self, row: &DB::Row, index: usize) -> Result<(), sqlx::Error>;
}

impl<T: ColumnType, DB: Backend> DecodeSlot<DB> for Option<T> {
    #[inline]
    fn decode(&mut self, row: &DB::Row, index: usize) -> Result<(), sqlx::Error> {
        *self = Some(DB::get::<T>(row, index)?);
        Ok(())
    }
}

/// The derive's `__from_row_at`: each column, in `Model::COLUMNS` order, decoded into its
/// slot from where `columns` says it is in `row`. Every slot is filled when this is `Ok`.
///
/// Why a loop over `dyn` slots and not a `row.get` per field written out by the derive:
/// each `?` there drops the fields decoded before it, some 320 lines of code per model of
/// eight columns to compile (issue 28); this is compiled once per backend.
pub fn decode_columns<DB: Backend>(
    row: &DB::Row,
    columns: ColumnMap<'_>,
    slots: &mut [&mut dyn DecodeSlot<DB>],
) -> Result<(), sqlx::Error> {
    for (column, slot) in slots.iter_mut().enumerate() {
        slot.decode(row, columns.at(column))?;
    }
    Ok(())
}

/// The value of a slot [`decode_columns`] filled.
#[inline]
pub fn decoded<T>(slot: Option<T>) -> T {
    match slot {
        Some(value) => value,
        None => unfilled(),
    }
}

/// Not generic, so that [`decoded`] stays a few lines per column type.
#[cold]
fn unfilled() -> ! {
    unreachable!("`decode_columns` fills every slot or fails")
}
