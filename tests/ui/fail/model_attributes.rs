use model_core::Model;

#[derive(Model)]
#[model(table = "posts")]
#[model(table = "articles")]
#[model(tabel = "posts")]
#[model(table = 5)]
#[model(primary_key)]
struct Post {
    #[model(primary_key = true)]
    id: Option<i64>,
    #[model(table = "x")]
    a: String,
    #[model(column)]
    b: String,
    #[model(rename = "c")]
    c: String,
    #[model(skip, skip)]
    d: String,
}

fn main() {}
