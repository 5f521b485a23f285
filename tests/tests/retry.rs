//! Retryable errors and `model_core::retry` (issue 26), against real conflicts:
//!
//! - PostgreSQL `SERIALIZABLE`: two transactions read-modify-write one row; the second to
//!   write gets 40001, which `is_retryable()`; through `retry` both increments land.
//! - Two transactions lock two rows in opposite orders: a deadlock (PostgreSQL 40P01,
//!   MariaDB 1213), retryable; and the same deadlock inside async listeners' own statements,
//!   retryable through `Error::Listener`.
//! - 100 increments of one counter from concurrent tasks through `retry` end at 100 on every
//!   backend: PostgreSQL `SERIALIZABLE` with plain reads (conflicts, retried), MySQL/MariaDB
//!   and SQLite with a locking read (the lock serialises them). On a Galera cluster, see
//!   tests/tests/cluster.rs.
//! - Per attempt: `before_*`/`after_*` listeners each attempt, `after_rollback` for each
//!   rolled-back one, after-commit listeners once, for the committed one; the keys and
//!   versions returned are the committed attempt's. A non-retryable error is not retried;
//!   the attempt limit returns the last error.
//! - What `retry` costs when nothing conflicts, against a plain `transaction` (printed).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use model_core::{retry, transaction, Backend, Conn, Dialect, Error, Model, Retry};
use model_tests::{per_backend, TestBackend, TestDb};
use tokio::sync::Barrier;

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "counters")]
struct Counter {
    id: i64,
    hits: i64,
}

#[derive(Debug, Clone, Model)]
#[model(table = "orders")]
#[listens_for(after_insert, bump_total)]
struct Order {
    id: Option<i64>,
    total_id: i64,
}

/// Counts the order in its total, with a locking read: a statement of the listener's own,
/// in the insert's transaction.
async fn bump_total<DB: Backend>(order: &Order, conn: &mut Conn<DB>) -> Result<(), Error> {
    let total_id = order.total_id;
    let mut total = Counter::filter(|c| c.id.eq(total_id))
        .for_update()
        .one(&mut *conn)
        .await?;
    total.hits += 1;
    total.update(&mut *conn).await
}

type Trace = Arc<Mutex<Vec<String>>>;

#[derive(Debug, Clone, Default, Model)]
#[model(table = "entries")]
#[listens_for(before_insert, before)]
#[listens_for(after_insert, after)]
#[listens_for(after_insert_commit, committed)]
#[listens_for(after_rollback, rolled_back)]
struct Entry {
    id: Option<i64>,
    text: String,
    #[model(skip)]
    trace: Trace,
}

fn before(entry: &mut Entry) {
    entry.trace.lock().unwrap().push("before_insert".into());
}

fn after(entry: &Entry) {
    entry.trace.lock().unwrap().push("after_insert".into());
}

fn committed(entry: &Entry) {
    let line = format!("after_insert_commit {:?}", entry.id);
    entry.trace.lock().unwrap().push(line);
}

fn rolled_back(entry: &Entry) {
    let line = format!("after_rollback {:?}", entry.id);
    entry.trace.lock().unwrap().push(line);
}

#[derive(Debug, Clone, Model)]
#[model(table = "stock")]
struct Stock {
    id: Option<i64>,
    count: i64,
    #[model(version)]
    version: i32,
}

/// The server's code of the driver error inside `error` (MySQL's error number, else the
/// SQLSTATE), looking through `Error::Listener` at the listener's own error.
fn server_code(error: &Error) -> Option<String> {
    match error {
        Error::Database {
            source: sqlx::Error::Database(db),
            ..
        } => Some(
            match db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                Some(mysql) => mysql.number().to_string(),
                None => db.code()?.into_owned(),
            },
        ),
        Error::Listener { source, .. } => server_code(source.downcast_ref::<Error>()?),
        _ => None,
    }
}

