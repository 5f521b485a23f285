use model_core::Model;

#[derive(Model)]
#[listens_for(before_insert)]
#[listens_for(before_insert,)]
#[listens_for(before_insert, touch touch)]
#[listens_for(before_insert, touch, touch)]
#[listens_for]
#[listens_for()]
#[listens_for(before_insert, "touch")]
struct Post {
    id: Option<i64>,
}

fn touch(_: &mut Post) {}

fn main() {}
