//! A composite key is a tuple for `find` and `get`; a schema qualifies the table.

use model_core::{Model, PrimaryKey};

#[derive(Debug, Clone, PartialEq, Model)]
#[model(schema = "library", table = "post_tag")]
pub struct PostTag {
    #[model(primary_key)]
    pub post_id: i64,
    pub note: String,
    #[model(primary_key)]
    pub tag: String,
}

fn key_type<M: Model<Key = (i64, String)>>() {}

fn is_key<K: PrimaryKey>() {}

#[allow(dead_code)]
async fn reads(pool: sqlx::SqlitePool) -> Result<(), model_core::Error> {
    let found = PostTag::find(&pool, (1, "rust".to_owned())).await?;
    let _ = PostTag::get(&pool, (1, "rust".to_owned())).await?;
    let _ = found;
    Ok(())
}

fn main() {
    key_type::<PostTag>();
    is_key::<(i64, String)>();
    assert_eq!(<PostTag as Model>::PRIMARY_KEY, &[0, 2]);
    assert_eq!(<PostTag as Model>::SCHEMA, Some("library"));
}
