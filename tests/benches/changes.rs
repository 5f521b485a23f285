//! Issue 14: an update of one changed column through a tracked model against the same
//! `UPDATE posts SET title = ? WHERE id = ?` written by hand with sqlx 0.9; the same with a
//! version column; and, for the cost of tracking to models that do not use it, a plain
//! model's update (every column but the key) against the same statement by hand. Same
//! process, same pool, criterion measuring each side (`changes/<backend>/<case>/model` and
//! `.../hand`), median of each side over criterion's samples; the ratio is hand-written
//! time / model time (1.00 = no overhead, higher is faster).
//!
//! `cargo bench -p model-tests --bench changes` (add `-- sqlite`, `-- postgres` or
//! `-- mysql` for one backend; criterion's options go after the `--` too, see
//! `side_by_side`). SQLite runs twice: a file with WAL and `synchronous = NORMAL`
//! (`sqlite-file`), as in `writes.rs`, and in memory (`sqlite-memory`), as in `overhead.rs`,
//! where the per-write costs that every model write has (not only tracked ones) stand out;
//! PostgreSQL and MariaDB are the local servers.

#![allow(missing_docs)]

mod side_by_side;

use std::future::Future;
use std::time::Instant;

use model_core::{Model, TrackChanges, Tracked};
use model_tests::{Col, TestBackend, TestDb};
use side_by_side::{Bench, Length, Timing};
use sqlx::{MySql, Pool, Postgres, Sqlite};

/// A change-tracking post: its update writes the title alone.
#[derive(Debug, Clone, Model)]
#[model(table = "posts", track_changes)]
struct Post {
    id: Option<i64>,
    title: String,
    content: String,
    views: i64,
}

/// The same table with a version column, checked and bumped by every update.
#[derive(Debug, Clone, Model)]
#[model(table = "versioned", track_changes)]
struct VersionedPost {
    id: Option<i64>,
    title: String,
    content: String,
    views: i64,
    #[model(version)]
    version: i64,
}

/// The same table, without tracking: every column but the key.
#[derive(Debug, Clone, Model)]
#[model(table = "posts")]
struct PlainPost {
    id: Option<i64>,
    title: String,
    content: String,
    views: i64,
}

/// The titles the rounds alternate between, so that every update changes something.
const TITLES: [&str; 2] = ["First title", "Second title"];

/// The hand-written equivalents, per backend (sqlx's `Executor` is per driver).
trait HandWritten: TestBackend {
    fn set_title(pool: &Pool<Self>, id: i64, title: &str) -> impl Future<Output = ()> + Send;
    fn set_title_versioned(
        pool: &Pool<Self>,
        id: i64,
        title: &str,
        version: i64,
    ) -> impl Future<Output = ()> + Send;
    fn set_all(pool: &Pool<Self>, post: &PlainPost) -> impl Future<Output = ()> + Send;
    fn set_title_in(
        tx: &mut sqlx::Transaction<'_, Self>,
        id: i64,
        title: &str,
    ) -> impl Future<Output = ()> + Send;
}

