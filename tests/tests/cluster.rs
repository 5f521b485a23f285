//! On a MariaDB Galera cluster (issue 26; `bash scripts/galera.sh start` runs one on
//! 127.0.0.1:3311, 3312 and 3313): what docs/cluster.md says the library does across two
//! nodes, tested.
//!
//! - A row written through one node is read through another once the reading session sets
//!   `wsrep_sync_wait = 1` (set per connection with sqlx's `after_connect`, as the chapter
//!   shows): 200 writes, 200 reads, every row found.
//! - One versioned row updated through two nodes at once: one update wins, the other gets an
//!   error, either `Error::Conflict` or `Error::Database` carrying 1213 (`ER_LOCK_DEADLOCK`,
//!   Galera's certification conflict), retryable either way (`is_retryable()`); which one is
//!   printed.
//! - Eight replicas, four on each node, run `create_all` of three tables with foreign keys
//!   at once, ten times: every call succeeds (a `CREATE` the cluster aborts with 1213 is
//!   run again) and the tables work through both nodes.
//! - 100 increments of one counter through `model_core::retry`, from two tasks on each of
//!   two nodes, with a locking read (local to its node: the nodes conflict at commit): 100.
//!
//! These tests run only when `MYSQL_URL` points at a Galera node (`@@wsrep_on` = 1). On any
//! other server there is no cluster to test: each test then asserts that `@@wsrep_on` is off
//! (MariaDB) or absent (MySQL), writes a `NOT A CLUSTER:` line to stderr and passes, so the
//! file runs against the plain server of `cargo test --workspace` too. The second node is
//! `GALERA_NODE2_URL` (default `mysql://root@127.0.0.1:3312/test`, the script's node 2;
//! `.ci/run` sets it); it must be another node of the same cluster.

use std::io::Write as _;
use std::str::FromStr;
use std::time::{Duration, Instant};

use model_core::{retry, transaction, Error, Model, Retry};
use model_tests::{TestBackend, TestDb};
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions};
use sqlx::{Executor as _, MySql};

/// The second node of the cluster `MYSQL_URL` points into.
fn node2_url() -> String {
    std::env::var("GALERA_NODE2_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3312/test".into())
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "notes")]
struct Note {
    id: Option<i64>,
    body: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "counters")]
struct Counter {
    id: i64,
    hits: i64,
}

#[derive(Debug, Clone, Model)]
#[model(table = "stock")]
struct Stock {
    id: Option<i64>,
    count: i64,
    #[model(version)]
    version: i32,
}

/// A schema of three tables, two of them with a foreign key, an index and a unique
/// column: what every replica of a service creates at start-up.
#[derive(Debug, Clone, Model)]
#[model(table = "shelves")]
struct Shelf {
    id: Option<i64>,
    #[model(length = 40, unique)]
    name: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "books")]
struct Book {
    id: Option<i64>,
    #[model(references = Shelf, on_delete = "cascade", index)]
    shelf_id: i64,
    #[model(length = 80)]
    title: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "loans")]
struct Loan {
    id: Option<i64>,
    #[model(references = Book, on_delete = "set_null")]
    book_id: Option<i64>,
}

fn library() -> model_core::schema::Schema {
    model_core::schema::Schema::new()
        .model::<Shelf>()
        .model::<Book>()
        .model::<Loan>()
}

