//! Related rows (issue 25), criterion measuring each side (`relationships/<backend>/<case>/
//! model` and `.../hand`), median of each side over criterion's samples:
//!
//! - eager loading: 1,000 posts and their 10 comments each (`Post::all`, then
//!   `Post::load_children`: two queries, comments grouped per post) against the two same
//!   queries by hand with sqlx (`SELECT` of the posts, `SELECT ... WHERE post_id IN (..)` of
//!   the comments, decoded by hand and grouped through a map);
//! - a cascade: deleting one shelf with 20,000 items that have delete listeners (the items
//!   read, their listeners run, deleted in one transaction before the shelf), against
//!   `Item::delete_all` of the same rows and the shelf's `delete`: what the cascade adds per
//!   row is reading the rows it is not handed.
//!
//! `cargo bench -p model-tests --bench relationships` (`-- sqlite`, `-- postgres` or `--
//! mysql` for one backend). Ratio is the second side's time over model-core's (the cascade):
//! 1.00 means as fast.

#![allow(missing_docs)]

mod side_by_side;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use model_core::schema::Schema;
use model_core::{Backend, Conn, Model};
use model_tests::{TestBackend, TestDb};
use side_by_side::{backend, Bench, Length};
use sqlx::{MySql, Postgres, Sqlite};

#[derive(Debug, Clone, Model)]
#[model(table = "posts")]
struct Post {
    id: Option<i64>,
    title: String,
    published: bool,
}

#[derive(Debug, Clone, Model)]
#[model(table = "comments")]
struct Comment {
    id: Option<i64>,
    #[model(references = Post, on_delete = "cascade", index)]
    post_id: i64,
    text: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "shelves")]
struct Shelf {
    id: Option<i64>,
}

#[derive(Debug, Clone, Model)]
#[model(table = "items")]
#[listens_for(before_delete, deleting)]
#[listens_for(after_delete, deleted)]
struct Item {
    id: Option<i64>,
    #[model(references = Shelf, on_delete = "cascade", index)]
    shelf_id: i64,
    label: String,
}

static DELETED: AtomicUsize = AtomicUsize::new(0);

fn deleting(item: &Item) {
    std::hint::black_box(item);
}

fn deleted(_: &Item) {
    DELETED.fetch_add(1, Ordering::Relaxed);
}

const POSTS: usize = 1_000;
const COMMENTS: usize = 10;
const ITEMS: usize = 20_000;

/// The two queries of eager loading, by hand.
async fn hand_eager<DB: Backend>(conn: &mut DB::Connection) -> (Vec<Post>, Vec<Vec<Comment>>) {
    let conn = Conn::<DB>::from_mut(conn);
    let q = |name: &str| DB::DIALECT.quote(name);
    let text = format!(
        "SELECT {}, {}, {} FROM {} ORDER BY {}",
        q("id"),
        q("title"),
        q("published"),
        q("posts"),
        q("id")
    );
    let rows = conn
        .fetch_all(sqlx::query(sqlx::AssertSqlSafe(text)))
        .await
        .unwrap();
    let posts: Vec<Post> = rows
        .iter()
        .map(|row| Post {
            id: DB::get(row, 0).unwrap(),
            title: DB::get(row, 1).unwrap(),
            published: DB::get(row, 2).unwrap(),
        })
        .collect();
    let placeholders: Vec<String> = (1..=posts.len())
        .map(|n| DB::DIALECT.placeholder(n))
        .collect();
    let text = format!(
        "SELECT {}, {}, {} FROM {} WHERE {} IN ({}) ORDER BY {}",
        q("id"),
        q("post_id"),
        q("text"),
        q("comments"),
        q("post_id"),
        placeholders.join(", "),
        q("id")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
    for post in &posts {
        query = DB::bind(query, &post.id.unwrap());
    }
    let rows = conn.fetch_all(query).await.unwrap();
    let place: HashMap<i64, usize> = posts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.unwrap(), i))
        .collect();
    let mut groups: Vec<Vec<Comment>> = posts.iter().map(|_| Vec::new()).collect();
    for row in &rows {
        let comment = Comment {
            id: DB::get(row, 0).unwrap(),
            post_id: DB::get(row, 1).unwrap(),
            text: DB::get(row, 2).unwrap(),
        };
        groups[place[&comment.post_id]].push(comment);
    }
    (posts, groups)
}

