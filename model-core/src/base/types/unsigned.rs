//! `u32` and `u64`. MySQL has unsigned columns; SQLite and PostgreSQL integers are signed
//! 64-bit, which hold every `u32` but a `u64` only up to `i64::MAX`. sqlx has no unsigned
//! types on PostgreSQL at all, and no `u64` encoding on SQLite.

use sqlx::error::BoxDynError;
use sqlx::postgres::PgValueRef;
use sqlx::{Decode, Encode, MySql, Postgres, Sqlite, Type};

use crate::base::column::{
    check_type, decode_checked, stored_via_sqlx, ColumnType, GeneratedKey, Stored,
};
use crate::base::def::SqlType;
use crate::base::dialect::{Dialect, Query};

const U64_ABOVE_I64: &str = "this database stores integers up to 9223372036854775807 (i64::MAX)";

/// Reads any PostgreSQL integer (`SMALLINT`, `INTEGER`, `BIGINT`) into an unsigned type,
/// refusing a negative value.
fn decode_pg_unsigned<U: TryFrom<i64>>(value: PgValueRef<'_>) -> Result<U, BoxDynError> {
    if check_type::<Postgres, i64>(&value).is_err() {
        check_type::<Postgres, i32>(&value).or_else(|_| check_type::<Postgres, i16>(&value))?;
    }
    let signed = <i64 as Decode<Postgres>>::decode(value)?;
    U::try_from(signed)
        .map_err(|_| format!("{signed} does not fit {}", std::any::type_name::<U>()).into())
}

/// A value no backend's integer can hold, bound in place of one so that the statement fails
/// with `reason` (as sqlx reports a value that fails to encode) instead of storing another
/// number. Writes never get here ([`ColumnType::__prepare`] refuses first); a key given to
/// `find` can.
struct Unstorable(&'static str);

impl<DB: sqlx::Database> Type<DB> for Unstorable
where
    i64: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <i64 as Type<DB>>::type_info()
    }
}

impl<DB: sqlx::Database> Encode<'_, DB> for Unstorable {
    fn encode_by_ref(
        &self,
        _: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, BoxDynError> {
        Err(self.0.into())
    }
}

impl Stored<Postgres> for u32 {
    fn bind<'q>(&self, query: Query<'q, Postgres>) -> Query<'q, Postgres> {
        query.bind(i64::from(*self))
    }
    fn bind_null(query: Query<'_, Postgres>) -> Query<'_, Postgres> {
        query.bind(None::<i64>)
    }
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        decode_pg_unsigned(value)
    }
}

impl Stored<Sqlite> for u64 {
    fn bind<'q>(&self, query: Query<'q, Sqlite>) -> Query<'q, Sqlite> {
        match i64::try_from(*self) {
            Ok(signed) => query.bind(signed),
            Err(_) => query.bind(Unstorable(U64_ABOVE_I64)),
        }
    }
    fn bind_null(query: Query<'_, Sqlite>) -> Query<'_, Sqlite> {
        query.bind(None::<i64>)
    }
    fn decode(value: sqlx::sqlite::SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        decode_checked::<Sqlite, Self>(value)
    }
}

impl Stored<Postgres> for u64 {
    fn bind<'q>(&self, query: Query<'q, Postgres>) -> Query<'q, Postgres> {
        match i64::try_from(*self) {
            Ok(signed) => query.bind(signed),
            Err(_) => query.bind(Unstorable(U64_ABOVE_I64)),
        }
    }
    fn bind_null(query: Query<'_, Postgres>) -> Query<'_, Postgres> {
        query.bind(None::<i64>)
    }
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        decode_pg_unsigned(value)
    }
}

stored_via_sqlx!(u32: Sqlite, MySql);
stored_via_sqlx!(u64: MySql);

impl ColumnType for u32 {
    const __SQL_TYPE: SqlType = SqlType::UnsignedInt;

    fn __from_insert_id(id: u64) -> Option<Self> {
        u32::try_from(id).ok()
    }
    fn __generated_id(&self) -> Option<i64> {
        Some(i64::from(*self))
    }
}

impl ColumnType for u64 {
    const __SQL_TYPE: SqlType = SqlType::UnsignedBigInt;

    fn __from_insert_id(id: u64) -> Option<Self> {
        Some(id)
    }
    fn __generated_id(&self) -> Option<i64> {
        i64::try_from(*self).ok()
    }
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        if dialect != Dialect::MySql && i64::try_from(*self).is_err() {
            Err(U64_ABOVE_I64)
        } else {
            Ok(())
        }
    }
}

impl GeneratedKey for u32 {}
impl GeneratedKey for u64 {}
