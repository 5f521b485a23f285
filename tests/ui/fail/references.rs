use model_core::Model;

#[derive(Model)]
#[model(table = "members")]
struct Member {
    id: Option<i64>,
}

/// A composite key: no column can hold it.
#[derive(Model)]
struct Pair {
    #[model(primary_key)]
    a: i64,
    #[model(primary_key)]
    b: i64,
}

struct NotAModel;

#[derive(Model)]
struct Loan {
    id: Option<i64>,
    #[model(references = Member, on_delete = "destroy")]
    a: i64,
    #[model(on_delete = "cascade")]
    b: i64,
    #[model(references = Member, on_delete = "set_null")]
    c: i64,
    #[model(skip, references = Member, on_delete = "cascade")]
    d: i64,
    #[model(references = Member, references = Member, on_delete = "cascade", on_delete = "restrict")]
    e: i64,
    #[model(references = "Member")]
    f: i64,
    #[model(references)]
    g: i64,
}

#[derive(Model)]
#[model(references = Member)]
struct Misplaced {
    #[model(references = Member)]
    id: Option<i64>,
}

#[derive(Model)]
struct Types {
    id: Option<i64>,
    #[model(references = NotAModel)]
    a: i64,
    #[model(references = Member)]
    b: i32,
    #[model(references = Pair)]
    c: i64,
    #[model(references = Member, on_delete = "set_null")]
    d: Option<i64>,
}

fn main() {}
