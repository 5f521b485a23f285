//! Queries and set-based writes against the same work by hand with sqlx, same process, same
//! pool, alternating rounds, median of each side:
//!
//! - a filtered read of 1,000 rows (`Post::filter(..).all`) against `fetch_all` of the same
//!   SQL and a hand-written row decode;
//! - a set-based update of 10,000 rows of a model without listeners (one `UPDATE ... WHERE`)
//!   against the same statement;
//! - the same update of a model with a `before_update` listener, which runs per row: read
//!   the rows locked, apply, write each, in one transaction. The hand-written side does the
//!   same: `SELECT ... FOR UPDATE`, the listener's work, one `UPDATE` per row, `COMMIT`.
//!
//! `cargo bench -p model-tests --bench queries` (add `-- sqlite`, `-- postgres` or
//! `-- mysql` for one backend). SQLite is a file database with WAL (the harness's
//! `fresh_file`); PostgreSQL and MariaDB are the local servers. Ratio is hand-written time
//! over model-core time: 1.00 means as fast, 0.90 means model-core takes 11% longer.

#![allow(missing_docs)]

use std::future::Future;
use std::time::{Duration, Instant};

use model_core::{Dialect, Model};
use model_tests::{Col, TestBackend, TestDb};
use sqlx::{MySql, Pool, Postgres, Sqlite};

#[derive(Debug, Clone, Model)]
#[model(table = "posts")]
struct Post {
    id: Option<i64>,
    title: String,
    content: String,
    views: i64,
    published: bool,
}

/// The same table as a model with a per-row listener.
#[derive(Debug, Clone, Model)]
#[model(table = "posts")]
#[listens_for(before_update, count_view)]
struct Listened {
    id: Option<i64>,
    title: String,
    content: String,
    views: i64,
    published: bool,
}

fn count_view(post: &mut Listened) {
    post.views += 1;
}

const ROWS: i64 = 10_000;

/// The hand-written equivalents, per backend (sqlx's `Executor` is per driver).
trait HandWritten: TestBackend {
    fn hand_read(pool: &Pool<Self>, min_views: i64) -> impl Future<Output = Vec<Post>> + Send;
    fn hand_update(pool: &Pool<Self>, views: i64) -> impl Future<Output = u64> + Send;
    fn hand_update_per_row(pool: &Pool<Self>, views: i64) -> impl Future<Output = u64> + Send;
}

macro_rules! hand_written {
    ($db:ty, read: $read:literal, update: $update:literal, locked: $locked:literal, by_key: $by_key:literal, begin: $begin:literal $(,)?) => {
        impl HandWritten for $db {
            async fn hand_read(pool: &Pool<Self>, min_views: i64) -> Vec<Post> {
                use sqlx::Row;
                let rows = sqlx::query($read)
                    .bind(true)
                    .bind(min_views)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                rows.iter()
                    .map(|row| Post {
                        id: row.try_get(0).unwrap(),
                        title: row.try_get(1).unwrap(),
                        content: row.try_get(2).unwrap(),
                        views: row.try_get(3).unwrap(),
                        published: row.try_get(4).unwrap(),
                    })
                    .collect()
            }

            async fn hand_update(pool: &Pool<Self>, views: i64) -> u64 {
                sqlx::query($update)
                    .bind(views)
                    .bind(0_i64)
                    .execute(pool)
                    .await
                    .unwrap()
                    .rows_affected()
            }

            async fn hand_update_per_row(pool: &Pool<Self>, views: i64) -> u64 {
                use sqlx::{Connection, Row};
                let mut conn = pool.acquire().await.unwrap();
                let mut tx = conn
                    .begin_with(sqlx::SqlStr::from_static($begin))
                    .await
                    .unwrap();
                let rows = sqlx::query($locked)
                    .bind(0_i64)
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                let mut posts: Vec<Listened> = rows
                    .iter()
                    .map(|row| Listened {
                        id: row.try_get(0).unwrap(),
                        title: row.try_get(1).unwrap(),
                        content: row.try_get(2).unwrap(),
                        views: row.try_get(3).unwrap(),
                        published: row.try_get(4).unwrap(),
                    })
                    .collect();
                for post in &mut posts {
                    post.views = views;
                    count_view(post);
                    sqlx::query($by_key)
                        .bind(post.id)
                        .bind(&post.title)
                        .bind(&post.content)
                        .bind(post.views)
                        .bind(post.published)
                        .bind(post.id)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                }
                tx.commit().await.unwrap();
                posts.len() as u64
            }
        }
    };
}

hand_written!(
    Sqlite,
    read: r#"SELECT "id", "title", "content", "views", "published" FROM "posts" WHERE ("published" = ?) AND ("views" >= ?) ORDER BY "id" ASC"#,
    update: r#"UPDATE "posts" SET "views" = ? WHERE "views" >= ?"#,
    locked: r#"SELECT "id", "title", "content", "views", "published" FROM "posts" WHERE "views" >= ? ORDER BY "id" ASC"#,
    by_key: r#"UPDATE "posts" SET "id" = ?, "title" = ?, "content" = ?, "views" = ?, "published" = ? WHERE "id" = ?"#,
    begin: "BEGIN IMMEDIATE",
);
hand_written!(
    Postgres,
    read: r#"SELECT "id", "title", "content", "views", "published" FROM "posts" WHERE ("published" = $1) AND ("views" >= $2) ORDER BY "id" ASC"#,
    update: r#"UPDATE "posts" SET "views" = $1 WHERE "views" >= $2"#,
    locked: r#"SELECT "id", "title", "content", "views", "published" FROM "posts" WHERE "views" >= $1 ORDER BY "id" ASC FOR UPDATE"#,
    by_key: r#"UPDATE "posts" SET "id" = $1, "title" = $2, "content" = $3, "views" = $4, "published" = $5 WHERE "id" = $6"#,
    begin: "BEGIN",
);
hand_written!(
    MySql,
    read: "SELECT `id`, `title`, `content`, `views`, `published` FROM `posts` WHERE (`published` = ?) AND (`views` >= ?) ORDER BY `id` ASC",
    update: "UPDATE `posts` SET `views` = ? WHERE `views` >= ?",
    locked: "SELECT `id`, `title`, `content`, `views`, `published` FROM `posts` WHERE `views` >= ? ORDER BY `id` ASC FOR UPDATE",
    by_key: "UPDATE `posts` SET `id` = ?, `title` = ?, `content` = ?, `views` = ?, `published` = ? WHERE `id` = ?",
    begin: "BEGIN",
);

