//! Per-row writes (issue 28) in paired rounds: each round runs the model-core side and the
//! hand-written sqlx side back to back on the same pool (which one goes first alternates),
//! and the figure is the median, over the rounds, of each round's ratio hand-written time /
//! model time (higher is better, 1.00 = as fast), with its quartiles.
//!
//! Why not criterion alone (`writes`): criterion measures all of one side's samples, then the
//! other's, seconds apart. On the 2-core machine a SQLite row costs about 15 µs while the
//! runtime's thread and sqlx's worker thread of the connection share a CPU and about 50 µs
//! when they do not (each statement hands over between them twice), and which one holds can
//! change between the two blocks: the same code's ratio moved from 0.3 to 3 between runs.
//! Two rounds a few milliseconds apart nearly always meet the same regime.
//!
//! `cargo bench -p model-tests --bench per_row` (`-- sqlite`, `-- postgres` or `-- mysql` for
//! one backend; `-- --rounds 60` for more rounds of 1,000 rows). Without `--bench` (`cargo
//! test --benches`) each case runs two short rounds, unmeasured.

#![allow(missing_docs)]

use std::future::Future;
use std::str::FromStr;
use std::time::Instant;

use chrono::{DateTime, Utc};
use model_core::{transaction_without_savepoints, Dialect, Error, Model};
use model_tests::{Col, TestBackend, TestDb};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{MySql, Pool, Postgres, Row as _, Sqlite};

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

/// One row inserted by hand with sqlx, as `writes` does: the listener called by hand, the
/// same binds, the key read back.
trait Hand: TestBackend {
    fn hand_insert<'e, E>(conn: E, post: &'e mut Post) -> impl Future<Output = ()> + Send + 'e
    where
        E: sqlx::Executor<'e, Database = Self> + 'e;
}

impl Hand for Sqlite {
    async fn hand_insert<'e, E>(conn: E, post: &'e mut Post)
    where
        E: sqlx::Executor<'e, Database = Self> + 'e,
    {
        set_created_at(post);
        let sql = "INSERT INTO posts (title, content, created_at) VALUES (?, ?, ?) RETURNING id";
        let rows = sqlx::query(sql)
            .bind(&post.title)
            .bind(&post.content)
            .bind(post.created_at)
            .fetch_all(conn)
            .await
            .unwrap();
        post.id = Some(rows[0].get(0));
    }
}

impl Hand for Postgres {
    async fn hand_insert<'e, E>(conn: E, post: &'e mut Post)
    where
        E: sqlx::Executor<'e, Database = Self> + 'e,
    {
        set_created_at(post);
        let sql = "INSERT INTO posts (title, content, created_at) VALUES ($1, $2, $3) RETURNING id";
        let rows = sqlx::query(sql)
            .bind(&post.title)
            .bind(&post.content)
            .bind(post.created_at)
            .fetch_all(conn)
            .await
            .unwrap();
        post.id = Some(rows[0].get(0));
    }
}

impl Hand for MySql {
    async fn hand_insert<'e, E>(conn: E, post: &'e mut Post)
    where
        E: sqlx::Executor<'e, Database = Self> + 'e,
    {
        set_created_at(post);
        let sql = "INSERT INTO posts (title, content, created_at) VALUES (?, ?, ?)";
        let done = sqlx::query(sql)
            .bind(&post.title)
            .bind(&post.content)
            .bind(post.created_at)
            .execute(conn)
            .await
            .unwrap();
        post.id = Some(done.last_insert_id() as i64);
    }
}

/// What a `&mut` connection of `DB` must be for both sides: a model's `db` and sqlx's
/// executor.
trait Executes<'c, DB: sqlx::Database>:
    sqlx::Acquire<'c, Database = DB> + sqlx::Executor<'c, Database = DB>
{
}

impl<'c, DB: sqlx::Database, C> Executes<'c, DB> for C where
    C: sqlx::Acquire<'c, Database = DB> + sqlx::Executor<'c, Database = DB>
{
}

