//! Locking reads (issue 26): `Select::for_update`, `for_share`, `skip_locked`, `nowait`.
//!
//! - A job queue: two transactions each take the first open job `FOR UPDATE SKIP LOCKED`
//!   while the other holds its own, and get different jobs (PostgreSQL, MariaDB).
//! - `NOWAIT` on a row another transaction holds fails at once, retryably.
//! - A shared lock keeps a concurrent update waiting until the reader's transaction ends.
//! - Read-modify-write increments from concurrent tasks lose nothing with `for_update`, on
//!   all three backends (SQLite: the `BEGIN IMMEDIATE` of `transaction` serialises them, the
//!   clause is left out). Without it, PostgreSQL's and MariaDB's default isolation lose some
//!   (printed, not asserted: how many depends on timing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use model_core::{transaction, Backend, Conn, Dialect, Error, Model, Select};
use model_tests::{per_backend, TestBackend, TestDb};
use tokio::sync::Barrier;

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "jobs")]
struct Job {
    id: Option<i64>,
    done: bool,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "counters")]
struct Counter {
    id: i64,
    hits: i64,
}

fn next_job() -> Select<Job> {
    Job::filter(|j| j.done.eq(false)).limit(1).for_update()
}

per_backend!(@backend postgres, ::sqlx::Postgres, [
    skip_locked_gives_two_workers_different_jobs,
    nowait_on_a_locked_row_fails_at_once_retryably,
    a_shared_lock_keeps_an_update_waiting,
], [for_update_increments_lose_nothing]);
per_backend!(@backend mysql, ::sqlx::MySql, [
    skip_locked_gives_two_workers_different_jobs,
    nowait_on_a_locked_row_fails_at_once_retryably,
    a_shared_lock_keeps_an_update_waiting,
], [for_update_increments_lose_nothing]);
per_backend!(@backend sqlite, ::sqlx::Sqlite, [], [for_update_increments_lose_nothing]);

/// Worker A takes the first open job and holds it; worker B then asks for the first open
/// job too and, skipping A's, gets the next one; both mark theirs done.
async fn skip_locked_gives_two_workers_different_jobs<DB: TestBackend>(db: &TestDb<DB>) {
    Job::create_table(&db.pool).await.unwrap();
    let mut jobs: Vec<Job> = (0..5)
        .map(|_| Job {
            id: None,
            done: false,
        })
        .collect();
    Job::insert_all(&mut jobs, &db.pool).await.unwrap();
    let (a_took, b_took) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let worker = |first: bool| {
        let (pool, a_took, b_took) = (db.pool.clone(), a_took.clone(), b_took.clone());
        async move {
            transaction(&pool, move |conn| {
                Box::pin(async move {
                    if !first {
                        a_took.wait().await;
                    }
                    let mut job = next_job().skip_locked().one(&mut *conn).await?;
                    if first {
                        a_took.wait().await;
                    }
                    // A holds its job until B has taken one.
                    b_took.wait().await;
                    job.done = true;
                    job.update(&mut *conn).await?;
                    Ok::<_, Error>(job.id.unwrap())
                })
            })
            .await
            .unwrap()
        }
    };
    let (a, b) = tokio::join!(worker(true), worker(false));
    assert_eq!((a, b), (jobs[0].id.unwrap(), jobs[1].id.unwrap()));
    let done = Job::filter(|j| j.done.eq(true))
        .count(&db.pool)
        .await
        .unwrap();
    assert_eq!(done, 2);
    // Without `skip_locked`, the second worker would have waited for the first job.
    assert!(next_job()
        .skip_locked()
        .to_sql(DB::DIALECT)
        .ends_with(" FOR UPDATE SKIP LOCKED"));
}

