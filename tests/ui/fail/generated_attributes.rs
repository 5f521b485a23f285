use model_core::Model;

/// `generated` where the column must be written by the model, or has no column.
#[derive(Model)]
struct Invoice {
    #[model(primary_key, generated)]
    id: Option<i64>,
    #[model(version, generated)]
    version: i64,
    #[model(skip, generated)]
    note: String,
    #[model(generated = "qty * price", default = "0")]
    total: i64,
    #[model(generated = "")]
    empty: i64,
    #[model(generated(qty))]
    call: i64,
    #[model(generated = 1)]
    number: i64,
    #[model(generated, generated)]
    twice: i64,
}

fn main() {}