/// The per-row cases.
#[derive(Debug, Clone, Copy)]
enum Case {
    /// `insert(&pool)`: one statement, committed on its own.
    CommitEach,
    /// `insert(&mut *tx)` in a `sqlx::Transaction`.
    CallersTransaction,
    /// `insert(&mut *conn)` in `transaction_without_savepoints`.
    WithoutSavepoints,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::CommitEach => "insert per row, commit each",
            Case::CallersTransaction => "insert per row in the caller's transaction",
            Case::WithoutSavepoints => "the same in transaction_without_savepoints",
        }
    }

    /// One round of `rows` rows through the model; its time.
    async fn model<DB: Hand>(self, pool: &Pool<DB>, rows: usize) -> f64
    where
        for<'c> &'c mut DB::Connection: Executes<'c, DB>,
    {
        let start = Instant::now();
        match self {
            Case::CommitEach => {
                for _ in 0..rows {
                    new_post().insert(pool).await.unwrap();
                }
            }
            Case::CallersTransaction => {
                let mut tx = pool.begin().await.unwrap();
                for _ in 0..rows {
                    new_post().insert(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            Case::WithoutSavepoints => {
                transaction_without_savepoints(pool, |conn| {
                    Box::pin(async move {
                        for _ in 0..rows {
                            new_post().insert(&mut *conn).await?;
                        }
                        Ok::<_, Error>(())
                    })
                })
                .await
                .unwrap();
            }
        }
        start.elapsed().as_secs_f64()
    }

    /// The same round written by hand (both transaction cases: `pool.begin()`); its time.
    async fn hand<DB: Hand>(self, pool: &Pool<DB>, rows: usize) -> f64
    where
        for<'c> &'c mut DB::Connection: Executes<'c, DB>,
    {
        let start = Instant::now();
        match self {
            Case::CommitEach => {
                for _ in 0..rows {
                    DB::hand_insert(pool, &mut new_post()).await;
                }
            }
            Case::CallersTransaction | Case::WithoutSavepoints => {
                let mut tx = pool.begin().await.unwrap();
                for _ in 0..rows {
                    DB::hand_insert(&mut *tx, &mut new_post()).await;
                }
                tx.commit().await.unwrap();
            }
        }
        start.elapsed().as_secs_f64()
    }
}

/// How many rounds of how many rows, and whether to report.
struct Plan {
    rounds: usize,
    rows: usize,
    measuring: bool,
}

/// Runs `case` in paired rounds and prints its line: median ratio and quartiles, and each
/// side's median time per row.
async fn pairs<DB: Hand>(plan: &Plan, pool: &Pool<DB>, case: Case)
where
    for<'c> &'c mut DB::Connection: Executes<'c, DB>,
{
    let (mut ratios, mut model, mut hand) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..plan.rounds {
        let (m, h) = match round % 2 {
            0 => {
                let m = case.model(pool, plan.rows).await;
                (m, case.hand(pool, plan.rows).await)
            }
            _ => {
                let h = case.hand(pool, plan.rows).await;
                (case.model(pool, plan.rows).await, h)
            }
        };
        ratios.push(h / m);
        model.push(m);
        hand.push(h);
    }
    if !plan.measuring {
        return;
    }
    for v in [&mut ratios, &mut model, &mut hand] {
        v.sort_by(f64::total_cmp);
    }
    let at = |v: &[f64], q: usize| v[(v.len() - 1) * q / 4];
    let per_row = |v: &[f64]| at(v, 2) * 1e6 / plan.rows as f64;
    println!(
        "| {} | {} | {:.0} µs | {:.0} µs | {:.2} ({:.2} .. {:.2}) |",
        backend(DB::DIALECT),
        case.name(),
        per_row(&model),
        per_row(&hand),
        at(&ratios, 2),
        at(&ratios, 1),
        at(&ratios, 3),
    );
}

fn backend(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
        Dialect::MySql => "MariaDB",
    }
}

async fn all_cases<DB: Hand>(plan: &Plan, pool: &Pool<DB>)
where
    for<'c> &'c mut DB::Connection: Executes<'c, DB>,
{
    for case in [
        Case::CommitEach,
        Case::CallersTransaction,
        Case::WithoutSavepoints,
    ] {
        pairs(plan, pool, case).await;
    }
}

async fn server_cases<DB: Hand>(plan: &Plan, name: &str)
where
    for<'c> &'c mut DB::Connection: Executes<'c, DB>,
{
    let Some(db): Option<TestDb<DB>> = DB::fresh(name).await else {
        return;
    };
    let columns = [
        ("id", Col::Serial),
        ("title", Col::TextNotNull),
        ("content", Col::TextNotNull),
        ("created_at", Col::Timestamp),
    ];
    db.create_table("posts", &columns).await;
    all_cases(plan, &db.pool).await;
    db.finish().await;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let measuring = args.iter().any(|a| a == "--bench");
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(40);
    let plan = match measuring {
        true => Plan {
            rounds,
            rows: 1_000,
            measuring,
        },
        false => Plan {
            rounds: 2,
            rows: 10,
            measuring,
        },
    };
    let filter = args
        .iter()
        .find(|a| !a.starts_with('-') && a.parse::<usize>().is_err());
    let wants = |backend: &str| filter.is_none_or(|f| f.contains(backend));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if measuring {
        println!(
            "| backend | case | model-core per row | hand-written per row | ratio (quartiles) |"
        );
        println!("|---|---|---|---|---|");
    }
    rt.block_on(async {
        if wants("sqlite") {
            let dir = std::env::temp_dir().join(format!("model-bench-per-row-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{}/bench.db", dir.display()))
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
            all_cases(&plan, &pool).await;
            pool.close().await;
            std::fs::remove_dir_all(&dir).ok();
        }
        if wants("postgres") {
            server_cases::<Postgres>(&plan, "bench_per_row_postgres").await;
        }
        if wants("mysql") {
            server_cases::<MySql>(&plan, "bench_per_row_mysql").await;
        }
    });
}
