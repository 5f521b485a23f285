use model_core::Model;

#[derive(Model)]
#[listens_for(before_insrt, touch)]
#[listens_for(before_save, touch)]
#[listens_for(on_fire, touch)]
struct Post {
    id: Option<i64>,
}

fn touch(_: &mut Post) {}

fn main() {}