macro_rules! hand_written {
    ($db:ty, $title:literal, $versioned:literal, $all:literal) => {
        impl HandWritten for $db {
            async fn set_title(pool: &Pool<Self>, id: i64, title: &str) {
                let done = sqlx::query($title)
                    .bind(title)
                    .bind(id)
                    .execute(pool)
                    .await
                    .unwrap();
                assert_eq!(done.rows_affected(), 1);
            }

            async fn set_title_versioned(pool: &Pool<Self>, id: i64, title: &str, version: i64) {
                let done = sqlx::query($versioned)
                    .bind(title)
                    .bind(version + 1)
                    .bind(id)
                    .bind(version)
                    .execute(pool)
                    .await
                    .unwrap();
                assert_eq!(done.rows_affected(), 1);
            }

            async fn set_title_in(tx: &mut sqlx::Transaction<'_, Self>, id: i64, title: &str) {
                let done = sqlx::query($title)
                    .bind(title)
                    .bind(id)
                    .execute(&mut **tx)
                    .await
                    .unwrap();
                assert_eq!(done.rows_affected(), 1);
            }

            async fn set_all(pool: &Pool<Self>, post: &PlainPost) {
                let done = sqlx::query($all)
                    .bind(&post.title)
                    .bind(&post.content)
                    .bind(post.views)
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
    r#"UPDATE "posts" SET "title" = ? WHERE "id" = ?"#,
    r#"UPDATE "versioned" SET "title" = ?, "version" = ? WHERE "id" = ? AND "version" = ?"#,
    r#"UPDATE "posts" SET "title" = ?, "content" = ?, "views" = ? WHERE "id" = ?"#
);
hand_written!(
    Postgres,
    r#"UPDATE "posts" SET "title" = $1 WHERE "id" = $2"#,
    r#"UPDATE "versioned" SET "title" = $1, "version" = $2 WHERE "id" = $3 AND "version" = $4"#,
    r#"UPDATE "posts" SET "title" = $1, "content" = $2, "views" = $3 WHERE "id" = $4"#
);
hand_written!(
    MySql,
    "UPDATE `posts` SET `title` = ? WHERE `id` = ?",
    "UPDATE `versioned` SET `title` = ?, `version` = ? WHERE `id` = ? AND `version` = ?",
    "UPDATE `posts` SET `title` = ?, `content` = ?, `views` = ? WHERE `id` = ?"
);

fn report(bench: &mut Bench, backend: &str, case: &str, t: Option<Timing>) {
    let Some(t) = t else { return };
    bench.line(format!(
        "| {backend} | {case} | {:.1} µs | {:.1} µs | {:.3} |",
        t.model.as_secs_f64() * 1e6,
        t.hand.as_secs_f64() * 1e6,
        t.hand_over_model()
    ));
}

/// `key` is the backend part of the benchmarks' names (`sqlite-file`, `postgres`, ...),
/// `backend` its name in the table.
fn cases<DB: HandWritten>(bench: &mut Bench, key: &str, backend: &str, db: &TestDb<DB>) {
    let pool = &db.pool;
    let (mut post, mut versioned, hand_id, hand_versioned_id, mut plain, mut hand_plain) = bench
        .block_on(async {
            for table in ["posts", "versioned"] {
                let mut columns = vec![
                    ("id", Col::Serial),
                    ("title", Col::TextNotNull),
                    ("content", Col::TextNotNull),
                    ("views", Col::BigIntNotNull),
                ];
                if table == "versioned" {
                    columns.push(("version", Col::BigIntNotNull));
                }
                db.create_table(table, &columns).await;
            }
            let mut post = Post {
                id: None,
                title: TITLES[0].into(),
                content: "The body of the post, which no update here changes.".into(),
                views: 7,
            }
            .track();
            post.insert(pool).await.unwrap();
            let mut hand_post = post.clone();
            hand_post.id = None;
            hand_post.insert(pool).await.unwrap();
            let (model_id, hand_id) = (post.id.unwrap(), hand_post.id.unwrap());
            let mut versioned = VersionedPost {
                id: None,
                title: TITLES[0].into(),
                content: post.content.clone(),
                views: 7,
                version: 0,
            }
            .track();
            versioned.insert(pool).await.unwrap();
            let mut hand_versioned = versioned.clone();
            hand_versioned.id = None;
            hand_versioned.insert(pool).await.unwrap();
            let plain = PlainPost::get(pool, model_id).await.unwrap();
            let hand_plain = PlainPost::get(pool, hand_id).await.unwrap();
            (
                post,
                versioned,
                hand_id,
                hand_versioned.id.unwrap(),
                plain,
                hand_plain,
            )
        });

    // Every update of either side sets the other title than the one the row has, so that
    // every tracked update has a change to write; one counter per side and row.
    let (mut model_n, mut hand_n) = (0, 0);
    let t = bench.compare(
        &format!("changes/{key}/tracked"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                model_n += 1;
                set_title(&mut post, model_n, pool).await;
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                hand_n += 1;
                DB::set_title(pool, hand_id, TITLES[hand_n % 2]).await;
            }
            start.elapsed()
        },
    );
    report(bench, backend, "tracked update of one changed column", t);

    // In a caller's transaction: no transaction of the write's own, and on SQLite no wait
    // for the process's writer queue (`writers.rs`), which every write outside one has. One
    // iteration is one transaction of 10 updates.
    let t = bench.compare(
        &format!("changes/{key}/tracked_in_tx"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut tx = pool.begin().await.unwrap();
                for _ in 0..10 {
                    model_n += 1;
                    post.set(TITLES[model_n % 2]);
                    post.update(&mut tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut tx = pool.begin().await.unwrap();
                for _ in 0..10 {
                    hand_n += 1;
                    DB::set_title_in(&mut tx, hand_id, TITLES[hand_n % 2]).await;
                }
                tx.commit().await.unwrap();
            }
            start.elapsed()
        },
    );
    report(bench, backend, "the same, 10 per caller's transaction", t);

    let (mut model_n, mut hand_n, mut hand_version) = (0, 0, 0);
    let t = bench.compare(
        &format!("changes/{key}/versioned"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                model_n += 1;
                set_title(&mut versioned, model_n, pool).await;
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                hand_n += 1;
                DB::set_title_versioned(pool, hand_versioned_id, TITLES[hand_n % 2], hand_version)
                    .await;
                hand_version += 1;
            }
            start.elapsed()
        },
    );
    report(bench, backend, "the same, with a version column", t);

    let (mut model_n, mut hand_n) = (0, 0);
    let t = bench.compare(
        &format!("changes/{key}/plain"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                model_n += 1;
                TITLES[model_n % 2].clone_into(&mut plain.title);
                plain.update(pool).await.unwrap();
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                hand_n += 1;
                TITLES[hand_n % 2].clone_into(&mut hand_plain.title);
                DB::set_all(pool, &hand_plain).await;
            }
            start.elapsed()
        },
    );
    report(bench, backend, "plain update (every column but the key)", t);
}

/// One tracked update: the title alternates, so every update changes it.
async fn set_title<M>(post: &mut Tracked<M>, op: usize, pool: &Pool<impl HandWritten>)
where
    M: TrackChanges + Clone + Titled,
{
    post.set(TITLES[op % 2]);
    post.update(pool).await.unwrap();
}

trait Titled {
    fn set(&mut self, title: &str);
}

impl Titled for Post {
    fn set(&mut self, title: &str) {
        title.clone_into(&mut self.title);
    }
}

impl Titled for VersionedPost {
    fn set(&mut self, title: &str) {
        title.clone_into(&mut self.title);
    }
}

fn main() {
    let mut bench = Bench::new(
        "| backend | case | model | hand-written sqlx | ratio (hand / model) |\n|---|---|---|---|---|",
    );
    if bench.wants("sqlite") {
        if let Some(db) = bench.block_on(Sqlite::fresh_file("bench_changes_sqlite_file")) {
            cases::<Sqlite>(&mut bench, "sqlite-file", "SQLite (file)", &db);
            bench.block_on(db.finish());
        }
        if let Some(db) = bench.block_on(Sqlite::fresh("bench_changes_sqlite_memory")) {
            cases::<Sqlite>(&mut bench, "sqlite-memory", "SQLite (memory)", &db);
            bench.block_on(db.finish());
        }
    }
    if bench.wants("postgres") {
        if let Some(db) = bench.block_on(Postgres::fresh("bench_changes_postgres")) {
            cases::<Postgres>(&mut bench, "postgres", "PostgreSQL", &db);
            bench.block_on(db.finish());
        }
    }
    if bench.wants("mysql") {
        if let Some(db) = bench.block_on(MySql::fresh("bench_changes_mysql")) {
            cases::<MySql>(&mut bench, "mysql", "MariaDB", &db);
            bench.block_on(db.finish());
        }
    }
    bench.finish();
}