/// The test's database on node 1 (`MYSQL_URL`), and a pool on the same database through node
/// 2 whose connections read their own cluster's writes (`wsrep_sync_wait = 1`, set on each
/// connection by `after_connect`); `None` when `MYSQL_URL` is no Galera node, after
/// asserting that it is none and saying so on stderr.
async fn cluster(test: &str) -> Option<(TestDb<MySql>, MySqlPool)> {
    let db = <MySql as TestBackend>::fresh(test).await?;
    let wsrep_on = sqlx::query_scalar::<_, i64>("SELECT CAST(@@wsrep_on AS SIGNED)")
        .fetch_one(&db.pool)
        .await;
    match wsrep_on {
        Ok(1) => {}
        not_a_cluster => {
            // Off on a MariaDB server without a cluster; absent (ER_UNKNOWN_SYSTEM_VARIABLE,
            // 1193) on MySQL. Anything else is a broken server, not "no cluster".
            match &not_a_cluster {
                Ok(off) => assert_eq!(*off, 0, "@@wsrep_on"),
                Err(sqlx::Error::Database(e)) => assert_eq!(
                    e.try_downcast_ref::<MySqlDatabaseError>()
                        .map(MySqlDatabaseError::number),
                    Some(1193),
                    "reading @@wsrep_on: {e}"
                ),
                Err(e) => panic!("reading @@wsrep_on: {e}"),
            }
            let line = format!(
                "NOT A CLUSTER: {test}: MYSQL_URL is no Galera node (@@wsrep_on {not_a_cluster:?}); \
                 nothing to test (bash scripts/galera.sh start, then \
                 MYSQL_URL=mysql://root@127.0.0.1:3311/test)\n"
            );
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            db.finish().await;
            return None;
        }
    }
    let name: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let url = node2_url();
    let options = MySqlConnectOptions::from_str(&url)
        .expect("GALERA_NODE2_URL")
        .database(&name);
    // The test's database was created through node 1 a moment ago: node 2 applies that in
    // the cluster's order, so it may not know it yet (1049, unknown database).
    let deadline = Instant::now() + Duration::from_secs(10);
    let node2 = loop {
        let connected = MySqlPoolOptions::new()
            .max_connections(2)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("SET SESSION wsrep_sync_wait = 1").await?;
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await;
        match connected {
            Ok(pool) => break pool,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{test}: node 2 at {url} (GALERA_NODE2_URL): {e}"),
        }
    };
    // Two nodes of one cluster, not one node twice.
    let who = "SELECT @@wsrep_node_name, @@wsrep_cluster_name";
    let one: (String, String) = sqlx::query_as(who).fetch_one(&db.pool).await.unwrap();
    let two: (String, String) = sqlx::query_as(who).fetch_one(&node2).await.unwrap();
    assert_eq!(one.1, two.1, "one cluster");
    assert_ne!(
        one.0, two.0,
        "GALERA_NODE2_URL must be another node than MYSQL_URL"
    );
    let sync_wait: i64 = sqlx::query_scalar("SELECT CAST(@@wsrep_sync_wait AS SIGNED)")
        .fetch_one(&node2)
        .await
        .unwrap();
    assert_eq!(sync_wait, 1, "set by after_connect");
    Some((db, node2))
}

/// The class of the losing update's error: `Conflict`, or `Database(1213)`; anything else
/// fails the test. Either way it is retryable (`Error::is_retryable`).
fn loser(error: &Error) -> &'static str {
    assert!(
        error.is_retryable(),
        "the losing update is retryable: {error:?}"
    );
    match error {
        Error::Conflict { model: "Stock", .. } => "Error::Conflict",
        Error::Database {
            source: sqlx::Error::Database(e),
            ..
        } if e
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(MySqlDatabaseError::number)
            == Some(1213) =>
        {
            "Error::Database (1213, ER_LOCK_DEADLOCK)"
        }
        other => panic!("the losing update: neither Conflict nor 1213: {other:?}"),
    }
}

mod mysql {
    use super::*;

    /// 200 times: a note inserted through node 1 is read through node 2 at once, and found.
    /// `wsrep_sync_wait = 1` makes each read wait until node 2 has applied every write the
    /// cluster had committed when the read began. For contrast, the same without it is
    /// printed, not asserted: a loopback cluster applies fast, so those reads may or may not
    /// miss.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_row_written_through_one_node_is_read_through_another_with_sync_wait() {
        let Some((db, node2)) = cluster(concat!(
            module_path!(),
            "::a_row_written_through_one_node_is_read_through_another_with_sync_wait"
        ))
        .await
        else {
            return;
        };
        Note::create_table(&db.pool).await.unwrap();
        let mut missing = Vec::new();
        for n in 0..200 {
            let mut note = Note {
                id: None,
                body: format!("note {n}"),
            };
            note.insert(&db.pool).await.unwrap();
            match Note::get(&node2, note.id.unwrap()).await {
                Ok(read) => assert_eq!(read, note),
                Err(Error::NotFound { .. }) => missing.push(n),
                Err(e) => panic!("note {n} through node 2: {e:?}"),
            }
        }
        assert!(
            missing.is_empty(),
            "notes not found through node 2 with wsrep_sync_wait = 1: {missing:?}"
        );

