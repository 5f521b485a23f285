use model_core::Model;

#[derive(Model)]
#[listens_for(before_insert, count)]
struct Post {
    id: Option<i64>,
}

fn count(_: &mut Post) -> usize {
    1
}

fn main() {}
