use model_core::Model;

// Attributes in the wrong place or with nothing in them.
#[derive(Model)]
#[model(table = "")]
#[listens_for("before_insert", touch)]
#[listens_for(before_destroy, touch)]
struct Post {
    id: Option<i64>,
    #[listens_for(before_insert, touch)]
    title: String,
}

fn touch(_: &mut Post) {}

fn main() {}

#[derive(Model)]
#[listens_for(7, touch_note)]
struct Note {
    id: Option<i64>,
}

fn touch_note(_: &mut Note) {}
