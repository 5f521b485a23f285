use model_core::Model;

/// A dot in `table` is not a schema: the name is quoted as a whole.
#[derive(Model)]
#[model(table = "library.books")]
struct DottedTable {
    id: Option<i64>,
}

#[derive(Model)]
#[model(schema = "", table = "books")]
struct EmptySchema {
    id: Option<i64>,
}

#[derive(Model)]
#[model(schema = "a", schema = "b")]
struct TwoSchemas {
    id: Option<i64>,
}

#[derive(Model)]
#[model(schema)]
struct SchemaWithoutValue {
    id: Option<i64>,
}

#[derive(Model)]
struct SchemaOnAField {
    #[model(schema = "library")]
    id: Option<i64>,
}

fn main() {}
