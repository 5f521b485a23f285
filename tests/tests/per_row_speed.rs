//! What the speed of per-row writes (issue 28) must not cost.
//!
//! - SQLite: a write that finds no other writer of the process in flight takes its turn
//!   without asking its connection for the database file (`db/writers.rs`). Writers that
//!   come after it still wait for it, and it names its file before anything of the user's
//!   can wait on something else.
//! - PostgreSQL: `transaction_without_savepoints` sends a write without its savepoint; a
//!   write that fails at the database then refuses the commit instead of letting it roll
//!   back silently (`db/no_savepoints.rs`). On SQLite and MySQL, which undo a failed
//!   statement alone, it is `transaction`.

use std::future::{poll_fn, Future};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::str::FromStr;
use std::sync::OnceLock;
use std::task::Poll;
use std::time::Duration;

use model_core::{
    transaction, transaction_without_savepoints, Backend, Conn, ConstraintKind, Dialect, Error,
    Model,
};
use model_tests::{per_backend, TestBackend, TestDb};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

#[derive(Debug, Clone, Model)]
#[model(table = "tags")]
#[listens_for(before_insert, refuse_empty)]
struct Tag {
    id: Option<i64>,
    #[model(unique)]
    label: String,
}

/// A listener's veto: nothing is sent, so nothing can abort the transaction.
#[derive(Debug)]
struct Empty;

impl std::fmt::Display for Empty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("empty label")
    }
}

impl std::error::Error for Empty {}

fn refuse_empty(tag: &mut Tag) -> Result<(), Empty> {
    match tag.label.is_empty() {
        true => Err(Empty),
        false => Ok(()),
    }
}

fn tag(label: &str) -> Tag {
    Tag {
        id: None,
        label: label.into(),
    }
}

async fn labels<DB: TestBackend>(db: &TestDb<DB>) -> Vec<String> {
    Tag::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.label)
        .collect()
}

fn expect_unique(error: &Error) {
    assert!(
        matches!(
            error,
            Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }
        ),
        "{error:?}"
    );
}

/// A duplicate inserted in the body, its error handled, the body going on: on PostgreSQL the
/// duplicate aborted the transaction (the next insert fails too) and the commit is refused
/// with `TransactionAborted`, nothing stored; where a failed statement is undone alone, the
/// rest commits.
async fn a_failed_write_without_savepoints_refuses_the_commit<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    let outcome = transaction_without_savepoints(&db.pool, |conn| {
        Box::pin(async move {
            tag("a").insert(&mut *conn).await?;
            expect_unique(&tag("a").insert(&mut *conn).await.unwrap_err());
            let after = tag("b").insert(&mut *conn).await;
            Ok::<_, Error>(after.is_ok())
        })
    })
    .await;
    match db.dialect() {
        Dialect::Postgres => {
            let error = outcome.unwrap_err();
            assert!(
                matches!(error, Error::TransactionAborted { model: "Tag" }),
                "{error:?}"
            );
            assert_eq!(labels(db).await, Vec::<String>::new());
        }
        Dialect::Sqlite | Dialect::MySql => {
            assert!(outcome.unwrap(), "the insert after the failed one");
            assert_eq!(labels(db).await, ["a", "b"]);
        }
    }
}

