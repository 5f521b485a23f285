use model_core::Model;

#[derive(Model)]
struct Post {
    id: Option<i64>,
    title: String,
    views: i64,
}

fn main() {
    // LIKE is for text columns.
    let _ = Post::filter(|p| p.views.like("1%"));
    // A column that is not an `Option` is never NULL.
    let _ = Post::filter(|p| p.title.is_null());
}
