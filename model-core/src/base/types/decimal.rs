//! `rust_decimal::Decimal` (feature `rust_decimal`): PostgreSQL's `NUMERIC` and MySQL's
//! `DECIMAL` through sqlx. SQLite has no decimal type and sqlx no `Decimal` for it: the
//! exact text (`"12.50"`, scale kept) is stored, in a `TEXT` column.
//!
//! A `NUMERIC` or `DECIMAL` column on SQLite has numeric affinity and turns that text into
//! an integer or a binary float: an integer reads back exactly, a float (`REAL`) is refused
//! when read, because it has already lost digits.
//!
//! The schema's `DECIMAL` on MySQL is `DECIMAL(65, 28)` unless the field declares its size,
//! as wide as a `Decimal` and so with 28 decimals: `12.50` reads back as
//! `12.5000000000000000000000000000` (an equal `Decimal`, printed differently). Declaring
//! `#[model(precision = 12, scale = 2)]` makes it `DECIMAL(12, 2)` (PostgreSQL `NUMERIC(12,
//! 2)`), read back as `12.50`. PostgreSQL's plain `NUMERIC` keeps each value's own scale;
//! SQLite's text keeps the value as written, declared scale or not.

use rust_decimal::Decimal;
use sqlx::error::BoxDynError;
use sqlx::sqlite::SqliteValueRef;
use sqlx::{Decode, MySql, Postgres, Sqlite, TypeInfo as _, ValueRef as _};

use crate::base::column::{stored_via_sqlx, ColumnType, Stored};
use crate::base::def::SqlType;
use crate::base::dialect::{Dialect, Query};

stored_via_sqlx!(Decimal: Postgres, MySql);

impl ColumnType for Decimal {
    const __SQL_TYPE: SqlType = SqlType::Decimal;

    /// `-0` is stored as `0` by PostgreSQL and MySQL: every backend is given `0`.
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        let _ = dialect;
        if self.is_zero() {
            self.set_sign_positive(true);
        }
        Ok(())
    }
}

impl Stored<Sqlite> for Decimal {
    fn bind<'q>(&self, query: Query<'q, Sqlite>) -> Query<'q, Sqlite> {
        query.bind(self.to_string())
    }
    fn bind_null(query: Query<'_, Sqlite>) -> Query<'_, Sqlite> {
        query.bind(None::<String>)
    }
    fn decode(value: SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        match value.type_info().name() {
            "TEXT" => {
                let text = <&str as Decode<Sqlite>>::decode(value)?;
                Decimal::from_str_exact(text)
                    .map_err(|e| format!("not a decimal ({e}): {text:?}").into())
            }
            "INTEGER" => Ok(Decimal::from(<i64 as Decode<Sqlite>>::decode(value)?)),
            "REAL" => Err(
                "a REAL is a binary float that has already lost digits; store a \
                 Decimal in a TEXT column on SQLite (a NUMERIC or DECIMAL column converts it)"
                    .into(),
            ),
            other => Err(format!("a Decimal is read from TEXT or INTEGER, not {other}").into()),
        }
    }
}
