use model_core::Model;

#[derive(Model)]
struct Post {
    id: Option<i64>,
    title: String,
    #[model(skip)]
    cached: bool,
}

fn main() {
    let _ = Post::filter(|p| p.titel.eq("Hello"));
    // A skipped field is not a column.
    let _ = Post::filter(|p| p.cached.eq(true));
}
