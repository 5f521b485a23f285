//! Generated and defaulted columns, in a module without the prelude (the expansion names
//! everything by its full path), on a change-tracking model.

#[no_implicit_prelude]
mod bare {
    #[derive(::core::clone::Clone, ::model_core::Model)]
    #[model(table = "lines", track_changes)]
    pub struct Line {
        pub id: ::std::option::Option<i64>,
        pub qty: i64,
        pub price: i64,
        /// A `GENERATED ALWAYS AS` column.
        #[model(generated = "qty * price")]
        pub total: i64,
        /// Kept by a trigger, with a default for the insert.
        #[model(generated, default = "0")]
        pub edits: i64,
        /// The database's default when `None` at insert.
        #[model(default = "CURRENT_TIMESTAMP")]
        pub added: ::std::option::Option<::std::string::String>,
        /// Written as set: not an `Option`.
        #[model(default = "1")]
        pub weight: i64,
    }
}

fn main() {
    use model_core::Model;
    assert_eq!(bare::Line::COLUMNS.len(), 7);
}