/// Writes that all succeed commit, on every backend, and the pool's connection is usable
/// afterwards (no savepoint or transaction is left open on it).
async fn writes_without_savepoints_commit<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    transaction_without_savepoints(&db.pool, |conn| {
        Box::pin(async move {
            for label in ["a", "b", "c"] {
                tag(label).insert(&mut *conn).await?;
            }
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    tag("d").insert(&db.pool).await.unwrap();
    assert_eq!(labels(db).await, ["a", "b", "c", "d"]);
}

/// A listener's veto sends nothing: the body that handles it commits what it wrote.
async fn a_vetoed_write_without_savepoints_still_commits<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    transaction_without_savepoints(&db.pool, |conn| {
        Box::pin(async move {
            tag("a").insert(&mut *conn).await?;
            let vetoed = tag("").insert(&mut *conn).await.unwrap_err();
            assert!(vetoed.listener_error::<Empty>().is_some(), "{vetoed:?}");
            tag("b").insert(&mut *conn).await?;
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(labels(db).await, ["a", "b"]);
}

/// A write cancelled half-way (its future dropped after its first poll) may have failed at
/// the database: on PostgreSQL the commit is refused; on SQLite the transaction commits.
/// (Not on MySQL: there sqlx hands the dropped statement's error to the connection's next
/// statement, the `COMMIT`, with or without savepoints.)
async fn a_cancelled_write_without_savepoints_refuses_the_commit<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    let outcome = transaction_without_savepoints(&db.pool, |conn| {
        Box::pin(async move {
            tag("a").insert(&mut *conn).await?;
            {
                let mut duplicate = tag("a");
                let mut write = pin!(duplicate.insert(&mut *conn));
                poll_fn(|cx| {
                    let _ = write.as_mut().poll(cx);
                    Poll::Ready(())
                })
                .await;
            }
            Ok::<_, Error>(())
        })
    })
    .await;
    match db.dialect() {
        Dialect::Postgres => {
            let error = outcome.unwrap_err();
            assert!(
                matches!(error, Error::TransactionAborted { .. }),
                "{error:?}"
            );
            assert_eq!(labels(db).await, Vec::<String>::new());
        }
        Dialect::Sqlite | Dialect::MySql => {
            outcome.unwrap();
            assert_eq!(labels(db).await, ["a"]);
        }
    }
}

per_backend!(@backend sqlite_cancelled, ::sqlx::Sqlite, [a_cancelled_write_without_savepoints_refuses_the_commit], []);
per_backend!(@backend postgres_cancelled, ::sqlx::Postgres, [a_cancelled_write_without_savepoints_refuses_the_commit], []);

/// The chosen rule for a nested `transaction` in the body: a failed write in it refuses
/// the outer commit on PostgreSQL, even though the nested one rolled back.
async fn a_failed_write_in_a_nested_transaction_refuses_the_outer_commit<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    Tag::create_table(&db.pool).await.unwrap();
    let outcome = transaction_without_savepoints(&db.pool, |conn| {
        Box::pin(async move {
            tag("a").insert(&mut *conn).await?;
            let nested = transaction(&mut *conn, |conn| {
                Box::pin(async move { tag("a").insert(conn).await })
            })
            .await;
            expect_unique(&nested.unwrap_err());
            Ok::<_, Error>(())
        })
    })
    .await;
    match db.dialect() {
        Dialect::Postgres => {
            assert!(
                matches!(outcome, Err(Error::TransactionAborted { .. })),
                "{outcome:?}"
            );
            assert_eq!(labels(db).await, Vec::<String>::new());
        }
        Dialect::Sqlite | Dialect::MySql => {
            outcome.unwrap();
            assert_eq!(labels(db).await, ["a"]);
        }
    }
}

/// A post whose async `after_insert` listener tags it, inserting one tag twice and handling
/// the duplicate, as a listener written for `transaction` may.
#[derive(Debug, Clone, Model)]
#[model(table = "posts")]
#[listens_for(after_insert, tag_twice)]
struct Post {
    id: Option<i64>,
    title: String,
}

async fn tag_twice<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), Error> {
    tag(&post.title).insert(&mut *conn).await?;
    expect_unique(&tag(&post.title).insert(&mut *conn).await.unwrap_err());
    Ok(())
}

/// Writes of a listener keep their savepoints in a body without them: the listener handles
/// its failed write and goes on, and everything commits.
async fn a_listeners_writes_keep_their_savepoints<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    Post::create_table(&db.pool).await.unwrap();
    transaction_without_savepoints(&db.pool, |conn| {
        Box::pin(async move {
            let mut post = Post {
                id: None,
                title: "first".into(),
            };
            post.insert(&mut *conn).await?;
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(labels(db).await, ["first"]);
    assert_eq!(Post::all(&db.pool).await.unwrap().len(), 1);
}

per_backend!(
    a_failed_write_without_savepoints_refuses_the_commit,
    writes_without_savepoints_commit,
    a_vetoed_write_without_savepoints_still_commits,
    a_failed_write_in_a_nested_transaction_refuses_the_outer_commit,
    a_listeners_writes_keep_their_savepoints,
);

// ---------------------------------------------------------------------------------------
// SQLite: the writer queue when a write comes alone.

#[derive(Debug, Clone, Model)]
#[model(table = "notes")]
#[listens_for(before_insert, linger)]
struct Note {
    id: Option<i64>,
    body: String,
}

/// Holds the runtime thread a while, synchronously, before the statement, for the note
/// "slow": long enough for every other writer to arrive; tells the test it is there.
fn linger(note: &mut Note) {
    if note.body == "slow" {
        if let Some(entered) = ENTERED.get() {
            entered.notify_one();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

static ENTERED: OnceLock<tokio::sync::Notify> = OnceLock::new();

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("model-speed-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A pool on a fresh SQLite file with a 50 ms busy timeout: a writer left to SQLite's busy
/// handler behind a stream of others fails with "database is locked".
async fn pool_of(dir: &Path, name: &str, connections: u32) -> SqlitePool {
    let path = dir.join(format!("{name}.db"));
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_millis(50));
    let pool = SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    pool
}

/// A write that took its turn alone (no other writer in flight) is not overtaken: 16 tasks
/// of 20 inserts each that arrive while it sits in its listener all wait for it, so its row
/// is the first (key 1), and none of them, with a 50 ms busy timeout, sees "database is
/// locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_write_alone_is_not_overtaken() {
    let dir = scratch("alone");
    let pool = pool_of(&dir, "alone", 8).await;
    let entered = ENTERED.get_or_init(tokio::sync::Notify::new);
    let slow = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut note = Note {
                id: None,
                body: "slow".into(),
            };
            note.insert(&pool).await.map(|()| note.id)
        })
    };
    entered.notified().await;
    let mut tasks = Vec::new();
    for task in 0..16 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..20 {
                let mut note = Note {
                    id: None,
                    body: format!("{task}/{n}"),
                };
                note.insert(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("writer {task}, insert {n}: {e} ({e:?})"));
            }
        }));
    }
    assert_eq!(slow.await.unwrap().unwrap(), Some(1));
    for task in tasks {
        task.await.unwrap();
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 321);
    pool.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A shipment whose async `after_insert` listener records it in another database file,
/// through a pool of its own.
#[derive(Debug, Clone, Model)]
#[model(table = "shipments")]
#[listens_for(after_insert, record_elsewhere)]
struct Shipment {
    id: Option<i64>,
    body: String,
}

static ELSEWHERE: OnceLock<SqlitePool> = OnceLock::new();

async fn record_elsewhere<DB: Backend>(shipment: &Shipment, _: &mut Conn<DB>) -> Result<(), Error> {
    let pool = ELSEWHERE.get().expect("set by the test");
    let mut note = Note {
        id: None,
        body: shipment.body.clone(),
    };
    note.insert(pool).await
}

/// A write that began alone names its file before its async listener runs: the listener's
/// write to another file, through another pool, takes that file's turn instead of waiting
/// for the write it is part of (which would wait forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_listener_writes_another_file_while_its_write_holds_the_turn() {
    let dir = scratch("elsewhere");
    let pool = pool_of(&dir, "shipments", 2).await;
    sqlx::query("CREATE TABLE shipments (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let elsewhere = ELSEWHERE.get_or_init(|| {
        let path = dir.join("elsewhere.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true);
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options)
    });
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(elsewhere)
        .await
        .unwrap();
    for n in 0..3 {
        let mut shipment = Shipment {
            id: None,
            body: format!("shipment {n}"),
        };
        tokio::time::timeout(Duration::from_secs(10), shipment.insert(&pool))
            .await
            .expect("the listener's write waited for the write it is part of")
            .unwrap();
    }
    let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(elsewhere)
        .await
        .unwrap();
    assert_eq!(recorded, 3);
    pool.close().await;
    elsewhere.close().await;
    std::fs::remove_dir_all(&dir).ok();
}
