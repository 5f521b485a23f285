//! Writes through the model against the same writes by hand with sqlx 0.9, same process, same
//! pool, criterion measuring each side (`writes/<backend>/<case>/model` and `.../hand`),
//! median of each side over criterion's samples: one row per transaction, rows in a caller's
//! transaction (1,000 per transaction; again in `transaction_without_savepoints`, against the
//! same hand-written loop), `insert_all` against `QueryBuilder::push_values`,
//! `delete_all` against a chunked `DELETE ... WHERE id IN (...)` (50,000 rows each). The ratio
//! is hand-written time / model time, i.e. model rows/s / hand-written rows/s.
//!
//! `cargo bench -p model-tests --bench writes` (add `-- sqlite`, `-- postgres` or `-- mysql`
//! for one backend; criterion's options go after the `--` too, see `side_by_side`). SQLite is a
//! file with WAL and `synchronous = NORMAL` on one pooled connection; PostgreSQL and MariaDB
//! are the local servers. Results are in BENCHMARKS.md.

#![allow(missing_docs)]

mod side_by_side;

use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use model_core::{Dialect, Model};
use model_tests::{Col, TestBackend, TestDb};
use side_by_side::{backend, Bench, Length, Timing};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{MySql, Pool, Postgres, QueryBuilder, Sqlite};

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

/// The most rows one hand-written `push_values` statement of three binds may hold: what a
/// careful hand-written app chunks by (the bind limits of each protocol).
fn rows_per_statement(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Sqlite => 32_766 / 3,
        Dialect::Postgres | Dialect::MySql => 65_535 / 3,
    }
}

/// The hand-written equivalents, per backend (sqlx's `Executor` is per driver).
trait HandWritten: TestBackend {
    fn hand_insert(pool: &Pool<Self>, post: &mut Post) -> impl Future<Output = ()> + Send;
    fn hand_insert_in_tx(pool: &Pool<Self>, posts: &mut [Post]) -> impl Future<Output = ()> + Send;
    fn hand_insert_all(pool: &Pool<Self>, posts: &mut [Post]) -> impl Future<Output = ()> + Send;
    fn hand_delete_all(pool: &Pool<Self>, ids: &[i64]) -> impl Future<Output = ()> + Send;
}

macro_rules! hand_written {
    ($db:ty, $insert:literal, $ret:literal, |$q:ident, $c:ident, $rows:ident| $keys:expr) => {
        impl HandWritten for $db {
            async fn hand_insert(pool: &Pool<Self>, post: &mut Post) {
                set_created_at(post);
                let $q = sqlx::query(concat!($insert, $ret))
                    .bind(&post.title)
                    .bind(&post.content)
                    .bind(post.created_at);
                let $c = pool;
                let $rows = 1usize;
                post.id = Some($keys[0]);
            }

            async fn hand_insert_in_tx(pool: &Pool<Self>, posts: &mut [Post]) {
                let mut tx = pool.begin().await.unwrap();
                for post in posts.iter_mut() {
                    set_created_at(post);
                    let $q = sqlx::query(concat!($insert, $ret))
                        .bind(&post.title)
                        .bind(&post.content)
                        .bind(post.created_at);
                    let $c = &mut *tx;
                    let $rows = 1usize;
                    post.id = Some($keys[0]);
                }
                tx.commit().await.unwrap();
            }

            async fn hand_insert_all(pool: &Pool<Self>, posts: &mut [Post]) {
                let mut tx = pool.begin().await.unwrap();
                for post in posts.iter_mut() {
                    set_created_at(post);
                }
                for chunk in
                    posts.chunks_mut(rows_per_statement(<$db as model_core::Backend>::DIALECT))
                {
                    let mut builder = QueryBuilder::<$db>::new(
                        r#"INSERT INTO posts (title, content, created_at) "#,
                    );
                    builder.push_values(chunk.iter(), |mut row, post| {
                        row.push_bind(post.title.clone())
                            .push_bind(post.content.clone())
                            .push_bind(post.created_at);
                    });
                    builder.push($ret);
                    let $q = builder.build();
                    let $c = &mut *tx;
                    let $rows = chunk.len();
                    let keys: Vec<i64> = $keys;
                    for (post, id) in chunk.iter_mut().zip(keys) {
                        post.id = Some(id);
                    }
                }
                tx.commit().await.unwrap();
            }

            async fn hand_delete_all(pool: &Pool<Self>, ids: &[i64]) {
                let mut tx = pool.begin().await.unwrap();
                for chunk in
                    ids.chunks(rows_per_statement(<$db as model_core::Backend>::DIALECT) * 3)
                {
                    let mut builder = QueryBuilder::<$db>::new("DELETE FROM posts WHERE id IN (");
                    let mut list = builder.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    builder.push(")");
                    let done = builder.build().execute(&mut *tx).await.unwrap();
                    assert_eq!(done.rows_affected() as usize, chunk.len());
                }
                tx.commit().await.unwrap();
            }
        }
    };
}

