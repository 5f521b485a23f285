//! Queries and set-based writes against the same work by hand with sqlx, same process, same
//! pool, criterion measuring each side (`queries/<backend>/<case>/model` and `.../hand`),
//! median of each side over criterion's samples:
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
//! `-- mysql` for one backend; criterion's options go after the `--` too, see
//! `side_by_side`). SQLite is a file database with WAL (the harness's `fresh_file`);
//! PostgreSQL and MariaDB are the local servers. Ratio is hand-written time over model-core
//! time: 1.00 means as fast, 0.90 means model-core takes 11% longer.

#![allow(missing_docs)]

mod side_by_side;

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

use model_core::Model;
use model_tests::{Col, TestBackend, TestDb};
use side_by_side::{backend, Bench, Length};
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

fn cases<DB: HandWritten>(bench: &mut Bench) {
    let (key, backend) = backend(DB::DIALECT);
    if !bench.wants(key) {
        return;
    }
    let Some(db): Option<TestDb<DB>> =
        bench.block_on(DB::fresh_file(&format!("bench_queries_{:?}", DB::DIALECT)))
    else {
        return;
    };
    let pool = &db.pool;
    bench.block_on(async {
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
    });
    let min_views = ROWS - 2000;

    let read = bench.compare(
        &format!("queries/{key}/filtered_read"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let posts = Post::filter(|p| p.published.eq(true).and(p.views.ge(min_views)))
                    .all(pool)
                    .await
                    .unwrap();
                assert_eq!(posts.len(), 1000);
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                assert_eq!(DB::hand_read(pool, min_views).await.len(), 1000);
            }
            start.elapsed()
        },
    );
    // The updates run after the read; every row keeps matching `views >= 0`, and every
    // update sets a value the rows do not have yet (the next number of `views`), so that
    // every row changes (MySQL counts only changed rows as affected).
    let views = Cell::new(ROWS);
    let next = || {
        views.set(views.get() + 2);
        views.get()
    };
    let update = bench.compare(
        &format!("queries/{key}/update"),
        Length::Long,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let n = next();
                let updated = Post::filter(|p| p.views.ge(0))
                    .update(|p| p.views.set(n), pool)
                    .await
                    .unwrap();
                assert_eq!(updated, ROWS as u64);
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                assert_eq!(DB::hand_update(pool, next()).await, ROWS as u64);
            }
            start.elapsed()
        },
    );
    let per_row = bench.compare(
        &format!("queries/{key}/update_per_row"),
        Length::Long,
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let n = next();
                let updated = Listened::filter(|p| p.views.ge(0))
                    .update(|p| p.views.set(n), pool)
                    .await
                    .unwrap();
                assert_eq!(updated, ROWS as u64);
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                assert_eq!(DB::hand_update_per_row(pool, next()).await, ROWS as u64);
            }
            start.elapsed()
        },
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (case, t) in [
        ("filtered read, 1,000 rows", read),
        ("update 10,000 rows, no listeners", update),
        ("update 10,000 rows, before_update per row", per_row),
    ] {
        if let Some(t) = t {
            bench.line(format!(
                "| {backend} | {case} | {:.2} ms | {:.2} ms | {:.3} |",
                ms(t.model),
                ms(t.hand),
                t.hand_over_model()
            ));
        }
    }
    if let (Some(per_row), Some(update)) = (per_row, update) {
        bench.line(format!(
            "| {backend} | per-row path, cost per row | {:.1} µs | {:.1} µs | (one statement: {:.2} µs per row) |",
            per_row.model.as_secs_f64() * 1e6 / ROWS as f64,
            per_row.hand.as_secs_f64() * 1e6 / ROWS as f64,
            update.model.as_secs_f64() * 1e6 / ROWS as f64,
        ));
    }
    bench.block_on(db.finish());
}

fn main() {
    let mut bench = Bench::new(
        "| backend | case | model-core | hand-written sqlx | ratio (hand / model) |\n|---|---|---|---|---|",
    );
    cases::<Sqlite>(&mut bench);
    cases::<Postgres>(&mut bench);
    cases::<MySql>(&mut bench);
    bench.finish();
}
