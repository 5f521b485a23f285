//! On a MariaDB Galera cluster (issue 26; `bash scripts/galera.sh start` runs one on
//! 127.0.0.1:3311, 3312 and 3313): what docs/cluster.md says the library does across two
//! nodes, tested.
//!
//! - A row written through one node is read through another once the reading session sets
//!   `wsrep_sync_wait = 1` (set per connection with sqlx's `after_connect`, as the chapter
//!   shows): 200 writes, 200 reads, every row found.
//! - One versioned row updated through two nodes at once: one update wins, the other gets an
//!   error, today either `Error::Conflict` or an untyped `Error::Database` carrying 1213
//!   (`ER_LOCK_DEADLOCK`, Galera's certification conflict); which one is printed.
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

use model_core::{transaction, Error, Model};
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
#[model(table = "stock")]
struct Stock {
    id: Option<i64>,
    count: i64,
    #[model(version)]
    version: i32,
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
/// fails the test.
fn loser(error: &Error) -> &'static str {
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
    /// of write, is printed: the current, untyped behaviour.
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
}