hand_written!(
    Sqlite,
    "INSERT INTO posts (title, content, created_at) VALUES (?, ?, ?)",
    " RETURNING id",
    |q, c, _rows| {
        use sqlx::Row;
        q.fetch_all(c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect::<Vec<i64>>()
    }
);
hand_written!(
    Postgres,
    "INSERT INTO posts (title, content, created_at) VALUES ($1, $2, $3)",
    " RETURNING id",
    |q, c, _rows| {
        use sqlx::Row;
        q.fetch_all(c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect::<Vec<i64>>()
    }
);
hand_written!(
    MySql,
    "INSERT INTO posts (title, content, created_at) VALUES (?, ?, ?)",
    "",
    |q, c, rows| {
        let first = q.execute(c).await.unwrap().last_insert_id() as i64;
        (0..rows as i64).map(|i| first + i).collect::<Vec<i64>>()
    }
);

/// Rows per transaction in the "caller's transaction" case (criterion times one transaction
/// per iteration).
const ROWS_PER_TX: u64 = 1_000;

/// Rows per `insert_all`/`delete_all` and per hand-written batch.
const BATCH: usize = 50_000;

fn report(bench: &mut Bench, backend: &str, case: &str, rows: u64, t: Option<Timing>) {
    let Some(t) = t else { return };
    let per_s = |d: Duration| rows as f64 / d.as_secs_f64();
    bench.line(format!(
        "| {backend} | {case} | {:.0} rows/s | {:.0} rows/s | {:.2} |",
        per_s(t.model),
        per_s(t.hand),
        t.hand_over_model()
    ));
}

fn batch() -> Vec<Post> {
    (0..BATCH).map(|_| new_post()).collect()
}

fn ids(posts: &[Post]) -> Vec<i64> {
    posts.iter().map(|p| p.id.unwrap()).collect()
}

fn cases<DB: HandWritten>(bench: &mut Bench, pool: &Pool<DB>)
where
    for<'c> &'c mut DB::Connection: sqlx::Acquire<'c, Database = DB>,
{
    let (key, backend) = backend(DB::DIALECT);
    let t = bench.compare(
        &format!("writes/{key}/insert_per_row"),
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
    report(bench, backend, "insert per row, commit each", 1, t);

    let t = bench.compare(
        &format!("writes/{key}/insert_in_tx"),
        Length::Long,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut tx = pool.begin().await.unwrap();
                for _ in 0..ROWS_PER_TX {
                    new_post().insert(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut posts: Vec<Post> = (0..ROWS_PER_TX).map(|_| new_post()).collect();
                DB::hand_insert_in_tx(pool, &mut posts).await;
            }
            start.elapsed()
        },
    );
    report(
        bench,
        backend,
        "insert per row in the caller's transaction",
        ROWS_PER_TX,
        t,
    );

    // The same rows in `transaction_without_savepoints` (issue 28): on PostgreSQL no
    // savepoint per insert, a failed one refusing the commit instead.
    let t = bench.compare(
        &format!("writes/{key}/insert_in_tx_without_savepoints"),
        Length::Long,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                model_core::transaction_without_savepoints(pool, |conn| {
                    Box::pin(async move {
                        for _ in 0..ROWS_PER_TX {
                            new_post().insert(&mut *conn).await?;
                        }
                        Ok::<_, model_core::Error>(())
                    })
                })
                .await
                .unwrap();
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut posts: Vec<Post> = (0..ROWS_PER_TX).map(|_| new_post()).collect();
                DB::hand_insert_in_tx(pool, &mut posts).await;
            }
            start.elapsed()
        },
    );
    report(
        bench,
        backend,
        "the same in transaction_without_savepoints",
        ROWS_PER_TX,
        t,
    );

    // Each iteration's rows are built before the clock starts and deleted after it stops
    // (by the hand-written delete, on both sides), so every insert meets the same table.
    let t = bench.compare(
        &format!("writes/{key}/insert_all"),
        Length::Long,
        async |iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let mut posts = batch();
                let start = Instant::now();
                Post::insert_all(&mut posts, pool).await.unwrap();
                took += start.elapsed();
                DB::hand_delete_all(pool, &ids(&posts)).await;
            }
            took
        },
        async |iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let mut posts = batch();
                let start = Instant::now();
                DB::hand_insert_all(pool, &mut posts).await;
                took += start.elapsed();
                DB::hand_delete_all(pool, &ids(&posts)).await;
            }
            took
        },
    );
    report(bench, backend, "insert_all vs push_values", BATCH as u64, t);

    // Each iteration's rows are inserted (by the same side) before the clock starts.
    let t = bench.compare(
        &format!("writes/{key}/delete_all"),
        Length::Long,
        async |iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let mut posts = batch();
                Post::insert_all(&mut posts, pool).await.unwrap();
                let start = Instant::now();
                Post::delete_all(&posts, pool).await.unwrap();
                took += start.elapsed();
            }
            took
        },
        async |iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                let mut posts = batch();
                DB::hand_insert_all(pool, &mut posts).await;
                let ids = ids(&posts);
                let start = Instant::now();
                DB::hand_delete_all(pool, &ids).await;
                took += start.elapsed();
            }
            took
        },
    );
    report(
        bench,
        backend,
        "delete_all vs DELETE ... IN",
        BATCH as u64,
        t,
    );
}

