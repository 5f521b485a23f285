use model_core::Model;

#[derive(Model)]
#[listens_for(before_insert, touch_comment)]
struct Post {
    id: Option<i64>,
}

struct Comment;

fn touch_comment(_: &mut Comment) {}

fn main() {}
