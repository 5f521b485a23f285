//! The `time` crate's dates and times (feature `time`), stored as chrono's are
//! (`types/chrono.rs`): the same SQL types, the same checks, and on SQLite the same text, so
//! a column written through either crate reads and compares alike through the other.
//!
//! sqlx's own SQLite text for `time` does not sort by instant: `OffsetDateTime` is RFC 3339
//! with a `Z` and no fraction on a whole second (`...:00Z` sorts after `...:00.5Z`), and
//! `PrimitiveDateTime` always has a fraction (`12:00:00.0`, where chrono writes `12:00:00`).
//! So SQLite gets chrono's text; sqlx still reads it, and its own forms too.

use ::time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use sqlx::error::BoxDynError;
use sqlx::mysql::MySqlValueRef;
use sqlx::sqlite::SqliteValueRef;
use sqlx::{MySql, Postgres, Sqlite};

use crate::base::column::{decode_checked, stored_via_sqlx, ColumnType, Stored};
use crate::base::def::SqlType;
use crate::base::dialect::{Dialect, Query};

/// What each backend stores of a date (for a `TIMESTAMPTZ`, its date in UTC).
///
/// - MySQL: years 1 to 9999, as for chrono (MariaDB stores a later date as `NULL`).
/// - SQLite: years 0 to 9999, the years whose text (`YYYY-MM-DD`) sorts as the dates do:
///   `-0001` and (with `time`'s `large-dates`) `+10000` do not, and sqlx cannot read an
///   `OffsetDateTime` outside them back.
/// - PostgreSQL: from 24 November 4714 BC (year -4713), its first day; timestamps end in
///   294276 (only `large-dates` reaches it). Past either end PostgreSQL refuses the value
///   with an error, after the SQL is sent.
fn check_date(date: Date, timestamp: bool, dialect: Dialect) -> Result<(), &'static str> {
    let year = date.year();
    match dialect {
        Dialect::MySql if !(1..=9999).contains(&year) => {
            Err("this database stores years 1 to 9999")
        }
        Dialect::Sqlite if !(0..=9999).contains(&year) => {
            Err("this database stores dates as text, which sorts by date only for years 0 to 9999")
        }
        Dialect::Postgres if (year, u8::from(date.month()), date.day()) < (-4713, 11, 24) => {
            Err("this database's dates begin on 24 November 4714 BC")
        }
        Dialect::Postgres if timestamp && year > 294_276 => {
            Err("this database's timestamps end in the year 294276")
        }
        _ => Ok(()),
    }
}

/// PostgreSQL and MySQL (`DATETIME(6)`) keep microseconds, `OffsetDateTime::now_utc()` has
/// nanoseconds: the model is given the microseconds that are stored (truncated, as the
/// drivers do).
fn truncate_to_micros(time: Time, dialect: Dialect) -> Time {
    let extra = time.nanosecond() % 1_000;
    if dialect == Dialect::Sqlite || extra == 0 {
        return time;
    }
    time.replace_nanosecond(time.nanosecond() - extra)
        .unwrap_or(time)
}

/// chrono's SQLite text of a date and time (sqlx's for `NaiveDateTime` and `DateTime<Utc>`):
/// `YYYY-MM-DD`, `separator`, `HH:MM:SS`, a fraction of 3, 6 or 9 digits unless it is zero,
/// then `suffix`. Years 0 to 9999 only (`check_date`).
fn sqlite_text(date: Date, time: Time, separator: char, suffix: &str) -> String {
    let nanos = time.nanosecond();
    let fraction = if nanos == 0 {
        String::new()
    } else if nanos % 1_000_000 == 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    };
    format!(
        "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}{fraction}{suffix}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        time.hour(),
        time.minute(),
        time.second(),
    )
}

impl ColumnType for Date {
    const __SQL_TYPE: SqlType = SqlType::Date;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_date(*self, false, dialect)
    }
}

// sqlx's SQLite text for a `Date` is chrono's, `YYYY-MM-DD`.
stored_via_sqlx!(Date: Sqlite, Postgres, MySql);

