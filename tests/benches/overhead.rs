//! What a model costs over the same work written by hand with sqlx, in the same process.
//!
//! `cargo bench -p model-tests --bench overhead` (add `-- sqlite` to run one backend).
//! For each backend and operation it runs the model version and the hand-written version
//! in alternating rounds and prints the median time per operation of each and their ratio
//! (model / hand-written; 1.00 = no overhead). The hand-written side does exactly what the
//! model's operation sends: the same SQL, the listener called by hand, and no transaction
//! around a single statement (the model skips `BEGIN`/`COMMIT` when one statement with only
//! synchronous `before_*` listeners is the whole write: it is atomic on its own).
//! Results are recorded in BENCHMARKS.md.

#![allow(missing_docs)]

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use model_core::Model;
use model_tests::{Col, TestBackend, TestDb};
use sqlx::{MySql, Pool, Postgres, Sqlite};

#[derive(Debug, Clone, Model)]
#[model(table = "posts")]
#[listens_for(before_insert, set_created_at)]
struct Post {
    id: Option<i64>,
    title: String,
    content: String,
    created_at: Option<DateTime<Utc>>,
}

fn set_created_at(post: &mut Post) {
    post.created_at = Some(Utc::now());
}

fn new_post() -> Post {
    Post {
        id: None,
        title: "New Post".into(),
        content: "This is a new post".into(),
        created_at: None,
    }
}

/// The hand-written equivalents, per backend: sqlx's `Executor` is implemented per driver,
/// so a hand-written app names its driver; these are what such an app would contain.
trait HandWritten: TestBackend {
    fn hand_insert(pool: &Pool<Self>, post: &mut Post) -> impl Future<Output = ()> + Send;
    fn hand_get(pool: &Pool<Self>, id: i64) -> impl Future<Output = Post> + Send;
    fn hand_update(pool: &Pool<Self>, post: &mut Post) -> impl Future<Output = ()> + Send;
}

macro_rules! hand_written {
    ($db:ty, $insert:literal, $select:literal, $update:literal, |$q:ident, $c:ident| $returning:expr) => {
        impl HandWritten for $db {
            async fn hand_insert(pool: &Pool<Self>, post: &mut Post) {
                set_created_at(post);
                let query = sqlx::query($insert)
                    .bind(&post.title)
                    .bind(&post.content)
                    .bind(post.created_at);
                let $q = query;
                let $c = pool;
                let id: i64 = $returning;
                post.id = Some(id);
            }

            async fn hand_get(pool: &Pool<Self>, id: i64) -> Post {
                use sqlx::Row;
                let row = sqlx::query($select).bind(id).fetch_one(pool).await.unwrap();
                Post {
                    id: row.try_get(0).unwrap(),
                    title: row.try_get(1).unwrap(),
                    content: row.try_get(2).unwrap(),
                    created_at: row.try_get(3).unwrap(),
                }
            }

            async fn hand_update(pool: &Pool<Self>, post: &mut Post) {
                let done = sqlx::query($update)
                    .bind(post.id)
                    .bind(&post.title)
                    .bind(&post.content)
                    .bind(post.created_at)
                    .bind(post.id)
                    .execute(pool)
                    .await
                    .unwrap();
                assert_eq!(done.rows_affected(), 1);
            }
        }
    };
}

hand_written!(
    Sqlite,
    r#"INSERT INTO "posts" ("title", "content", "created_at") VALUES (?, ?, ?) RETURNING "id""#,
    r#"SELECT "id", "title", "content", "created_at" FROM "posts" WHERE "id" = ?"#,
    r#"UPDATE "posts" SET "id" = ?, "title" = ?, "content" = ?, "created_at" = ? WHERE "id" = ?"#,
    |q, c| {
        use sqlx::Row;
        q.fetch_one(c).await.unwrap().try_get(0).unwrap()
    }
);
hand_written!(
    Postgres,
    r#"INSERT INTO "posts" ("title", "content", "created_at") VALUES ($1, $2, $3) RETURNING "id""#,
    r#"SELECT "id", "title", "content", "created_at" FROM "posts" WHERE "id" = $1"#,
    r#"UPDATE "posts" SET "id" = $1, "title" = $2, "content" = $3, "created_at" = $4 WHERE "id" = $5"#,
    |q, c| {
        use sqlx::Row;
        q.fetch_one(c).await.unwrap().try_get(0).unwrap()
    }
);
hand_written!(
    MySql,
    "INSERT INTO `posts` (`title`, `content`, `created_at`) VALUES (?, ?, ?)",
    "SELECT `id`, `title`, `content`, `created_at` FROM `posts` WHERE `id` = ?",
    "UPDATE `posts` SET `id` = ?, `title` = ?, `content` = ?, `created_at` = ? WHERE `id` = ?",
    |q, c| q.execute(c).await.unwrap().last_insert_id() as i64
);

