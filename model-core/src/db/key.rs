//! A model's primary key as one value: the key column's value, or for a composite key
//! (`#[model(primary_key)]` on several fields) a tuple of its columns' values, in field
//! order. [`Model::Key`](crate::Model::Key) is one of these; `find` and `get` take it.

use std::fmt::Debug;

use crate::base::column::ColumnType;
use crate::db::backend::{Backend, Query};
use crate::db::value::Value;

/// The value of a model's primary key: a [`ColumnType`] for a key of one column, a tuple of
/// two to four column types for a composite key (`(i64, String)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a primary key",
    note = "a primary key is one column type, or a tuple of two to four column types for a composite key"
)]
pub trait PrimaryKey: Clone + PartialEq + Debug + Send + Sync + 'static {
    /// How many columns the key has.
    #[doc(hidden)]
    const __COLUMNS: usize;

    /// The type of a key the database generates: the key itself for a key of one column.
    /// A composite key is never generated (the derive refuses an `Option` part), and has
    /// `i64` here, unused.
    #[doc(hidden)]
    type __Generated: ColumnType;

    /// The key from a generated value; `None` for a composite key.
    #[doc(hidden)]
    fn __from_generated(generated: Self::__Generated) -> Option<Self>;

    /// Binds the key's columns, in key order.
    #[doc(hidden)]
    fn __bind<'q, DB: Backend>(&self, query: Query<'q, DB>) -> Query<'q, DB>;

    /// Reads the key from the row's columns at `columns`, in key order.
    #[doc(hidden)]
    fn __get<DB: Backend>(row: &DB::Row, columns: &[usize]) -> Result<Self, sqlx::Error>;

    /// Pushes the key's columns as values to bind later, in key order.
    #[doc(hidden)]
    fn __values<'a>(&'a self, values: &mut Vec<&'a dyn Value>);
}

impl<T: ColumnType + Clone + PartialEq + Debug> PrimaryKey for T {
    const __COLUMNS: usize = 1;
    type __Generated = T;

    #[inline]
    fn __from_generated(generated: T) -> Option<Self> {
        Some(generated)
    }

    #[inline]
    fn __bind<'q, DB: Backend>(&self, query: Query<'q, DB>) -> Query<'q, DB> {
        DB::bind(query, self)
    }

    #[inline]
    fn __get<DB: Backend>(row: &DB::Row, columns: &[usize]) -> Result<Self, sqlx::Error> {
        DB::get::<T>(row, columns[0])
    }

    fn __values<'a>(&'a self, values: &mut Vec<&'a dyn Value>) {
        values.push(self);
    }
}

/// The impl for a tuple of column types: `(A, 0), (B, 1)` names each type and its field.
macro_rules! composite_keys {
    ($(($($part:ident $index:tt),+): $n:literal;)+) => {$(
        impl<$($part: ColumnType + Clone + PartialEq + Debug),+> PrimaryKey for ($($part,)+) {
            const __COLUMNS: usize = $n;
            type __Generated = i64;

            fn __from_generated(_: i64) -> Option<Self> {
                None
            }

            #[inline]
            fn __bind<'q, DB: Backend>(&self, query: Query<'q, DB>) -> Query<'q, DB> {
                $(let query = DB::bind(query, &self.$index);)+
                query
            }

            fn __get<DB: Backend>(row: &DB::Row, columns: &[usize]) -> Result<Self, sqlx::Error> {
                Ok(($(DB::get::<$part>(row, columns[$index])?,)+))
            }

            fn __values<'a>(&'a self, values: &mut Vec<&'a dyn Value>) {
                $(values.push(&self.$index);)+
            }
        }
    )+};
}

composite_keys! {
    (A 0, B 1): 2;
    (A 0, B 1, C 2): 3;
    (A 0, B 1, C 2, D 3): 4;
}

/// Reads a key from the leading columns of `row` (a `SELECT` of the key's columns).
pub(crate) fn read_key<K: PrimaryKey, DB: Backend>(row: &DB::Row) -> Result<K, sqlx::Error> {
    const LEADING: [usize; 4] = [0, 1, 2, 3];
    K::__get::<DB>(row, &LEADING[..K::__COLUMNS])
}