/// Makes the transaction `conn` is in `SERIALIZABLE`, on PostgreSQL (the first statement of
/// the transaction must say so).
async fn serializable<DB: Backend>(conn: &mut Conn<DB>) -> Result<(), Error> {
    if conn.dialect() == Dialect::Postgres {
        conn.execute(sqlx::query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
            .await
            .map_err(|e| Error::from_sqlx("transaction", e))?;
    }
    Ok(())
}

async fn counters<DB: TestBackend>(db: &TestDb<DB>, ids: &[i64]) {
    Counter::create_table(&db.pool).await.unwrap();
    for &id in ids {
        Counter { id, hits: 0 }.insert(&db.pool).await.unwrap();
    }
}

async fn hits<DB: TestBackend>(db: &TestDb<DB>, id: i64) -> i64 {
    Counter::get(&db.pool, id).await.unwrap().hits
}

/// Reads counter 1, waits for the other transaction to have read it too, then writes it.
async fn increment_after_both_read<DB: Backend>(
    conn: &mut Conn<DB>,
    both_read: &Barrier,
) -> Result<(), Error> {
    serializable(conn).await?;
    let mut counter = Counter::get(&mut *conn, 1).await?;
    both_read.wait().await;
    counter.hits += 1;
    counter.update(&mut *conn).await
}

/// Two `SERIALIZABLE` transactions both read counter 1, then both write it: the second
/// writer waits for the first, and when that commits gets 40001 (`could not serialize
/// access due to concurrent update`), retryable. The same two through `retry`: both land.
async fn serializable_read_modify_write_fails_one_with_40001_and_retry_lands_both<
    DB: TestBackend,
>(
    db: &TestDb<DB>,
) {
    counters(db, &[1]).await;
    let both_read = Arc::new(Barrier::new(2));
    let once = |both_read: Arc<Barrier>| {
        let pool = db.pool.clone();
        async move {
            transaction(&pool, move |conn| {
                Box::pin(async move { increment_after_both_read(conn, &both_read).await })
            })
            .await
        }
    };
    let (one, two) = tokio::join!(once(both_read.clone()), once(both_read.clone()));
    let loser = match (one, two) {
        (Ok(()), Err(error)) | (Err(error), Ok(())) => error,
        other => panic!("not one winner: {other:?}"),
    };
    assert_eq!(server_code(&loser).as_deref(), Some("40001"), "{loser:?}");
    assert!(loser.is_retryable(), "{loser:?}");
    assert_eq!(hits(db, 1).await, 1);

    // Through `retry`: the loser runs again, reads 1 and writes 2. Its second attempt
    // waits at the barrier for nobody: a barrier of 2 per attempt would block it, so
    // only the first attempt of each waits.
    let attempts = Arc::new(AtomicU32::new(0));
    let retried = |both_read: Arc<Barrier>| {
        let (pool, attempts) = (db.pool.clone(), attempts.clone());
        async move {
            retry(&pool, Retry::default(), move |conn| {
                let first = attempts.fetch_add(1, Ordering::SeqCst) < 2;
                let both_read = both_read.clone();
                Box::pin(async move {
                    if first {
                        increment_after_both_read(conn, &both_read).await
                    } else {
                        increment_after_both_read(conn, &Barrier::new(1)).await
                    }
                })
            })
            .await
        }
    };
    let (one, two) = tokio::join!(retried(both_read.clone()), retried(both_read));
    one.unwrap();
    two.unwrap();
    assert_eq!(hits(db, 1).await, 3);
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "one retry");
}