/// Median of `rounds` timings of `ops` operations each, per operation.
struct Timing {
    model: Duration,
    hand: Duration,
}

async fn bench<DB: HandWritten>(filter: &Option<String>, ops: u32, rounds: usize) {
    let name = DB::DIALECT;
    if filter
        .as_deref()
        .is_some_and(|f| !format!("{name:?}").to_lowercase().contains(f))
    {
        return;
    }
    let Some(db): Option<TestDb<DB>> = DB::fresh(&format!("bench_overhead_{name:?}")).await else {
        return;
    };
    db.create_table(
        "posts",
        &[
            ("id", Col::Serial),
            ("title", Col::TextNotNull),
            ("content", Col::TextNotNull),
            ("created_at", Col::Timestamp),
        ],
    )
    .await;
    let pool = &db.pool;
    // Warm up connections and statement caches on both sides.
    for _ in 0..50 {
        new_post().insert(pool).await.unwrap();
        DB::hand_insert(pool, &mut new_post()).await;
    }
    let mut seed = new_post();
    seed.insert(pool).await.unwrap();
    let id = seed.id.unwrap();

    let insert = measure(
        rounds,
        ops,
        || async {
            new_post().insert(pool).await.unwrap();
        },
        || async {
            DB::hand_insert(pool, &mut new_post()).await;
        },
    )
    .await;
    let get = measure(
        rounds,
        ops,
        || async {
            std::hint::black_box(Post::get(pool, id).await.unwrap());
        },
        || async {
            std::hint::black_box(DB::hand_get(pool, id).await);
        },
    )
    .await;
    let update = measure(
        rounds,
        ops,
        || async {
            let mut post = seed.clone();
            post.update(pool).await.unwrap();
        },
        || async {
            let mut post = seed.clone();
            DB::hand_update(pool, &mut post).await;
        },
    )
    .await;
    for (op, t) in [("insert", insert), ("get", get), ("update", update)] {
        println!(
            "| {name:?} | {op} | {:.1} µs | {:.1} µs | {:.3} |",
            t.model.as_secs_f64() * 1e6,
            t.hand.as_secs_f64() * 1e6,
            t.model.as_secs_f64() / t.hand.as_secs_f64()
        );
    }
    db.finish().await;
}

async fn measure<M, MF, H, HF>(rounds: usize, ops: u32, model: M, hand: H) -> Timing
where
    M: Fn() -> MF,
    MF: Future<Output = ()>,
    H: Fn() -> HF,
    HF: Future<Output = ()>,
{
    let mut model_times = Vec::with_capacity(rounds);
    let mut hand_times = Vec::with_capacity(rounds);
    // Alternate the two sides so drift (WAL growth, autovacuum, CPU frequency) hits both.
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..ops {
            model().await;
        }
        model_times.push(start.elapsed() / ops);
        let start = Instant::now();
        for _ in 0..ops {
            hand().await;
        }
        hand_times.push(start.elapsed() / ops);
    }
    model_times.sort();
    hand_times.sort();
    Timing {
        model: model_times[rounds / 2],
        hand: hand_times[rounds / 2],
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; any other argument filters backends.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    println!("| backend | operation | model | hand-written sqlx | ratio |");
    println!("|---|---|---|---|---|");
    bench::<Sqlite>(&filter, 2000, 9).await;
    bench::<Postgres>(&filter, 500, 9).await;
    bench::<MySql>(&filter, 500, 9).await;
}