async fn table<DB: TestBackend>(db: &TestDb<DB>) {
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
}

fn main() {
    let mut bench = Bench::new(
        "| backend | case | model-core | hand-written sqlx | ratio (hand time / model time) |\n|---|---|---|---|---|",
    );
    if bench.wants("sqlite") {
        let dir = std::env::temp_dir().join(format!("model-bench-writes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options =
            SqliteConnectOptions::from_str(&format!("sqlite://{}/bench.db", dir.display()))
                .unwrap()
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
        let pool = bench.block_on(async {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap();
            sqlx::query("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, content TEXT NOT NULL, created_at TEXT)")
                .execute(&pool)
                .await
                .unwrap();
            pool
        });
        cases::<Sqlite>(&mut bench, &pool);
        bench.block_on(pool.close());
        std::fs::remove_dir_all(&dir).ok();
    }
    if bench.wants("postgres") {
        if let Some(db) = bench.block_on(Postgres::fresh("bench_writes_postgres")) {
            bench.block_on(table(&db));
            cases::<Postgres>(&mut bench, &db.pool);
            bench.block_on(db.finish());
        }
    }
    if bench.wants("mysql") {
        if let Some(db) = bench.block_on(MySql::fresh("bench_writes_mysql")) {
            bench.block_on(table(&db));
            cases::<MySql>(&mut bench, &db.pool);
            bench.block_on(db.finish());
        }
    }
    bench.finish();
}
