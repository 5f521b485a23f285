//! Booleans, signed integers, floats, text and bytes: sqlx stores them alike everywhere.

use sqlx::{MySql, Postgres, Sqlite};

use crate::base::column::{stored_via_sqlx, ColumnType, GeneratedKey};
use crate::base::def::SqlType;
use crate::base::dialect::Dialect;

stored_via_sqlx!(bool: Sqlite, Postgres, MySql);
stored_via_sqlx!(i16: Sqlite, Postgres, MySql);
stored_via_sqlx!(i32: Sqlite, Postgres, MySql);
stored_via_sqlx!(i64: Sqlite, Postgres, MySql);
stored_via_sqlx!(f32: Sqlite, Postgres, MySql);
stored_via_sqlx!(f64: Sqlite, Postgres, MySql);
stored_via_sqlx!(String: Sqlite, Postgres, MySql);
stored_via_sqlx!(Vec<u8>: Sqlite, Postgres, MySql);

impl ColumnType for bool {
    const __SQL_TYPE: SqlType = SqlType::Bool;
}

impl ColumnType for Vec<u8> {
    const __SQL_TYPE: SqlType = SqlType::Bytes;
}

impl ColumnType for String {
    const __SQL_TYPE: SqlType = SqlType::Text;

    fn __text(&self) -> Option<&str> {
        Some(self)
    }

    /// PostgreSQL text cannot hold the NUL character; it fails on the server with `22021`.
    /// The reason names no database: it reaches the users of an app (an HTTP error body),
    /// who need not know which one serves it.
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        if dialect == Dialect::Postgres && self.contains('\0') {
            Err("text cannot hold the NUL character (\\0) in this database")
        } else {
            Ok(())
        }
    }
}

/// SQLite has no NaN: it stores `NULL` instead. MySQL has neither NaN nor infinities: it
/// refuses them in strict mode and stores something else without it. Like the NUL
/// character's, the reasons name no database.
fn check_float(nan: bool, infinite: bool, dialect: Dialect) -> Result<(), &'static str> {
    match dialect {
        Dialect::Sqlite if nan => Err("this database cannot store NaN (it would store NULL)"),
        Dialect::MySql if nan || infinite => Err("this database cannot store NaN or infinity"),
        _ => Ok(()),
    }
}

/// `-0.0` is stored as `0.0` by SQLite and MySQL: the model is given what they store.
fn normalise_zero<F: PartialEq + Default>(value: &mut F, dialect: Dialect) {
    if dialect != Dialect::Postgres && *value == F::default() {
        *value = F::default();
    }
}

impl ColumnType for f32 {
    const __SQL_TYPE: SqlType = SqlType::Float;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_float(self.is_nan(), self.is_infinite(), dialect)?;
        normalise_zero(self, dialect);
        Ok(())
    }
}

impl ColumnType for f64 {
    const __SQL_TYPE: SqlType = SqlType::Double;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_float(self.is_nan(), self.is_infinite(), dialect)?;
        normalise_zero(self, dialect);
        Ok(())
    }
}

macro_rules! generated_keys {
    ($($ty:ty: $sql:ident),*) => {$(
        impl ColumnType for $ty {
            const __SQL_TYPE: SqlType = SqlType::$sql;
            fn __from_insert_id(id: u64) -> Option<Self> {
                <$ty>::try_from(id).ok()
            }
            fn __generated_id(&self) -> Option<i64> {
                Some(i64::from(*self))
            }
        }
        impl GeneratedKey for $ty {}
    )*};
}

generated_keys!(i16: SmallInt, i32: Int, i64: BigInt);
