//! What a model costs over the same work written by hand with sqlx, in the same process.
//!
//! `cargo bench -p model-tests --bench overhead` (add `-- sqlite`, `-- postgres` or
//! `-- mysql` to run one backend; criterion's options go after the `--` too, see
//! `side_by_side`). For each backend and operation criterion measures the model version
//! (`overhead/<backend>/<operation>/model`) and the hand-written version (`.../hand`) on the
//! same pool, and the bench prints the median time per operation of each over criterion's
//! samples and their ratio (model / hand-written; 1.00 = no overhead). The hand-written side
//! does exactly what the model's operation sends: the same SQL, the listener called by hand,
//! and no transaction around a single statement (the model skips `BEGIN`/`COMMIT` when one
//! statement with only synchronous `before_*` listeners is the whole write: it is atomic on
//! its own). Results are recorded in BENCHMARKS.md.

#![allow(missing_docs)]

mod side_by_side;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use model_core::{Model, StatementPhase};
use model_tests::{Col, TestBackend, TestDb};
use side_by_side::{backend, Bench, Length, Timing};
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

fn cases<DB: HandWritten>(bench: &mut Bench) {
    let (key, backend) = backend(DB::DIALECT);
    if !bench.wants(key) {
        return;
    }
    let Some(db): Option<TestDb<DB>> =
        bench.block_on(DB::fresh(&format!("bench_overhead_{:?}", DB::DIALECT)))
    else {
        return;
    };
    bench.block_on(db.create_table(
        "posts",
        &[
            ("id", Col::Serial),
            ("title", Col::TextNotNull),
            ("content", Col::TextNotNull),
            ("created_at", Col::Timestamp),
        ],
    ));
    let pool = &db.pool;
    let seed = bench.block_on(async {
        let mut seed = new_post();
        seed.insert(pool).await.unwrap();
        seed
    });
    let id = seed.id.unwrap();

    let insert = bench.compare(
        &format!("overhead/{key}/insert"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                new_post().insert(pool).await.unwrap();
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                DB::hand_insert(pool, &mut new_post()).await;
            }
            start.elapsed()
        },
    );
    let get = bench.compare(
        &format!("overhead/{key}/get"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(Post::get(pool, id).await.unwrap());
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(DB::hand_get(pool, id).await);
            }
            start.elapsed()
        },
    );
    let update = bench.compare(
        &format!("overhead/{key}/update"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut post = seed.clone();
                post.update(pool).await.unwrap();
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut post = seed.clone();
                DB::hand_update(pool, &mut post).await;
            }
            start.elapsed()
        },
    );
    // Issue 27: the insert again with one statement listener (a counter), then under a
    // `tracing` subscriber (`fmt` to a sink) at INFO (the write spans) and at DEBUG (the
    // listener spans and an event per statement, and sqlx's own statement events). Both
    // sides run under the same subscriber: it is the application's, not the model's.
    let counter = AtomicU64::new(0);
    let listening = model_core::on_statement(move |statement| {
        if let StatementPhase::After { .. } = statement.phase {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let with_listener = compare_insert(
        bench,
        &format!("overhead/{key}/insert_statement_listener"),
        pool,
    );
    drop(listening);
    let info = set_fmt_subscriber(tracing::Level::INFO);
    let traced_info = compare_insert(bench, &format!("overhead/{key}/insert_tracing_info"), pool);
    drop(info);
    let debug = set_fmt_subscriber(tracing::Level::DEBUG);
    let traced_debug = compare_insert(bench, &format!("overhead/{key}/insert_tracing_debug"), pool);
    drop(debug);
    for (op, timing) in [
        ("insert", insert),
        ("get", get),
        ("update", update),
        ("insert, 1 statement listener", with_listener),
        ("insert, `tracing` fmt at INFO", traced_info),
        ("insert, `tracing` fmt at DEBUG", traced_debug),
    ] {
        if let Some(t) = timing {
            bench.line(format!(
                "| {backend} | {op} | {:.1} µs | {:.1} µs | {:.3} |",
                t.model.as_secs_f64() * 1e6,
                t.hand.as_secs_f64() * 1e6,
                t.model_over_hand()
            ));
        }
    }
    bench.block_on(db.finish());
}

/// The model's per-row insert against the hand-written one: the `insert` case again, for the
/// cases that change what surrounds it (issue 27).
fn compare_insert<DB: HandWritten>(
    bench: &mut Bench,
    name: &str,
    pool: &Pool<DB>,
) -> Option<Timing> {
    bench.compare(
        name,
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                new_post().insert(pool).await.unwrap();
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                DB::hand_insert(pool, &mut new_post()).await;
            }
            start.elapsed()
        },
    )
}

/// A `tracing_subscriber::fmt` subscriber writing to a sink, at `level`, for this thread
/// (the bench's runtime is single-threaded) until the guard is dropped.
fn set_fmt_subscriber(level: tracing::Level) -> tracing::subscriber::DefaultGuard {
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(level)
        .finish();
    tracing::subscriber::set_default(subscriber)
}

fn main() {
    let mut bench = Bench::new(
        "| backend | operation | model | hand-written sqlx | ratio (model / hand) |\n|---|---|---|---|---|",
    );
    cases::<Sqlite>(&mut bench);
    cases::<Postgres>(&mut bench);
    cases::<MySql>(&mut bench);
    bench.finish();
}
