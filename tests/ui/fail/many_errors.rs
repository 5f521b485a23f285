use model_core::Model;

// Every problem is reported in one build.
#[derive(Model)]
#[listens_for(befor_insert, touch)]
#[listens_for(after_update)]
#[model(tabel = "posts")]
struct Post {
    #[model(primary_key)]
    id: Option<i64>,
    #[model(primary_key)]
    slug: String,
    #[model(column = "slug")]
    permalink: String,
}

fn touch(_: &mut Post) {}

fn main() {}
