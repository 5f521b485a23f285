//! Issue 14: an update of one changed column through a tracked model against the same
//! `UPDATE posts SET title = ? WHERE id = ?` written by hand with sqlx 0.9; the same with a
//! version column; and, for the cost of tracking to models that do not use it, a plain
//! model's update (every column but the key) against the same statement by hand. Same
//! process, same pool, alternating rounds, median of each side; the ratio is hand-written
//! time / model time (1.00 = no overhead, higher is faster).
//!
//! `cargo bench -p model-tests --bench changes` (add `-- sqlite`, `-- postgres` or
//! `-- mysql` for one backend). SQLite runs twice: a file with WAL and `synchronous =
//! NORMAL` on one pooled connection, as in `writes.rs`, and in memory, as in `overhead.rs`,
//! where the per-write costs that every model write has (not only tracked ones) stand out;
//! PostgreSQL and MariaDB are the local servers.

#![allow(missing_docs)]

use std::future::Future;
use std::time::{Duration, Instant};

use model_core::{Model, TrackChanges, Tracked};
use model_tests::{Col, TestBackend, TestDb};
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

struct Timing {
    model: Duration,
    hand: Duration,
}

/// Runs `ops` operations of `model` and of `hand` alternately, `rounds` times, which side
/// goes first alternating too; the median time per operation of each. Each side gets the
/// operation's number, to alternate its values.
async fn measure(
    rounds: usize,
    ops: usize,
    mut model: impl AsyncFnMut(usize),
    mut hand: impl AsyncFnMut(usize),
) -> Timing {
    let (mut model_times, mut hand_times) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for side in [round % 2, 1 - round % 2] {
            let start = Instant::now();
            for op in 0..ops {
                if side == 0 {
                    model(op).await;
                } else {
                    hand(op).await;
                }
            }
            let per_op = start.elapsed() / u32::try_from(ops).unwrap();
            if side == 0 {
                model_times.push(per_op);
            } else {
                hand_times.push(per_op);
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

fn report(name: &str, case: &str, t: &Timing) {
    println!(
        "| {name} | {case} | {:.1} µs | {:.1} µs | {:.3} |",
        t.model.as_secs_f64() * 1e6,
        t.hand.as_secs_f64() * 1e6,
        t.hand.as_secs_f64() / t.model.as_secs_f64()
    );
}

async fn bench<DB: HandWritten>(name: &str, db: &TestDb<DB>, rounds: usize, ops: usize) {
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
    let pool = &db.pool;
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
    let hand_versioned_id = hand_versioned.id.unwrap();
    let mut plain = PlainPost::get(pool, model_id).await.unwrap();
    let mut hand_plain = PlainPost::get(pool, hand_id).await.unwrap();

    // Warm up connections and statement caches on both sides.
    for op in 0..50 {
        set_title(&mut post, op, pool).await;
        DB::set_title(pool, hand_id, TITLES[op % 2]).await;
    }

    let t = measure(
        rounds,
        ops,
        async |op| set_title(&mut post, op, pool).await,
        async |op| DB::set_title(pool, hand_id, TITLES[op % 2]).await,
    )
    .await;
    report(name, "tracked update of one changed column", &t);

    // In a caller's transaction: no transaction of the write's own, and on SQLite no wait
    // for the process's writer queue (`writers.rs`), which every write outside one has.
    let t = measure(
        rounds,
        ops / 10,
        async |_| {
            let mut tx = pool.begin().await.unwrap();
            for op in 0..10 {
                post.set(TITLES[op % 2]);
                post.update(&mut tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        },
        async |_| {
            let mut tx = pool.begin().await.unwrap();
            for op in 0..10 {
                DB::set_title_in(&mut tx, hand_id, TITLES[op % 2]).await;
            }
            tx.commit().await.unwrap();
        },
    )
    .await;
    report(name, "the same, 10 per caller's transaction", &t);

    let mut hand_version = 0;
    let t = measure(
        rounds,
        ops,
        async |op| set_title(&mut versioned, op, pool).await,
        async |op| {
            DB::set_title_versioned(pool, hand_versioned_id, TITLES[op % 2], hand_version).await;
            hand_version += 1;
        },
    )
    .await;
    report(name, "the same, with a version column", &t);

    let t = measure(
        rounds,
        ops,
        async |op| {
            TITLES[op % 2].clone_into(&mut plain.title);
            plain.update(pool).await.unwrap();
        },
        async |op| {
            TITLES[op % 2].clone_into(&mut hand_plain.title);
            DB::set_all(pool, &hand_plain).await;
        },
    )
    .await;
    report(name, "plain update (every column but the key)", &t);
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| {
        filter
            .as_deref()
            .is_none_or(|f| name.to_lowercase().contains(f))
    };
    println!("| backend | case | model | hand-written sqlx | ratio (hand / model) |");
    println!("|---|---|---|---|---|");
    let rounds = 9;
    if wanted("sqlite") {
        if let Some(db) = Sqlite::fresh_file("bench_changes_sqlite_file").await {
            bench::<Sqlite>("SQLite (file)", &db, rounds, 2_000).await;
            db.finish().await;
        }
        if let Some(db) = Sqlite::fresh("bench_changes_sqlite_memory").await {
            bench::<Sqlite>("SQLite (memory)", &db, rounds, 2_000).await;
            db.finish().await;
        }
    }
    if wanted("postgres") {
        if let Some(db) = Postgres::fresh("bench_changes_postgres").await {
            bench::<Postgres>("PostgreSQL", &db, rounds, 500).await;
            db.finish().await;
        }
    }
    if wanted("mysql") || wanted("mariadb") {
        if let Some(db) = MySql::fresh("bench_changes_mysql").await {
            bench::<MySql>("MariaDB", &db, rounds, 500).await;
            db.finish().await;
        }
    }
}