impl ColumnType for PrimitiveDateTime {
    const __SQL_TYPE: SqlType = SqlType::Timestamp;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        check_date(self.date(), true, dialect)?;
        *self = self.replace_time(truncate_to_micros(self.time(), dialect));
        Ok(())
    }
}

stored_via_sqlx!(PrimitiveDateTime: Postgres, MySql);

/// chrono's text, `YYYY-MM-DD HH:MM:SS[.fff]`: sorts as the values do.
impl Stored<Sqlite> for PrimitiveDateTime {
    fn bind<'q>(&self, query: Query<'q, Sqlite>) -> Query<'q, Sqlite> {
        query.bind(sqlite_text(self.date(), self.time(), ' ', ""))
    }

    fn bind_null(query: Query<'_, Sqlite>) -> Query<'_, Sqlite> {
        query.bind(None::<PrimitiveDateTime>)
    }

    fn decode(value: SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        decode_checked::<Sqlite, Self>(value)
    }
}

/// Normalised to UTC, as `DateTime<Utc>` is: every backend gives back the same value (its
/// offset included), and SQLite's text sorts and compares by instant.
impl ColumnType for OffsetDateTime {
    const __SQL_TYPE: SqlType = SqlType::TimestampTz;

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        let utc = self
            .checked_to_offset(UtcOffset::UTC)
            .ok_or("its time in UTC is past the years `time` holds")?;
        check_date(utc.date(), true, dialect)?;
        *self = utc.replace_time(truncate_to_micros(utc.time(), dialect));
        Ok(())
    }
}

stored_via_sqlx!(OffsetDateTime: Postgres);

/// chrono's text, `YYYY-MM-DDTHH:MM:SS[.fff]+00:00`, in UTC: sorts and compares by instant
/// (`__prepare` has made the value UTC; a key bound without it is converted here).
impl Stored<Sqlite> for OffsetDateTime {
    fn bind<'q>(&self, query: Query<'q, Sqlite>) -> Query<'q, Sqlite> {
        match self.checked_to_offset(UtcOffset::UTC) {
            Some(utc) => query.bind(sqlite_text(utc.date(), utc.time(), 'T', "+00:00")),
            // No UTC time (`__prepare` refuses it before any write or filter): a key lookup
            // with it finds nothing.
            None => query.bind(None::<String>),
        }
    }

    fn bind_null(query: Query<'_, Sqlite>) -> Query<'_, Sqlite> {
        query.bind(None::<OffsetDateTime>)
    }

    fn decode(value: SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        // Text written with another offset reads as the same instant in UTC.
        let value = decode_checked::<Sqlite, Self>(value)?;
        Ok(value.checked_to_offset(UtcOffset::UTC).unwrap_or(value))
    }
}

/// Sent as a `DATETIME` holding the UTC time. sqlx sends `OffsetDateTime` as a `TIMESTAMP`,
/// whose range ends at 2038-01-19 03:14:07 UTC: MariaDB stores a later one in a `DATETIME`
/// column as `NULL`, silently, even in strict mode. Read as UTC, from a `DATETIME` or a
/// `TIMESTAMP` (sqlx sets every MySQL session's time zone to UTC).
impl Stored<MySql> for OffsetDateTime {
    fn bind<'q>(&self, query: Query<'q, MySql>) -> Query<'q, MySql> {
        match self.checked_to_offset(UtcOffset::UTC) {
            Some(utc) => query.bind(PrimitiveDateTime::new(utc.date(), utc.time())),
            // As on SQLite: refused by `__prepare`, found by no key lookup.
            None => query.bind(None::<PrimitiveDateTime>),
        }
    }

    fn bind_null(query: Query<'_, MySql>) -> Query<'_, MySql> {
        query.bind(None::<PrimitiveDateTime>)
    }

    fn decode(value: MySqlValueRef<'_>) -> Result<Self, BoxDynError> {
        decode_checked::<MySql, Self>(value)
    }
}
