//! Values of any column type, held type-erased in filters and assignments, and bound to a
//! statement of whichever backend runs it.

use std::any::TypeId;
use std::mem::ManuallyDrop;

use sqlx::{MySql, Postgres, Sqlite};

use crate::base::column::ColumnType;
use crate::db::backend::{Backend, Dialect, Query};

/// A value of some [`ColumnType`], to bind to a statement of any backend, as
/// [`Backend::bind`] binds a model's fields.
///
/// One method per backend, because the backend is only known when the statement runs, long
/// after the filter was built: [`bind_all`] picks the method of the backend at hand.
/// Public (hidden) only because [`crate::db::key::PrimaryKey`] hands out its key's values.
#[doc(hidden)]
pub trait Value: Send + Sync {
    fn bind_sqlite<'q>(&self, query: Query<'q, Sqlite>) -> Query<'q, Sqlite>;
    fn bind_postgres<'q>(&self, query: Query<'q, Postgres>) -> Query<'q, Postgres>;
    fn bind_mysql<'q>(&self, query: Query<'q, MySql>) -> Query<'q, MySql>;
    /// [`ColumnType::__prepare`]: refuses what `dialect` would compare or store as
    /// something else (NaN on SQLite is `NULL`, for instance).
    fn prepare(&mut self, dialect: Dialect) -> Result<(), &'static str>;
    /// [`ColumnType::__text`]: the text, for a column's `#[model(length = n)]`.
    fn text(&self) -> Option<&str>;
    fn clone_box(&self) -> Box<dyn Value>;
}

impl<T: ColumnType + Clone> Value for T {
    fn bind_sqlite<'q>(&self, query: Query<'q, Sqlite>) -> Query<'q, Sqlite> {
        Sqlite::bind(query, self)
    }

    fn bind_postgres<'q>(&self, query: Query<'q, Postgres>) -> Query<'q, Postgres> {
        Postgres::bind(query, self)
    }

    fn bind_mysql<'q>(&self, query: Query<'q, MySql>) -> Query<'q, MySql> {
        MySql::bind(query, self)
    }

    fn prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        self.__prepare(dialect)
    }

    fn text(&self) -> Option<&str> {
        self.__text()
    }

    fn clone_box(&self) -> Box<dyn Value> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn Value> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Binds `values` in order to a query of backend `DB`.
pub(crate) fn bind_all<'q, DB: Backend>(
    query: Query<'q, DB>,
    values: &[&dyn Value],
) -> Query<'q, DB> {
    match DB::DIALECT {
        Dialect::Sqlite => as_backend::<DB, Sqlite>(query, |mut query| {
            for value in values {
                query = value.bind_sqlite(query);
            }
            query
        }),
        Dialect::Postgres => as_backend::<DB, Postgres>(query, |mut query| {
            for value in values {
                query = value.bind_postgres(query);
            }
            query
        }),
        Dialect::MySql => as_backend::<DB, MySql>(query, |mut query| {
            for value in values {
                query = value.bind_mysql(query);
            }
            query
        }),
    }
}

/// Runs `f` on `query` seen as a query of `B`, which must be `DB` itself: the concrete
/// backend that `DB::DIALECT` names. `Backend` is sealed and cannot grow a method for this
/// (the value's per-backend methods are only reachable from the concrete type), and `Query`
/// is not `'static`, so `Any` cannot do the conversion.
fn as_backend<'q, DB: Backend, B: Backend>(
    query: Query<'q, DB>,
    f: impl FnOnce(Query<'q, B>) -> Query<'q, B>,
) -> Query<'q, DB> {
    assert!(
        TypeId::of::<DB>() == TypeId::of::<B>(),
        "Backend::DIALECT names the backend itself"
    );
    // SAFETY: `DB` and `B` are the same type (checked above), so `Query<'q, DB>` and
    // `Query<'q, B>` are one type with the same lifetime; the source is not dropped.
    let query = unsafe { same_type::<Query<'q, DB>, Query<'q, B>>(query) };
    let query = f(query);
    // SAFETY: as above, the other way round.
    unsafe { same_type::<Query<'q, B>, Query<'q, DB>>(query) }
}

/// # Safety
/// `A` and `B` must be the same type.
unsafe fn same_type<A, B>(value: A) -> B {
    let value = ManuallyDrop::new(value);
    // SAFETY: the caller guarantees `A` is `B`; `value` is never dropped, so the bits are
    // moved, not copied.
    unsafe { std::mem::transmute_copy::<A, B>(&*value) }
}
