//! JSON (feature `json`): `serde_json::Value` and `sqlx::types::Json<T>` for any serde type.
//! sqlx stores them alike everywhere: `TEXT` on SQLite, `JSONB` (or `JSON`) on PostgreSQL,
//! `JSON` on MySQL and MariaDB.
//!
//! Nothing is refused in advance: PostgreSQL's `JSONB` refuses a string holding the NUL
//! character (`"\u0000"`) itself, which comes back as `Error::Database`; seeing it first
//! would mean serializing every `Json<T>` twice.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

use sqlx::{MySql, Postgres, Sqlite};

use crate::base::column::{stored_via_sqlx, ColumnType};
use crate::base::def::SqlType;

stored_via_sqlx!(Value: Sqlite, Postgres, MySql);
impl ColumnType for Value {
    const __SQL_TYPE: SqlType = SqlType::Json;
}

stored_via_sqlx!([T: Serialize + DeserializeOwned] Json<T>, Sqlite);
stored_via_sqlx!([T: Serialize + DeserializeOwned] Json<T>, Postgres);
stored_via_sqlx!([T: Serialize + DeserializeOwned] Json<T>, MySql);
impl<T> ColumnType for Json<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    const __SQL_TYPE: SqlType = SqlType::Json;
}
