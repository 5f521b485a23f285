//! Which Rust types can be stored in a column.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

use crate::backend::{Dialect, Query};
use sqlx::{Decode, Encode, MySql, Postgres, Sqlite, Type};

/// A Rust type that every backend can store in one column and read back.
///
/// Implemented for `i16`, `i32`, `i64`, `f32`, `f64`, `bool`, `String`, `Vec<u8>`,
/// chrono's `DateTime<Utc>`, `NaiveDateTime` and `NaiveDate`, and `Option<T>` of any of them
/// (`None` is SQL `NULL`).
///
/// A type of your own (say an enum with `#[derive(sqlx::Type)]`) can opt in with an empty
/// `impl ColumnType for MyType {}` once it implements sqlx's `Encode`, `Decode` and `Type` for
/// all three databases. A field that should not be a column at all takes `#[model(skip)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a column",
    label = "this field's type is not a column type",
    note = "column types are i16, i32, i64, f32, f64, bool, String, Vec<u8>, chrono's DateTime<Utc>, NaiveDateTime and NaiveDate, and Option<T> of those",
    note = "mark the field `#[model(skip)]` to keep it out of the table, or implement `model_core::ColumnType` for your type"
)]
pub trait ColumnType:
    Send
    + Sync
    + 'static
    + for<'q> Encode<'q, Sqlite>
    + for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'q> Encode<'q, Postgres>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + for<'q> Encode<'q, MySql>
    + for<'r> Decode<'r, MySql>
    + Type<MySql>
{
    /// Converts MySQL's last-insert-id into this type, for the key of an `Option<_>` primary
    /// key. `None` for types that cannot be generated keys.
    #[doc(hidden)]
    fn __from_insert_id(id: u64) -> Option<Self> {
        let _ = id;
        None
    }

    /// This generated key as a number, to put the keys of a multi-row insert in the order
    /// the database generated them. `None` for types that cannot be generated keys.
    #[doc(hidden)]
    fn __generated_id(&self) -> Option<i64> {
        None
    }

    /// Whether SQL `NULL` is a value of this type (`Option<T>`). Reading `NULL` into any
    /// other type is an error: sqlx's SQLite driver would otherwise decode it as `0`, `0.0`
    /// or `""`.
    #[doc(hidden)]
    const __NULLABLE: bool = false;

    /// Makes the value what `dialect` will store, where the two differ only in precision or
    /// sign of zero (so that the model, after a write, equals a fresh read of its row), or
    /// says why `dialect` cannot store it at all.
    #[doc(hidden)]
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        let _ = dialect;
        Ok(())
    }

    /// Binds this value to a MySQL statement.
    #[doc(hidden)]
    fn __bind_mysql<'q>(&self, query: Query<'q, MySql>) -> Query<'q, MySql> {
        query.bind(self)
    }
}

macro_rules! column_types {
    ($($ty:ty),* $(,)?) => { $(impl ColumnType for $ty {})* };
}

column_types!(bool, Vec<u8>);

impl ColumnType for String {
    /// PostgreSQL text cannot hold the NUL character; it fails on the server with `22021`.
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        if dialect == Dialect::Postgres && self.contains('\0') {
            Err("PostgreSQL text cannot hold the NUL character (\\0)")
        } else {
            Ok(())
        }
    }
}

/// SQLite has no NaN: it stores `NULL` instead. MySQL has neither NaN nor infinities: it
/// refuses them in strict mode and stores something else without it.
fn check_float(nan: bool, infinite: bool, dialect: Dialect) -> Result<(), &'static str> {
    match dialect {
        Dialect::Sqlite if nan => Err("SQLite cannot store NaN (it would store NULL)"),
        Dialect::MySql if nan || infinite => Err("MySQL cannot store NaN or infinity"),
        _ => Ok(()),
    }
}

/// MySQL's `DATE` and `DATETIME` end at year 9999, and MariaDB stores a later date as `NULL`
/// without an error, even in strict mode. Years before 1 are refused alike.
fn check_year(year: i32, dialect: Dialect) -> Result<(), &'static str> {
    if dialect == Dialect::MySql && !(1..=9999).contains(&year) {
        Err("MySQL stores years 1 to 9999 (MariaDB would store NULL)")
    } else {
        Ok(())
    }
}

/// `-0.0` is stored as `0.0` by SQLite and MySQL: the model is given what they store.
fn normalise_zero<F: PartialEq + Default>(value: &mut F, dialect: Dialect) {
    if dialect != Dialect::Postgres && *value == F::default() {
        *value = F::default();
    }
}

/// PostgreSQL and MySQL (`DATETIME(6)`) keep microseconds, `Utc::now()` has nanoseconds:
/// the model is given the microseconds that are stored (truncated, as the drivers do).
fn truncate_to_micros(nanos: u32, dialect: Dialect) -> Option<u32> {
    let extra = nanos % 1_000;
    (dialect != Dialect::Sqlite && extra != 0).then_some(nanos - extra)
}

impl ColumnType for f32 {
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_float(self.is_nan(), self.is_infinite(), dialect)?;
        normalise_zero(self, dialect);
        Ok(())
    }
}

impl ColumnType for f64 {
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_float(self.is_nan(), self.is_infinite(), dialect)?;
        normalise_zero(self, dialect);
        Ok(())
    }
}

impl ColumnType for NaiveDate {
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_year(self.year(), dialect)
    }
}

impl ColumnType for NaiveDateTime {
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_year(self.year(), dialect)?;
        if let Some(nanos) = truncate_to_micros(self.nanosecond(), dialect) {
            *self = self.with_nanosecond(nanos).unwrap_or(*self);
        }
        Ok(())
    }
}

impl ColumnType for DateTime<Utc> {
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_year(self.year(), dialect)?;
        if let Some(nanos) = truncate_to_micros(self.nanosecond(), dialect) {
            *self = self.with_nanosecond(nanos).unwrap_or(*self);
        }
        Ok(())
    }

    /// Sent as a `DATETIME` holding the UTC time. sqlx sends `DateTime<Utc>` as a
    /// `TIMESTAMP`, whose range ends at 2038-01-19 03:14:07 UTC: MariaDB stores a later one
    /// in a `DATETIME` column as `NULL`, silently, even in strict mode. sqlx sets every
    /// MySQL session's time zone to UTC, so a `TIMESTAMP` column reads the same instant.
    fn __bind_mysql<'q>(&self, query: Query<'q, MySql>) -> Query<'q, MySql> {
        query.bind(self.naive_utc())
    }
}

impl<T: ColumnType> ColumnType for Option<T> {
    const __NULLABLE: bool = true;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        match self {
            Some(value) => value.__prepare(dialect),
            None => Ok(()),
        }
    }

    fn __bind_mysql<'q>(&self, query: Query<'q, MySql>) -> Query<'q, MySql> {
        match self {
            Some(value) => value.__bind_mysql(query),
            None => query.bind(None::<T>),
        }
    }
}

/// An integer type the database can generate as a primary key (`AUTOINCREMENT`,
/// `GENERATED ... AS IDENTITY`, `AUTO_INCREMENT`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a generated primary key",
    label = "an `Option<_>` primary key is filled in by the database, so it must be `Option<i16>`, `Option<i32>` or `Option<i64>`",
    note = "for a key you always set yourself, drop the `Option`: `#[model(primary_key)] code: String`"
)]
pub trait GeneratedKey: ColumnType {}

macro_rules! generated_keys {
    ($($ty:ty),*) => {$(
        impl ColumnType for $ty {
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

generated_keys!(i16, i32, i64);