/// Each transaction locks one counter, then (once both hold theirs) the other's: a
/// deadlock. The server picks a victim, whose error is 40P01 (PostgreSQL) or 1213
/// (MariaDB), retryable; the winner commits.
async fn opposite_lock_orders_deadlock_one_retryably<DB: TestBackend>(db: &TestDb<DB>) {
    counters(db, &[1, 2]).await;
    let both_locked = Arc::new(Barrier::new(2));
    let cross = |first: i64, second: i64| {
        let (pool, both_locked) = (db.pool.clone(), both_locked.clone());
        async move {
            transaction(&pool, move |conn| {
                Box::pin(async move {
                    Counter::filter(|c| c.id.eq(first))
                        .for_update()
                        .one(&mut *conn)
                        .await?;
                    both_locked.wait().await;
                    let mut other = Counter::filter(|c| c.id.eq(second))
                        .for_update()
                        .one(&mut *conn)
                        .await?;
                    other.hits += 1;
                    other.update(&mut *conn).await
                })
            })
            .await
        }
    };
    let (one, two) = tokio::join!(cross(1, 2), cross(2, 1));
    let victim = match (one, two) {
        (Ok(()), Err(error)) | (Err(error), Ok(())) => error,
        other => panic!("not one deadlock victim: {other:?}"),
    };
    let expected = match DB::DIALECT {
        Dialect::Postgres => "40P01",
        _ => "1213",
    };
    assert_eq!(
        server_code(&victim).as_deref(),
        Some(expected),
        "{victim:?}"
    );
    assert!(victim.is_retryable(), "{victim:?}");
    assert_eq!(
        hits(db, 1).await + hits(db, 2).await,
        1,
        "the winner's write only"
    );
}

/// The deadlock again, but each transaction's second lock is taken by the async
/// `after_insert` listener of an `Order` it inserts: the victim's error is
/// `Error::Listener` naming `bump_total`, whose source is the listener's
/// `Error::Database` (40P01 or 1213), and it is retryable. Through `retry`, both orders
/// land and each total counts one.
async fn a_deadlock_in_async_listeners_statements_is_retryable_through_listener<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    counters(db, &[1, 2]).await;
    Order::create_table(&db.pool).await.unwrap();
    let both_locked = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let cross = |mine: i64, theirs: i64, policy: Retry| {
        let (pool, both_locked, attempts) =
            (db.pool.clone(), both_locked.clone(), attempts.clone());
        async move {
            retry(&pool, policy, move |conn| {
                // Only the first attempts meet at the barrier: a retry runs alone.
                let first = attempts.fetch_add(1, Ordering::SeqCst) < 2;
                let both_locked = both_locked.clone();
                Box::pin(async move {
                    Counter::filter(|c| c.id.eq(mine))
                        .for_update()
                        .one(&mut *conn)
                        .await?;
                    if first {
                        both_locked.wait().await;
                    }
                    let mut order = Order {
                        id: None,
                        total_id: theirs,
                    };
                    order.insert(&mut *conn).await?;
                    Ok::<_, Error>(order)
                })
            })
            .await
        }
    };
    // One attempt each: the victim's error comes back as it was.
    let once = Retry::default().attempts(1);
    let (one, two) = tokio::join!(cross(1, 2, once), cross(2, 1, once));
    let victim = match (one, two) {
        (Ok(_), Err(error)) | (Err(error), Ok(_)) => error,
        other => panic!("not one deadlock victim: {other:?}"),
    };
    assert!(
        matches!(
            victim,
            Error::Listener {
                model: "Order",
                listener: "bump_total",
                ..
            }
        ),
        "{victim:?}"
    );
    let expected = match DB::DIALECT {
        Dialect::Postgres => "40P01",
        _ => "1213",
    };
    assert_eq!(
        server_code(&victim).as_deref(),
        Some(expected),
        "{victim:?}"
    );
    assert!(victim.is_retryable(), "{victim:?}");
    assert_eq!(db.count("orders").await, 1);

    // Retried: the victim's second attempt finds the winner gone and lands.
    attempts.store(0, Ordering::SeqCst);
    let (one, two) = tokio::join!(cross(1, 2, Retry::default()), cross(2, 1, Retry::default()));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_ne!(one.id, two.id);
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "one retry");
    assert_eq!(db.count("orders").await, 3);
    assert_eq!(hits(db, 1).await + hits(db, 2).await, 3);
}

