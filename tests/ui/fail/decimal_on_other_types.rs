use model_core::Model;

#[derive(Model)]
struct Product {
    id: Option<i64>,
    #[model(precision = 12, scale = 2)]
    price: i64,
    #[model(precision = 5)]
    weight: Option<f64>,
    #[model(precision = 12, scale = 2)]
    label: String,
}

fn main() {}
