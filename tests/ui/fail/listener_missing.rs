use model_core::Model;

#[derive(Model)]
#[listens_for(before_insert, set_created_at)]
#[listens_for(after_insert, audit::record)]
struct Post {
    id: Option<i64>,
}

mod audit {}

fn main() {}
