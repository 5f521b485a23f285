use model_core::Model;

#[derive(Model)]
struct NoKey {
    title: String,
}

#[derive(Model)]
struct SkippedKey {
    #[model(primary_key, skip)]
    id: i64,
}

#[derive(Model)]
struct TextKey {
    #[model(primary_key)]
    code: Option<String>,
}

fn main() {}
