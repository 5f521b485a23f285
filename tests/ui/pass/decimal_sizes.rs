//! `precision` and `scale` on every type stored as a decimal: `Decimal`, an `Option` of it,
//! and a newtype of either.

use model_core::schema::Schema;
use model_core::sqlx::types::Decimal;
use model_core::{ColumnType, Dialect, Model};

#[derive(Debug, Clone, Copy, PartialEq, ColumnType)]
struct Money(Decimal);

#[derive(Model)]
struct Invoice {
    id: Option<i64>,
    #[model(precision = 12, scale = 2)]
    total: Decimal,
    #[model(precision = 65, scale = 28)]
    widest: Option<Decimal>,
    #[model(precision = 1)]
    digit: Decimal,
    #[model(precision = 10, scale = 10)]
    fraction: Decimal,
    #[model(precision = 9, scale = 2)]
    paid: Money,
    #[model(precision = 9, scale = 2)]
    refunded: Option<Money>,
}

fn main() {
    let sql = Schema::new()
        .model::<Invoice>()
        .sql(Dialect::Postgres)
        .remove(0);
    for column in [
        "\"total\" NUMERIC(12, 2) NOT NULL",
        "\"widest\" NUMERIC(65, 28),",
        "\"digit\" NUMERIC(1, 0) NOT NULL",
        "\"fraction\" NUMERIC(10, 10) NOT NULL",
        "\"paid\" NUMERIC(9, 2) NOT NULL",
        "\"refunded\" NUMERIC(9, 2)\n",
    ] {
        assert!(sql.contains(column), "{column} in {sql}");
    }
}