/// While one transaction holds job 1 (`for_update`), another's `for_update().nowait()`
/// read of it fails at once with a retryable error (PostgreSQL 55P03, MariaDB 1205 or
/// MySQL 3572), where a plain `for_update` would wait.
async fn nowait_on_a_locked_row_fails_at_once_retryably<DB: TestBackend>(db: &TestDb<DB>) {
    Job::create_table(&db.pool).await.unwrap();
    let mut job = Job {
        id: None,
        done: false,
    };
    job.insert(&db.pool).await.unwrap();
    let id = job.id.unwrap();
    let (held, tried) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let holder = {
        let (pool, held, tried) = (db.pool.clone(), held.clone(), tried.clone());
        async move {
            transaction(&pool, move |conn| {
                Box::pin(async move {
                    // Every read locks: a count (PostgreSQL: of a subquery, as it locks no
                    // rows of an aggregate) and an exists too.
                    assert_eq!(Job::query().for_update().count(&mut *conn).await?, 1);
                    assert!(Job::query().for_share().exists(&mut *conn).await?);
                    Job::filter(|j| j.id.eq(id))
                        .for_update()
                        .one(&mut *conn)
                        .await?;
                    held.wait().await;
                    tried.wait().await;
                    Ok::<_, Error>(())
                })
            })
            .await
        }
    };
    let other = async {
        held.wait().await;
        let started = Instant::now();
        let result = transaction(&db.pool, |conn| {
            Box::pin(async move {
                Job::filter(|j| j.id.eq(id))
                    .for_update()
                    .nowait()
                    .one(&mut *conn)
                    .await
            })
        })
        .await;
        let waited = started.elapsed();
        tried.wait().await;
        (result, waited)
    };
    let (held, (result, waited)) = tokio::join!(holder, other);
    held.unwrap();
    let error = result.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    let source = std::error::Error::source(&error).map(ToString::to_string);
    println!("{:?}: NOWAIT on a locked row: {source:?}", DB::DIALECT);
    assert!(
        waited < Duration::from_secs(1),
        "failed at once: {waited:?}"
    );
}

/// A transaction reads job 1 `for_share` and holds it for 300 ms: an update of the row
/// through another connection waits until that transaction has ended.
async fn a_shared_lock_keeps_an_update_waiting<DB: TestBackend>(db: &TestDb<DB>) {
    Job::create_table(&db.pool).await.unwrap();
    let mut job = Job {
        id: None,
        done: false,
    };
    job.insert(&db.pool).await.unwrap();
    let id = job.id.unwrap();
    let held = Arc::new(Barrier::new(2));
    let reader = {
        let (pool, held) = (db.pool.clone(), held.clone());
        async move {
            transaction(&pool, move |conn| {
                Box::pin(async move {
                    let job = Job::filter(|j| j.id.eq(id))
                        .for_share()
                        .one(&mut *conn)
                        .await?;
                    held.wait().await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok::<_, Error>(job)
                })
            })
            .await
            .map(|_| Instant::now())
        }
    };
    let writer = async {
        held.wait().await;
        job.done = true;
        job.update(&db.pool).await.map(|()| Instant::now())
    };
    let (read_ended, written) = tokio::join!(reader, writer);
    assert!(
        written.unwrap() >= read_ended.unwrap(),
        "the update waited for the reader"
    );
}

/// Four tasks each increment counter 1 25 times, each increment one `transaction`
/// reading the counter, adding one and writing it back. With `for_update`: 100, every
/// backend. Without (PostgreSQL's READ COMMITTED, MariaDB's REPEATABLE READ): how many
/// were lost is printed.
async fn for_update_increments_lose_nothing<DB: TestBackend>(db: &TestDb<DB>) {
    Counter::create_table(&db.pool).await.unwrap();
    for (id, locking) in [(1, true), (2, false)] {
        Counter { id, hits: 0 }.insert(&db.pool).await.unwrap();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let pool = db.pool.clone();
                tokio::spawn(async move {
                    for _ in 0..25 {
                        transaction(&pool, move |conn| {
                            Box::pin(async move { increment(conn, id, locking).await })
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
        let hits = Counter::get(&db.pool, id).await.unwrap().hits;
        if locking {
            assert_eq!(hits, 100, "for_update");
        } else {
            println!(
                "{:?}: without for_update, {} of 100 increments were lost",
                DB::DIALECT,
                100 - hits
            );
        }
    }
    if DB::DIALECT == Dialect::Sqlite {
        // No row locks on SQLite: the clause is left out, the transaction's lock serves.
        let sql = Counter::filter(|c| c.id.eq(1))
            .for_update()
            .nowait()
            .to_sql(Dialect::Sqlite);
        assert!(!sql.contains("FOR") && !sql.contains("NOWAIT"), "{sql}");
    }
}

async fn increment<DB: Backend>(conn: &mut Conn<DB>, id: i64, locking: bool) -> Result<(), Error> {
    let select = Counter::filter(|c| c.id.eq(id));
    let select = if locking { select.for_update() } else { select };
    let mut counter = select.one(&mut *conn).await?;
    // Widen the window between the read and the write, as real work would.
    tokio::task::yield_now().await;
    counter.hits += 1;
    counter.update(&mut *conn).await
}
