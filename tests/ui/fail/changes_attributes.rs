use model_core::Model;

#[derive(Model)]
#[model(track_changes = true)]
#[model(track_changes, track_changes)]
#[model(version)]
struct Post {
    #[model(version)]
    id: Option<i64>,
    #[model(version, version)]
    a: i64,
    #[model(version)]
    b: i64,
    #[model(skip, version)]
    c: i64,
    #[model(track_changes)]
    d: String,
}

fn main() {}