// Every backend runs the retry tests; the real conflicts need a server that locks rows
// (the deadlocks) or runs `SERIALIZABLE` by conflict (PostgreSQL's 40001).
per_backend!(@backend sqlite, ::sqlx::Sqlite, [
    a_non_retryable_error_is_not_retried,
    the_attempt_limit_returns_the_last_error,
    listeners_run_per_attempt_and_the_committed_attempts_keys_and_versions_come_back,
], [
    concurrent_increments_through_retry_end_at_100,
    sqlite_busy_is_retryable,
]);
per_backend!(@backend postgres, ::sqlx::Postgres, [
    a_non_retryable_error_is_not_retried,
    the_attempt_limit_returns_the_last_error,
    listeners_run_per_attempt_and_the_committed_attempts_keys_and_versions_come_back,
    concurrent_increments_through_retry_end_at_100,
    serializable_read_modify_write_fails_one_with_40001_and_retry_lands_both,
    opposite_lock_orders_deadlock_one_retryably,
    a_deadlock_in_async_listeners_statements_is_retryable_through_listener,
], []);
per_backend!(@backend mysql, ::sqlx::MySql, [
    a_non_retryable_error_is_not_retried,
    the_attempt_limit_returns_the_last_error,
    listeners_run_per_attempt_and_the_committed_attempts_keys_and_versions_come_back,
    concurrent_increments_through_retry_end_at_100,
    opposite_lock_orders_deadlock_one_retryably,
    a_deadlock_in_async_listeners_statements_is_retryable_through_listener,
], []);