/// A shelf with its items, inserted (untimed).
async fn shelf<DB: TestBackend>(db: &TestDb<DB>) -> (Shelf, Vec<Item>) {
    let mut shelf = Shelf { id: None };
    shelf.insert(&db.pool).await.unwrap();
    let mut items: Vec<Item> = (0..ITEMS)
        .map(|n| Item {
            id: None,
            shelf_id: shelf.id.unwrap(),
            label: format!("item {n}"),
        })
        .collect();
    Item::insert_all(&mut items, &db.pool).await.unwrap();
    (shelf, items)
}

fn cases<DB: TestBackend>(bench: &mut Bench) {
    let (key, backend) = backend(DB::DIALECT);
    if !bench.wants(key) {
        return;
    }
    let Some(db): Option<TestDb<DB>> = bench.block_on(DB::fresh_file(&format!(
        "bench_relationships_{:?}",
        DB::DIALECT
    ))) else {
        return;
    };
    let pool = &db.pool;
    bench.block_on(async {
        Schema::new()
            .model::<Post>()
            .model::<Comment>()
            .model::<Shelf>()
            .model::<Item>()
            .create_all(pool)
            .await
            .unwrap();
        let mut posts: Vec<Post> = (0..POSTS)
            .map(|n| Post {
                id: None,
                title: format!("Post number {n}"),
                published: n % 2 == 0,
            })
            .collect();
        Post::insert_all(&mut posts, pool).await.unwrap();
        let mut comments: Vec<Comment> = posts
            .iter()
            .flat_map(|post| {
                (0..COMMENTS).map(|n| Comment {
                    id: None,
                    post_id: post.id.unwrap(),
                    text: format!("A comment of a realistic length, number {n}."),
                })
            })
            .collect();
        Comment::insert_all(&mut comments, pool).await.unwrap();
    });

    let eager = bench.compare(
        &format!("relationships/{key}/eager_load"),
        Length::Short,
        async |iters| {
            let mut conn = pool.acquire().await.unwrap();
            let start = Instant::now();
            for _ in 0..iters {
                let posts = Post::all(&mut conn).await.unwrap();
                let comments: Vec<Vec<Comment>> =
                    Post::load_children(&posts, &mut conn).await.unwrap();
                assert_eq!(comments.len(), POSTS);
                assert_eq!(comments[POSTS - 1].len(), COMMENTS);
            }
            start.elapsed()
        },
        async |iters| {
            let mut conn = pool.acquire().await.unwrap();
            let start = Instant::now();
            for _ in 0..iters {
                let (posts, comments) = hand_eager::<DB>(&mut conn).await;
                assert_eq!(posts.len(), POSTS);
                assert_eq!(comments[POSTS - 1].len(), COMMENTS);
            }
            start.elapsed()
        },
    );

    let cascade = bench.compare(
        &format!("relationships/{key}/cascade_delete"),
        Length::Long,
        async |iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (shelf, _) = shelf(&db).await;
                let before = DELETED.load(Ordering::Relaxed);
                let start = Instant::now();
                shelf.delete(pool).await.unwrap();
                total += start.elapsed();
                assert_eq!(DELETED.load(Ordering::Relaxed) - before, ITEMS);
            }
            total
        },
        async |iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (shelf, items) = shelf(&db).await;
                let start = Instant::now();
                Item::delete_all(&items, pool).await.unwrap();
                shelf.delete(pool).await.unwrap();
                total += start.elapsed();
            }
            total
        },
    );

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    if let Some(t) = eager {
        bench.line(format!(
            "| {backend} | 1,000 posts with 10 comments each: `all` + `load_children` against two queries by hand | {:.2} ms | {:.2} ms | {:.3} |",
            ms(t.model),
            ms(t.hand),
            t.hand_over_model()
        ));
    }
    if let Some(t) = cascade {
        bench.line(format!(
            "| {backend} | one shelf's delete cascading to 20,000 items with listeners, against `delete_all` of the items and the shelf's `delete` | {:.2} ms ({:.2} µs a row) | {:.2} ms ({:.2} µs a row) | {:.3} |",
            ms(t.model),
            t.model.as_secs_f64() * 1e6 / ITEMS as f64,
            ms(t.hand),
            t.hand.as_secs_f64() * 1e6 / ITEMS as f64,
            t.hand_over_model()
        ));
    }
    bench.block_on(db.finish());
}

fn main() {
    let mut bench = Bench::new(
        "| backend | case | model-core | by hand (or `delete_all`) | ratio (other / model) |\n|---|---|---|---|---|",
    );
    cases::<Sqlite>(&mut bench);
    cases::<Postgres>(&mut bench);
    cases::<MySql>(&mut bench);
    bench.finish();
}
