use model_core::Model;

#[derive(Model)]
enum Status {
    Draft,
    Published,
}

#[derive(Model)]
struct Pair(i64, String);

#[derive(Model)]
struct Unit;

#[derive(Model)]
struct Empty {}

#[derive(Model)]
struct Generic<T> {
    id: Option<i64>,
    value: T,
}

#[derive(Model)]
struct Borrowed<'a> {
    id: Option<i64>,
    title: &'a str,
}

fn main() {}
