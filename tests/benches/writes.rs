//! Writes through the model against the same writes by hand with sqlx 0.9, same process, same
//! pool, alternating rounds, median of each side: one row per transaction, rows in a
//! caller's transaction, `insert_all` against `QueryBuilder::push_values`, `delete_all`
//! against a chunked `DELETE ... WHERE id IN (...)`.
//!
//! `cargo bench -p model-tests --bench writes` (add `-- sqlite`, `-- postgres` or `-- mysql`
//! for one backend). SQLite is a file with WAL and `synchronous = NORMAL` on one pooled
//! connection; PostgreSQL and MariaDB are the local servers. Results are in BENCHMARKS.md.

#![allow(missing_docs)]

use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use model_core::{Dialect, Model};
use model_tests::{Col, TestBackend, TestDb};
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

struct Timing {
    model: Duration,
    hand: Duration,
}

/// Runs `model` and `hand` alternately `rounds` times; the median of each.
async fn measure<M, MF, H, HF>(rounds: usize, mut model: M, mut hand: H) -> Timing
where
    M: FnMut() -> MF,
    MF: Future<Output = ()>,
    H: FnMut() -> HF,
    HF: Future<Output = ()>,
{
    let (mut model_times, mut hand_times) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which side goes first, so that drift hits both alike.
        for side in [round % 2, 1 - round % 2] {
            let start = Instant::now();
            if side == 0 {
                model().await;
                model_times.push(start.elapsed());
            } else {
                hand().await;
                hand_times.push(start.elapsed());
            }
        }
    }
    model_times.sort();
    hand_times.sort();
    Timing {
        model: model_times[rounds / 2],
        hand: hand_times[rounds / 2],
    }
}

fn report(name: &str, case: &str, rows: usize, t: &Timing) {
    let per_s = |d: Duration| rows as f64 / d.as_secs_f64();
    println!(
        "| {name} | {case} | {:.0} rows/s | {:.0} rows/s | {:.2} |",
        per_s(t.model),
        per_s(t.hand),
        t.hand.as_secs_f64() / t.model.as_secs_f64()
    );
}

async fn bench<DB: HandWritten>(
    name: &str,
    pool: &Pool<DB>,
    rounds: usize,
    per_row: usize,
    batch: usize,
) where
    for<'c> &'c mut DB::Connection: sqlx::Acquire<'c, Database = DB>,
{
    // Warm up statement caches on both sides.
    for _ in 0..50 {
        new_post().insert(pool).await.unwrap();
        DB::hand_insert(pool, &mut new_post()).await;
    }
    let t = measure(
        rounds,
        || async {
            for _ in 0..per_row {
                new_post().insert(pool).await.unwrap();
            }
        },
        || async {
            for _ in 0..per_row {
                DB::hand_insert(pool, &mut new_post()).await;
            }
        },
    )
    .await;
    report(name, "insert per row, commit each", per_row, &t);

    let rows_in_tx = per_row * 10;
    let t = measure(
        rounds,
        || async {
            let mut tx = pool.begin().await.unwrap();
            for _ in 0..rows_in_tx {
                new_post().insert(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        },
        || async {
            let mut posts: Vec<Post> = (0..rows_in_tx).map(|_| new_post()).collect();
            DB::hand_insert_in_tx(pool, &mut posts).await;
        },
    )
    .await;
    report(
        name,
        "insert per row in the caller's transaction",
        rows_in_tx,
        &t,
    );

    // The inserted rows of each round, for the delete rounds.
    let inserted_model = std::cell::RefCell::new(Vec::new());
    let inserted_hand = std::cell::RefCell::new(Vec::new());
    let t = measure(
        rounds,
        || {
            let mut posts: Vec<Post> = (0..batch).map(|_| new_post()).collect();
            let inserted = &inserted_model;
            async move {
                Post::insert_all(&mut posts, pool).await.unwrap();
                inserted.borrow_mut().push(posts);
            }
        },
        || {
            let mut posts: Vec<Post> = (0..batch).map(|_| new_post()).collect();
            let inserted = &inserted_hand;
            async move {
                DB::hand_insert_all(pool, &mut posts).await;
                inserted.borrow_mut().push(posts);
            }
        },
    )
    .await;
    report(name, "insert_all vs push_values", batch, &t);

    let t = measure(
        rounds,
        || {
            let posts = inserted_model.borrow_mut().pop().unwrap();
            async move { Post::delete_all(&posts, pool).await.unwrap() }
        },
        || {
            let ids: Vec<i64> = inserted_hand
                .borrow_mut()
                .pop()
                .unwrap()
                .iter()
                .map(|p| p.id.unwrap())
                .collect();
            async move { DB::hand_delete_all(pool, &ids).await }
        },
    )
    .await;
    report(name, "delete_all vs DELETE ... IN", batch, &t);
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| {
        filter
            .as_deref()
            .is_none_or(|f| name.to_lowercase().contains(f))
    };
    let rounds = 5;
    let batch = 50_000;
    println!("| backend | case | model-core | hand-written sqlx | ratio |");
    println!("|---|---|---|---|---|");
    if wanted("sqlite") {
        let dir = std::env::temp_dir().join(format!("model-bench-writes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options =
            SqliteConnectOptions::from_str(&format!("sqlite://{}/bench.db", dir.display()))
                .unwrap()
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, content TEXT NOT NULL, created_at TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        bench::<Sqlite>("SQLite", &pool, rounds, 2_000, batch).await;
        pool.close().await;
        std::fs::remove_dir_all(&dir).ok();
    }
    if wanted("postgres") {
        if let Some(db) = Postgres::fresh("bench_writes_postgres").await {
            table(&db).await;
            bench::<Postgres>("PostgreSQL", &db.pool, rounds, 300, batch).await;
            db.finish().await;
        }
    }
    if wanted("mysql") || wanted("mariadb") {
        if let Some(db) = MySql::fresh("bench_writes_mysql").await {
            table(&db).await;
            bench::<MySql>("MariaDB", &db.pool, rounds, 300, batch).await;
            db.finish().await;
        }
    }
}
