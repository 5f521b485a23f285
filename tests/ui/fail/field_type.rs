use model_core::Model;

#[derive(Model)]
struct Post {
    id: Option<i64>,
    tags: std::collections::HashMap<String, String>,
    views: u128,
}

fn main() {}
