//! `uuid::Uuid` (feature `uuid`): PostgreSQL's `UUID`; elsewhere the hyphenated lowercase
//! text, 36 characters, so that every backend shows the same value in any SQL client and
//! sorts it alike, and MariaDB's `UUID` column takes it too. sqlx's own choice on SQLite and
//! MySQL is 16 raw bytes: that form is still read, so existing `BLOB` and `BINARY(16)`
//! columns work.

use ::uuid::fmt::Hyphenated;
use ::uuid::Uuid;
use sqlx::error::BoxDynError;
use sqlx::mysql::MySqlValueRef;
use sqlx::sqlite::SqliteValueRef;
use sqlx::{Decode, MySql, Postgres, Sqlite};

use crate::base::column::{check_type, stored_via_sqlx, ColumnType, Stored};
use crate::base::def::SqlType;
use crate::base::dialect::Query;

impl ColumnType for Uuid {
    const __SQL_TYPE: SqlType = SqlType::Uuid;
}

/// The 16-byte form, or any text form `Uuid` parses (hyphenated, simple, braced, URN).
fn from_stored(bytes: &[u8]) -> Result<Uuid, BoxDynError> {
    let parsed = match bytes.len() {
        16 => Uuid::from_slice(bytes),
        _ => Uuid::try_parse_ascii(bytes),
    };
    parsed.map_err(|e| format!("not a UUID ({e}): {:?}", String::from_utf8_lossy(bytes)).into())
}

impl Stored<Sqlite> for Uuid {
    fn bind<'q>(&self, query: Query<'q, Sqlite>) -> Query<'q, Sqlite> {
        query.bind(self.hyphenated())
    }
    fn bind_null(query: Query<'_, Sqlite>) -> Query<'_, Sqlite> {
        query.bind(None::<Hyphenated>)
    }
    fn decode(value: SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        // sqlx's `Uuid` accepts TEXT and BLOB values; its decoding only the BLOB.
        check_type::<Sqlite, Uuid>(&value)?;
        from_stored(<&[u8] as Decode<Sqlite>>::decode(value)?)
    }
}

impl Stored<MySql> for Uuid {
    fn bind<'q>(&self, query: Query<'q, MySql>) -> Query<'q, MySql> {
        query.bind(self.hyphenated())
    }
    fn bind_null(query: Query<'_, MySql>) -> Query<'_, MySql> {
        query.bind(None::<Hyphenated>)
    }
    fn decode(value: MySqlValueRef<'_>) -> Result<Self, BoxDynError> {
        check_type::<MySql, &str>(&value).or_else(|_| check_type::<MySql, &[u8]>(&value))?;
        from_stored(<&[u8] as Decode<MySql>>::decode(value)?)
    }
}

stored_via_sqlx!(Uuid: Postgres);
