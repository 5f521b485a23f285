use model_core::{Model, Select};

#[derive(Model)]
#[listens_for(before_query, takes_a_row)]
struct Post {
    id: Option<i64>,
    deleted: bool,
}

// A query listener takes the query, not a row.
fn takes_a_row(post: &Post) {
    let _ = post;
}

// It returns the query: a listener that dropped it would leave nothing to run.
#[model_core::listens_for(before_query)]
fn returns_nothing(query: Select<Post>) {
    let _ = query;
}

// It narrows the query and sends nothing itself: not async.
#[model_core::listens_for(before_query)]
async fn looks_things_up(query: Select<Post>) -> Select<Post> {
    query
}

// The model is the query's: a `&Post` argument is a row listener's.
#[model_core::listens_for(before_query)]
fn a_row(post: &Post) -> Select<Post> {
    let _ = post;
    Post::query()
}

// A near miss is named.
#[model_core::listens_for(before_querry)]
fn misspelled(query: Select<Post>) -> Select<Post> {
    query
}

fn main() {}
