//! A cascade that runs listeners names its parent model once: a parent that is no model, or
//! a field that cannot hold its key, is one error each (not one more for the cascade).

use model_core::Model;

struct NotAModel;

#[derive(Model)]
struct Member {
    id: Option<i64>,
}

#[derive(Model)]
struct Card {
    id: Option<i64>,
    #[model(references = NotAModel, on_delete = "cascade")]
    a: i64,
    #[model(references = Member, on_delete = "set_null")]
    b: Option<i32>,
}

#[derive(Model)]
struct Sticker {
    id: Option<i64>,
    #[model(references = Member, on_delete = "set_null_in_database")]
    c: i64,
}

fn main() {}
