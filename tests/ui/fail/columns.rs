use model_core::Model;

#[derive(Model)]
struct Post {
    id: Option<i64>,
    title: String,
    #[model(column = "title")]
    headline: String,
    #[model(column = "")]
    body: String,
    #[model(skip, column = "cache")]
    cache: String,
}

fn main() {}
