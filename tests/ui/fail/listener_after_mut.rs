use model_core::Model;

#[derive(Model)]
#[listens_for(after_insert, stamp)]
struct Post {
    id: Option<i64>,
    title: String,
}

// A change made after the INSERT would never be written.
fn stamp(post: &mut Post) {
    post.title.clear();
}

fn main() {}