        // Without: node 2's default, `wsrep_sync_wait = 0`.
        let name: String = sqlx::query_scalar("SELECT DATABASE()")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        let options = MySqlConnectOptions::from_str(&node2_url())
            .unwrap()
            .database(&name);
        let unsynced = MySqlPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let mut missed = 0;
        for n in 0..200 {
            let mut note = Note {
                id: None,
                body: format!("unsynced {n}"),
            };
            note.insert(&db.pool).await.unwrap();
            match Note::get(&unsynced, note.id.unwrap()).await {
                Ok(_) => {}
                Err(Error::NotFound { .. }) => missed += 1,
                Err(e) => panic!("note {n} through node 2: {e:?}"),
            }
        }
        println!("without wsrep_sync_wait: {missed} of 200 reads through node 2 missed the row");
        unsynced.close().await;
        node2.close().await;
        db.finish().await;
    }

    /// One versioned row, read through both nodes, then updated through both at once, 10
    /// times as one statement each (`update`, which commits on its own) and 10 times inside
    /// `transaction` (held open 100 ms, so that both updates run before either commits and
    /// the cluster's certification picks the winner). Each time exactly one update wins and
    /// the row holds its change, one version on; the loser's error is `Error::Conflict` or
    /// `Error::Database` with 1213 (Galera reports a certification conflict, or a local
    /// transaction aborted by a replicated one, as `ER_LOCK_DEADLOCK`). Which one, per kind
    /// of write, is printed; both are `is_retryable()`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_versioned_row_updated_through_two_nodes_at_once_has_one_winner() {
        let Some((db, node2)) = cluster(concat!(
            module_path!(),
            "::one_versioned_row_updated_through_two_nodes_at_once_has_one_winner"
        ))
        .await
        else {
            return;
        };
        Stock::create_table(&db.pool).await.unwrap();
        for in_transaction in [false, true] {
            let mut losers = std::collections::BTreeMap::<&str, usize>::new();
            for round in 0..10 {
                let mut row = Stock {
                    id: None,
                    count: 0,
                    version: 1,
                };
                row.insert(&db.pool).await.unwrap();
                let id = row.id.unwrap();
                let mut one = Stock::get(&db.pool, id).await.unwrap();
                let mut two = Stock::get(&node2, id).await.unwrap();
                one.count = 1;
                two.count = 2;
                let (first, second) = if in_transaction {
                    let update = |pool: MySqlPool, mut stock: Stock| async move {
                        transaction(&pool, |conn| {
                            Box::pin(async move {
                                stock.update(&mut *conn).await?;
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                Ok::<_, Error>(())
                            })
                        })
                        .await
                    };
                    tokio::join!(update(db.pool.clone(), one), update(node2.clone(), two))
                } else {
                    tokio::join!(one.update(&db.pool), two.update(&node2))
                };
                let (winner, error) = match (first, second) {
                    (Ok(()), Err(error)) => (1, error),
                    (Err(error), Ok(())) => (2, error),
                    (first, second) => {
                        panic!("round {round}: not one winner: {first:?}, {second:?}")
                    }
                };
                *losers.entry(loser(&error)).or_default() += 1;
                // Read through node 2, which waits for every committed write.
                let stored = Stock::get(&node2, id).await.unwrap();
                assert_eq!(
                    (stored.count, stored.version),
                    (winner, 2),
                    "round {round}: the winner's change, one version on"
                );
            }
            let kind = match in_transaction {
                true => "inside transaction",
                false => "one statement",
            };
            println!("the losing update ({kind}), over 10 rounds: {losers:?}");
        }
        node2.close().await;
        db.finish().await;
    }

    /// Eight replicas of a service start at once, four connected to each node, and each
    /// runs `create_all` of three tables with foreign keys and indexes; ten times, the
    /// tables dropped in between.
    /// Galera orders DDL across the cluster and aborts a `CREATE` that meets another one
    /// with a deadlock (1213), even for `IF NOT EXISTS` of a table that another replica
    /// just made: `create_all` runs such a statement again, so every call succeeds, and the
    /// tables are there once, usable through both nodes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn create_all_from_replicas_on_two_nodes_at_once_succeeds() {
        const REPLICAS: usize = 8;
        const ROUNDS: usize = 10;
        let Some((db, node2)) = cluster(concat!(
            module_path!(),
            "::create_all_from_replicas_on_two_nodes_at_once_succeeds"
        ))
        .await
        else {
            return;
        };
        // Ten start-ups: the replicas wait for each other, all run `create_all` of tables
        // that do not exist yet, then the tables are dropped for the next round.
        for round in 0..ROUNDS {
            let start = std::sync::Arc::new(tokio::sync::Barrier::new(REPLICAS));
            let mut replicas = tokio::task::JoinSet::new();
            for replica in 0..REPLICAS {
                let pool = if replica % 2 == 0 {
                    db.pool.clone()
                } else {
                    node2.clone()
                };
                let start = start.clone();
                replicas.spawn(async move {
                    start.wait().await;
                    library().create_all(&pool).await.map(|()| replica)
                });
            }
            while let Some(done) = replicas.join_next().await {
                let replica = done.expect("no panic");
                replica
                    .unwrap_or_else(|e| panic!("round {round}: every create_all succeeds: {e:?}"));
            }
            if round + 1 < ROUNDS {
                sqlx::query("DROP TABLE loans, books, shelves")
                    .execute(&db.pool)
                    .await
                    .unwrap();
            }
        }
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() ORDER BY table_name",
        )
        .fetch_all(&node2)
        .await
        .unwrap();
        assert_eq!(tables, ["books", "loans", "shelves"]);
        // A replica's last `CREATE ... IF NOT EXISTS` may still be applying on the other
        // node, and Galera aborts a write to that table meanwhile (1213): these writes are
        // each a `retry`, as docs/cluster.md tells a cluster's writes to be.
        let shelf_id = retry(&db.pool, Retry::default(), |conn| {
            Box::pin(async move {
                let mut shelf = Shelf {
                    id: None,
                    name: "fiction".into(),
                };
                shelf.insert(&mut *conn).await?;
                let mut book = Book {
                    id: None,
                    shelf_id: shelf.id.unwrap(),
                    title: "Dune".into(),
                };
                book.insert(&mut *conn).await?;
                Loan {
                    id: None,
                    book_id: book.id,
                }
                .insert(&mut *conn)
                .await?;
                Ok::<_, Error>(shelf.id.unwrap())
            })
        })
        .await
        .unwrap();
        // The foreign keys are there: deleting the shelf removes its book and empties the
        // loan's reference, as read through the other node.
        retry(&db.pool, Retry::default(), |conn| {
            Box::pin(async move {
                let shelf = Shelf::get(&mut *conn, shelf_id).await?;
                shelf.delete(&mut *conn).await
            })
        })
        .await
        .unwrap();
        assert_eq!(Book::all(&node2).await.unwrap().len(), 0);
        let loans = Loan::all(&node2).await.unwrap();
        assert_eq!(loans.len(), 1);
        assert_eq!(loans[0].book_id, None);
        node2.close().await;
        db.finish().await;
    }

    /// 100 increments of one counter, 50 through each node, from four tasks at once, each
    /// increment one `retry` of a locking read and an update. Row locks are local to a
    /// node: the two nodes' transactions conflict at commit (certification, 1213), and the
    /// loser runs again. The counter ends at 100 every time; how many attempts it took is
    /// printed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn increments_split_across_two_nodes_through_retry_end_at_100() {
        let Some((db, node2)) = cluster(concat!(
            module_path!(),
            "::increments_split_across_two_nodes_through_retry_end_at_100"
        ))
        .await
        else {
            return;
        };
        Counter::create_table(&db.pool).await.unwrap();
        Counter { id: 1, hits: 0 }.insert(&db.pool).await.unwrap();
        let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        // Two nodes, one row: most attempts conflict. Enough of them that the test is about
        // what ends stored, not about luck.
        let policy = Retry::default().attempts(100);
        let pools = [
            db.pool.clone(),
            db.pool.clone(),
            node2.clone(),
            node2.clone(),
        ];
        let tasks: Vec<_> = pools
            .into_iter()
            .map(|pool| {
                let attempts = attempts.clone();
                tokio::spawn(async move {
                    for _ in 0..25 {
                        let attempts = attempts.clone();
                        retry(&pool, policy, move |conn| {
                            attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            Box::pin(async move {
                                let mut counter = Counter::filter(|c| c.id.eq(1))
                                    .for_update()
                                    .one(&mut *conn)
                                    .await?;
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
        let stored = Counter::get(&node2, 1).await.unwrap();
        assert_eq!(stored.hits, 100);
        println!(
            "100 increments across two nodes took {} attempts",
            attempts.load(std::sync::atomic::Ordering::SeqCst)
        );
        node2.close().await;
        db.finish().await;
    }

    /// `insert_all` of 20,000 notes on the cluster (`innodb_autoinc_lock_mode = 2`), against
    /// the same rows written by hand with `QueryBuilder::push_values` in statements of the
    /// same size, in one transaction, reading the keys back with `RETURNING` as the library
    /// does (and, for scale, without reading them). Alternating rounds; the rates are
    /// printed (`-- --nocapture`; meaningful in `--release`), and every key the library set
    /// names its own row.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn insert_all_on_the_cluster_keeps_multi_row_statements() {
        let Some((db, node2)) = cluster(concat!(
            module_path!(),
            "::insert_all_on_the_cluster_keeps_multi_row_statements"
        ))
        .await
        else {
            return;
        };
        Note::create_table(&db.pool).await.unwrap();
        const ROWS: usize = 20_000;
        let notes = || -> Vec<Note> {
            (0..ROWS)
                .map(|n| Note {
                    id: None,
                    body: format!("note {n}"),
                })
                .collect()
        };
        let by_hand = |returning: bool| {
            let pool = db.pool.clone();
            async move {
                let notes = notes();
                let mut tx = pool.begin().await.unwrap();
                let mut keys = Vec::with_capacity(ROWS);
                // One bind a row: as many rows a statement as the library sends.
                for chunk in notes.chunks(65_535) {
                    let mut builder = sqlx::QueryBuilder::<MySql>::new("INSERT INTO notes (body) ");
                    builder.push_values(chunk, |mut row, note| {
                        row.push_bind(&note.body);
                    });
                    if returning {
                        builder.push(" RETURNING id");
                        let rows: Vec<(i64,)> =
                            builder.build_query_as().fetch_all(&mut *tx).await.unwrap();
                        keys.extend(rows.into_iter().map(|(id,)| id));
                    } else {
                        builder.build().execute(&mut *tx).await.unwrap();
                    }
                }
                tx.commit().await.unwrap();
                keys.len()
            }
        };
        let (mut model, mut hand, mut hand_no_keys) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for _round in 0..3 {
            let mut batch = notes();
            let started = Instant::now();
            Note::insert_all(&mut batch, &db.pool).await.unwrap();
            model += started.elapsed();
            let stored: std::collections::HashMap<i64, String> = Note::all(&db.pool)
                .await
                .unwrap()
                .into_iter()
                .map(|n| (n.id.unwrap(), n.body))
                .collect();
            for note in &batch {
                assert_eq!(stored.get(&note.id.unwrap()), Some(&note.body));
            }
            sqlx::query("DELETE FROM notes")
                .execute(&db.pool)
                .await
                .unwrap();

            let started = Instant::now();
            assert_eq!(by_hand(true).await, ROWS);
            hand += started.elapsed();
            sqlx::query("DELETE FROM notes")
                .execute(&db.pool)
                .await
                .unwrap();

            let started = Instant::now();
            by_hand(false).await;
            hand_no_keys += started.elapsed();
            sqlx::query("DELETE FROM notes")
                .execute(&db.pool)
                .await
                .unwrap();
        }
        let rate = |took: Duration| (3 * ROWS) as f64 / took.as_secs_f64();
        println!(
            "insert_all of {ROWS} rows on the cluster: {:.0} rows/s; push_values with RETURNING \
             {:.0} rows/s ({:.2}); push_values without keys {:.0} rows/s ({:.2})",
            rate(model),
            rate(hand),
            hand.as_secs_f64() / model.as_secs_f64(),
            rate(hand_no_keys),
            hand_no_keys.as_secs_f64() / model.as_secs_f64(),
        );
        node2.close().await;
        db.finish().await;
    }
}