/// Median time per call of each side.
struct Timing {
    model: Duration,
    hand: Duration,
}

impl Timing {
    fn ratio(&self) -> f64 {
        self.hand.as_secs_f64() / self.model.as_secs_f64()
    }
}

async fn measure<M, MF, H, HF>(rounds: usize, calls: u32, model: M, hand: H) -> Timing
where
    M: Fn(u32) -> MF,
    MF: Future<Output = ()>,
    H: Fn(u32) -> HF,
    HF: Future<Output = ()>,
{
    let mut model_times = Vec::with_capacity(rounds);
    let mut hand_times = Vec::with_capacity(rounds);
    // Alternate the two sides, and which goes first, so that drift (WAL growth, autovacuum,
    // InnoDB purging the previous round's undo, the other work on the machine) hits both.
    for round in 0..rounds {
        let base = round as u32 * calls;
        for side in [round % 2, 1 - round % 2] {
            let start = Instant::now();
            for call in 0..calls {
                if side == 0 {
                    model(base + call).await;
                } else {
                    hand(base + call).await;
                }
            }
            let per_call = start.elapsed() / calls;
            if side == 0 {
                model_times.push(per_call);
            } else {
                hand_times.push(per_call);
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

async fn bench<DB: HandWritten>(filter: &Option<String>) {
    let name = DB::DIALECT;
    if filter
        .as_deref()
        .is_some_and(|f| !format!("{name:?}").to_lowercase().contains(f))
    {
        return;
    }
    let Some(db): Option<TestDb<DB>> = DB::fresh_file(&format!("bench_queries_{name:?}")).await
    else {
        return;
    };
    db.create_table(
        "posts",
        &[
            ("id", Col::Serial),
            ("title", Col::TextNotNull),
            ("content", Col::TextNotNull),
            ("views", Col::BigIntNotNull),
            ("published", Col::Bool),
        ],
    )
    .await;
    let pool = &db.pool;
    // Every other row published, views 0..ROWS: `published AND views >= ROWS - 2000` is
    // 1,000 rows.
    let mut posts: Vec<Post> = (0..ROWS)
        .map(|n| Post {
            id: None,
            title: format!("Post number {n}"),
            content: "Some content of a realistic length for a blog post teaser.".into(),
            views: n,
            published: n % 2 == 0,
        })
        .collect();
    Post::insert_all(&mut posts, pool).await.unwrap();
    let min_views = ROWS - 2000;

    let read = measure(
        9,
        20,
        |_| async {
            let posts = Post::filter(|p| p.published.eq(true).and(p.views.ge(min_views)))
                .all(pool)
                .await
                .unwrap();
            assert_eq!(posts.len(), 1000);
        },
        |_| async {
            assert_eq!(DB::hand_read(pool, min_views).await.len(), 1000);
        },
    )
    .await;
    // The updates run after the read, and every row keeps matching `views >= 0`.
    let update = measure(
        9,
        3,
        |n| async move {
            let n = i64::from(n);
            let updated = Post::filter(|p| p.views.ge(0))
                .update(|p| p.views.set(n), pool)
                .await
                .unwrap();
            assert_eq!(updated, ROWS as u64);
        },
        |n| async move {
            assert_eq!(DB::hand_update(pool, i64::from(n)).await, ROWS as u64);
        },
    )
    .await;
    let per_row = measure(
        5,
        1,
        |n| async move {
            let n = i64::from(n);
            let updated = Listened::filter(|p| p.views.ge(0))
                .update(|p| p.views.set(n), pool)
                .await
                .unwrap();
            assert_eq!(updated, ROWS as u64);
        },
        |n| async move {
            assert_eq!(
                DB::hand_update_per_row(pool, i64::from(n)).await,
                ROWS as u64
            );
        },
    )
    .await;
    let backend = match name {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
        Dialect::MySql => "MariaDB",
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (case, t) in [
        ("filtered read, 1,000 rows", &read),
        ("update 10,000 rows, no listeners", &update),
        ("update 10,000 rows, before_update per row", &per_row),
    ] {
        println!(
            "| {backend} | {case} | {:.2} ms | {:.2} ms | {:.3} |",
            ms(t.model),
            ms(t.hand),
            t.ratio()
        );
    }
    println!(
        "| {backend} | per-row path, cost per row | {:.1} µs | {:.1} µs | (one statement: {:.2} µs per row) |",
        per_row.model.as_secs_f64() * 1e6 / ROWS as f64,
        per_row.hand.as_secs_f64() * 1e6 / ROWS as f64,
        update.model.as_secs_f64() * 1e6 / ROWS as f64,
    );
    db.finish().await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; any other argument filters backends.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    println!("| backend | case | model-core | hand-written sqlx | ratio (hand / model) |");
    println!("|---|---|---|---|---|");
    bench::<Sqlite>(&filter).await;
    bench::<Postgres>(&filter).await;
    bench::<MySql>(&filter).await;
}