/// 10 tasks increment counter 1 ten times each, each increment one `retry`: PostgreSQL
/// runs them `SERIALIZABLE` with a plain read, so concurrent ones fail with 40001 and are
/// retried; MySQL/MariaDB read `FOR UPDATE`, so they wait for each other; SQLite's `BEGIN
/// IMMEDIATE` serialises them. 100 every time; how many attempts it took is printed.
async fn concurrent_increments_through_retry_end_at_100<DB: TestBackend>(db: &TestDb<DB>) {
    counters(db, &[1]).await;
    let attempts = Arc::new(AtomicU32::new(0));
    // Ten contenders for one row on four connections: more attempts than the default, so
    // that the test is about what ends stored, not about luck.
    let policy = Retry::default().attempts(50);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (pool, attempts) = (db.pool.clone(), attempts.clone());
            tokio::spawn(async move {
                for _ in 0..10 {
                    let attempts = attempts.clone();
                    retry(&pool, policy, move |conn| {
                        attempts.fetch_add(1, Ordering::SeqCst);
                        Box::pin(async move {
                            serializable(conn).await?;
                            let counter = Counter::filter(|c| c.id.eq(1));
                            let counter = match conn.dialect() {
                                Dialect::Postgres => counter,
                                _ => counter.for_update(),
                            };
                            let mut counter = counter.one(&mut *conn).await?;
                            counter.hits += 1;
                            counter.update(&mut *conn).await
                        })
                    })
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(hits(db, 1).await, 100);
    println!(
        "{:?}: 100 increments took {} attempts",
        DB::DIALECT,
        attempts.load(Ordering::SeqCst)
    );
}

/// A body whose first attempt inserts an entry and then updates a stock row from a stale
/// copy (its version moved on since): `Error::Conflict`, retried; the second reads the row
/// again. Listeners: the first attempt's `before_insert`, `after_insert`, then its
/// `after_rollback`; the second's `before_insert`, `after_insert`, then one
/// `after_insert_commit`. What `retry` returns is the second attempt's: the entry's key is
/// the stored row's, the stock's version the stored one (one past the concurrent bump).
async fn listeners_run_per_attempt_and_the_committed_attempts_keys_and_versions_come_back<
    DB: TestBackend,
>(
    db: &TestDb<DB>,
) {
    Entry::create_table(&db.pool).await.unwrap();
    Stock::create_table(&db.pool).await.unwrap();
    let mut stock = Stock {
        id: None,
        count: 0,
        version: 1,
    };
    stock.insert(&db.pool).await.unwrap();
    let stale = stock.clone();
    stock.count = 10;
    stock.update(&db.pool).await.unwrap(); // a concurrent writer: version 2
    let stock_id = stock.id.unwrap();

    let trace = Trace::default();
    let attempts = Arc::new(AtomicU32::new(0));
    let (entry, stock) = retry(&db.pool, Retry::default(), {
        let (trace, attempts) = (trace.clone(), attempts.clone());
        move |conn| {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let (trace, stale) = (trace.clone(), stale.clone());
            Box::pin(async move {
                let mut entry = Entry {
                    id: None,
                    text: format!("attempt {attempt}"),
                    trace,
                };
                entry.insert(&mut *conn).await?;
                let mut stock = match attempt {
                    1 => stale,
                    _ => Stock::get(&mut *conn, stock_id).await?,
                };
                stock.count += 1;
                stock.update(&mut *conn).await?;
                Ok::<_, Error>((entry, stock))
            })
        }
    })
    .await
    .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    let stored = Entry::all(&db.pool).await.unwrap();
    assert_eq!(stored.len(), 1, "only the committed attempt's entry");
    assert_eq!((stored[0].id, &*stored[0].text), (entry.id, "attempt 2"));
    let stored = Stock::get(&db.pool, stock_id).await.unwrap();
    assert_eq!((stored.count, stored.version), (11, 3));
    assert_eq!((stock.count, stock.version), (11, 3));
    let trace = trace.lock().unwrap().clone();
    let first_key = trace
        .iter()
        .find_map(|line| line.strip_prefix("after_rollback "))
        .expect("the first attempt rolled back")
        .to_owned();
    assert_eq!(
        trace,
        [
            "before_insert".to_owned(),
            "after_insert".to_owned(),
            format!("after_rollback {first_key}"),
            "before_insert".to_owned(),
            "after_insert".to_owned(),
            format!("after_insert_commit {:?}", entry.id),
        ]
    );
}

/// A body that fails with `NotFound` runs once: nothing about it changes on a retry.
async fn a_non_retryable_error_is_not_retried<DB: TestBackend>(db: &TestDb<DB>) {
    Stock::create_table(&db.pool).await.unwrap();
    let attempts = AtomicU32::new(0);
    let result = retry(&db.pool, Retry::default(), |conn| {
        attempts.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Stock::get(conn, 404).await })
    })
    .await;
    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

/// A body that fails retryably every time runs `attempts` times, and the last attempt's
/// error comes back (each names its attempt).
async fn the_attempt_limit_returns_the_last_error<DB: TestBackend>(db: &TestDb<DB>) {
    let attempts = AtomicU32::new(0);
    let policy = Retry::default()
        .attempts(3)
        .backoff(Duration::from_millis(1), Duration::from_millis(4));
    let started = Instant::now();
    let result = retry(&db.pool, policy, |_conn| {
        let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            Err::<(), _>(Error::Conflict {
                model: "Stock",
                key: attempt.to_string(),
            })
        })
    })
    .await;
    match result {
        Err(Error::Conflict { key, .. }) => assert_eq!(key, "3"),
        other => panic!("the last attempt's conflict: {other:?}"),
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    // Waited between attempts: at least half of 1 ms, then of 2 ms.
    assert!(started.elapsed() >= Duration::from_micros(1500));
}

/// Another connection holds SQLite's write lock (a raw `BEGIN IMMEDIATE`, outside this
/// process's writer queue) and this one does not wait for it (`busy_timeout = 0`): the
/// insert fails with `SQLITE_BUSY`, which is retryable.
async fn sqlite_busy_is_retryable<DB: TestBackend>(db: &TestDb<DB>) {
    Counter::create_table(&db.pool).await.unwrap();
    let mut holder = db.pool.acquire().await.unwrap();
    Conn::<DB>::from_mut(&mut holder)
        .execute(sqlx::query("BEGIN IMMEDIATE"))
        .await
        .unwrap();
    let mut other = db.pool.acquire().await.unwrap();
    let other = Conn::<DB>::from_mut(&mut other);
    other
        .execute(sqlx::query("PRAGMA busy_timeout = 0"))
        .await
        .unwrap();
    let error = Counter { id: 1, hits: 0 }
        .insert(&mut *other)
        .await
        .unwrap_err();
    assert_eq!(server_code(&error).as_deref(), Some("5"), "{error:?}");
    assert!(error.is_retryable(), "{error:?}");
    Conn::<DB>::from_mut(&mut holder)
        .execute(sqlx::query("ROLLBACK"))
        .await
        .unwrap();
}
