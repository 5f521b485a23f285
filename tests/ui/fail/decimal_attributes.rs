use model_core::sqlx::types::Decimal;
use model_core::Model;

#[derive(Model)]
#[model(precision = 12)]
struct Price {
    id: Option<i64>,
    #[model(scale = 2)]
    no_precision: Decimal,
    #[model(precision = 3, scale = 5)]
    scale_above_precision: Decimal,
    #[model(precision = 0)]
    no_digits: Decimal,
    #[model(precision = 66)]
    too_many_digits: Decimal,
    #[model(precision = 40, scale = 29)]
    scale_too_large: Decimal,
    #[model(precision = "12")]
    #[model(scale)]
    not_integers: Decimal,
    #[model(precision = 12, scale = 2, precision = 10, scale = 1)]
    given_twice: Decimal,
    #[model(skip, precision = 12, scale = 2)]
    skipped: Decimal,
}

fn main() {}
