//! chrono's dates and times.

use ::chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use sqlx::error::BoxDynError;
use sqlx::{MySql, Postgres, Sqlite};

use crate::base::column::{decode_checked, stored_via_sqlx, ColumnType, Stored};
use crate::base::def::SqlType;
use crate::base::dialect::{Dialect, Query};

stored_via_sqlx!(NaiveDate: Sqlite, Postgres, MySql);
stored_via_sqlx!(NaiveDateTime: Sqlite, Postgres, MySql);

/// MySQL's `DATE` and `DATETIME` end at year 9999, and MariaDB stores a later date as `NULL`
/// without an error, even in strict mode. Years before 1 are refused alike.
fn check_year(year: i32, dialect: Dialect) -> Result<(), &'static str> {
    if dialect == Dialect::MySql && !(1..=9999).contains(&year) {
        Err("this database stores years 1 to 9999")
    } else {
        Ok(())
    }
}

/// PostgreSQL and MySQL (`DATETIME(6)`) keep microseconds, `Utc::now()` has nanoseconds:
/// the model is given the microseconds that are stored (truncated, as the drivers do).
fn truncate_to_micros(nanos: u32, dialect: Dialect) -> Option<u32> {
    let extra = nanos % 1_000;
    (dialect != Dialect::Sqlite && extra != 0).then_some(nanos - extra)
}

impl ColumnType for NaiveDate {
    const __SQL_TYPE: SqlType = SqlType::Date;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_year(self.year(), dialect)
    }
}

impl ColumnType for NaiveDateTime {
    const __SQL_TYPE: SqlType = SqlType::Timestamp;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_year(self.year(), dialect)?;
        if let Some(nanos) = truncate_to_micros(self.nanosecond(), dialect) {
            *self = self.with_nanosecond(nanos).unwrap_or(*self);
        }
        Ok(())
    }
}

impl ColumnType for DateTime<Utc> {
    const __SQL_TYPE: SqlType = SqlType::TimestampTz;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_year(self.year(), dialect)?;
        if let Some(nanos) = truncate_to_micros(self.nanosecond(), dialect) {
            *self = self.with_nanosecond(nanos).unwrap_or(*self);
        }
        Ok(())
    }
}

stored_via_sqlx!(DateTime<Utc>: Sqlite, Postgres);

/// Sent as a `DATETIME` holding the UTC time. sqlx sends `DateTime<Utc>` as a `TIMESTAMP`,
/// whose range ends at 2038-01-19 03:14:07 UTC: MariaDB stores a later one in a `DATETIME`
/// column as `NULL`, silently, even in strict mode. sqlx sets every MySQL session's time
/// zone to UTC, so a `TIMESTAMP` column reads the same instant.
impl Stored<MySql> for DateTime<Utc> {
    fn bind<'q>(&self, query: Query<'q, MySql>) -> Query<'q, MySql> {
        query.bind(self.naive_utc())
    }

    fn bind_null(query: Query<'_, MySql>) -> Query<'_, MySql> {
        query.bind(None::<NaiveDateTime>)
    }

    fn decode(value: sqlx::mysql::MySqlValueRef<'_>) -> Result<Self, BoxDynError> {
        decode_checked::<MySql, Self>(value)
    }
}
