use model_core::Model;

#[derive(Model)]
struct Post {
    id: Option<i64>,
    title: String,
    author_id: Option<i64>,
    views: i32,
}

fn main() {
    let _ = Post::filter(|p| p.author_id.eq("x"));
    let _ = Post::filter(|p| p.title.eq(7));
    let _ = Post::filter(|p| p.views.gt(7_i64));
    let _ = Post::query().update(|p| p.views.set("many"), &pool());
}

fn pool() -> sqlx::SqlitePool {
    unimplemented!()
}
