use model_core::Model;

/// A column type that cannot be compared: a change-tracking model cannot tell whether it
/// changed.
#[derive(Clone, model_core::ColumnType)]
struct Opaque(i64);

/// Not `Clone`, which is no error: only `track()` needs it (a copy of the original values).
#[derive(Model)]
#[model(track_changes)]
struct Post {
    id: Option<i64>,
    body: Opaque,
    #[model(version)]
    version: String,
}

fn main() {}
