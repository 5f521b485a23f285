use model_core::Model;

#[derive(Model)]
#[listens_for(before_insert, stamp)]
struct Post {
    id: Option<i64>,
    title: String,
}

// before_insert may change the row, so it hands out `&mut Post`.
fn stamp(_: &Post) {}

fn main() {}
