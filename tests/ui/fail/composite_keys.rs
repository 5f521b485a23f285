use model_core::Model;

/// A composite key is set by the caller: a part the database would generate is refused.
#[derive(Model)]
struct GeneratedPart {
    #[model(primary_key)]
    post_id: Option<i64>,
    #[model(primary_key)]
    tag_id: i64,
}

/// Each part is reported at its own type.
#[derive(Model)]
struct TwoGeneratedParts {
    #[model(primary_key)]
    a: Option<i64>,
    #[model(primary_key)]
    b: std::option::Option<String>,
}

#[derive(Model)]
struct FiveParts {
    #[model(primary_key)]
    a: i64,
    #[model(primary_key)]
    b: i64,
    #[model(primary_key)]
    c: i64,
    #[model(primary_key)]
    d: i64,
    #[model(primary_key)]
    e: i64,
}

#[derive(Model)]
struct VersionedPart {
    #[model(primary_key)]
    a: i64,
    #[model(primary_key, version)]
    b: i64,
}

#[derive(Model)]
struct SkippedPart {
    #[model(primary_key)]
    a: i64,
    #[model(primary_key, skip)]
    b: i64,
}

/// Still an error: neither a marked key nor an `id`.
#[derive(Model)]
struct NoKey {
    post_id: i64,
    tag_id: i64,
}

/// `Model::Key` is a tuple: `find` takes both parts.
#[derive(Model)]
struct PostTag {
    #[model(primary_key)]
    post_id: i64,
    #[model(primary_key)]
    tag_id: i64,
}

async fn find_by_one_part(pool: sqlx::SqlitePool) {
    let _ = PostTag::find(&pool, 1).await;
}

fn main() {}
