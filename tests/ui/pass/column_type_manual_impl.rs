//! A type with its own sqlx `Type`, `Encode` and `Decode` impls is a column type with an
//! empty `impl ColumnType` (every item has a default) and `store_with_sqlx!`.

use model_core::{ColumnType, Model};
use sqlx::{Database, Decode, Encode, Type};

/// Cents, stored as a `BIGINT`: the sqlx impls delegate to `i64`'s, on every backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cents(i64);

impl<DB: Database> Type<DB> for Cents
where
    i64: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <i64 as Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <i64 as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Database> Encode<'q, DB> for Cents
where
    i64: Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut DB::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        self.0.encode_by_ref(buf)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for Cents
where
    i64: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        i64::decode(value).map(Cents)
    }
}

impl ColumnType for Cents {}
model_core::store_with_sqlx!(Cents);

#[derive(Debug, Model)]
pub struct Order {
    pub id: Option<i64>,
    pub total: Cents,
    pub refund: Option<Cents>,
}

#[allow(dead_code)]
async fn cheap(pool: sqlx::PgPool) -> Result<Vec<Order>, model_core::Error> {
    Order::filter(|o| o.total.lt(Cents(100))).all(&pool).await
}

fn main() {}
