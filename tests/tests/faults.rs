//! Faults: panicking and failing listeners, killed connections, lock timeouts, deadlocks, a
//! locked or read-only SQLite file. Each gives the caller an error (or its panic back),
//! leaves no partial write, and the pool serves the next request.

use std::time::Duration;

use model_core::schema::Schema;
use model_core::{Backend, Conn, Error, Model};
use model_tests::{per_backend, pg_url, TestBackend, TestDb};
use sqlx::pool::PoolOptions;
use sqlx::Pool;

#[derive(Debug, Clone, Default, Model)]
#[model(table = "items")]
#[listens_for(before_insert, audit)]
#[listens_for(after_insert, explode)]
struct Item {
    id: Option<i64>,
    name: String,
    #[model(skip)]
    panic: bool,
    #[model(skip)]
    fail: bool,
    /// `audit` hangs after writing its log row, until the caller gives up.
    #[model(skip)]
    stall: bool,
}

#[derive(Debug, Model)]
#[model(table = "item_log")]
struct ItemLog {
    id: Option<i64>,
    name: String,
}

async fn audit<DB: Backend>(item: &mut Item, conn: &mut Conn<DB>) -> Result<(), Error> {
    ItemLog {
        id: None,
        name: item.name.clone(),
    }
    .insert(conn)
    .await?;
    if item.stall {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    Ok(())
}

#[derive(Debug)]
struct Boom;
impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}
impl std::error::Error for Boom {}

fn explode(item: &Item) -> Result<(), Boom> {
    assert!(!item.panic, "listener panicked on purpose");
    if item.fail {
        Err(Boom)
    } else {
        Ok(())
    }
}

fn item(name: &str) -> Item {
    Item {
        name: name.into(),
        ..Item::default()
    }
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Item>()
        .model::<ItemLog>()
        .create_all(&db.pool)
        .await
        .unwrap();
}

/// A pool of one connection on the test's database: a connection left in a transaction or
/// leaked by a fault would make the next request hang or fail.
async fn one_connection_pool<DB: TestBackend>(db: &TestDb<DB>) -> Pool<DB> {
    if DB::DIALECT == model_core::Dialect::Sqlite {
        // The harness's SQLite pool already has exactly one connection (its in-memory
        // database lives in it).
        return db.pool.clone();
    }
    PoolOptions::<DB>::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with((*db.pool.connect_options()).clone())
        .await
        .unwrap()
}

async fn panicking_listener_rolls_back_and_the_pool_keeps_serving<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let pool = one_connection_pool(db).await;
    for _ in 0..3 {
        let task_pool = pool.clone();
        let outcome = tokio::spawn(async move {
            let mut doomed = Item {
                panic: true,
                ..item("doomed")
            };
            doomed.insert(&task_pool).await
        })
        .await;
        let panic = outcome.expect_err("the panic reaches the caller");
        assert!(panic.is_panic());
        assert_eq!(db.count("items").await, 0);
        assert_eq!(
            db.count("item_log").await,
            0,
            "the listener's SQL before the panic is rolled back"
        );
    }
    // The one connection came back clean: no open transaction, no lost connection.
    for n in 0..5 {
        item(&format!("ok{n}")).insert(&pool).await.unwrap();
    }
    assert_eq!(db.count("items").await, 5);
    assert_eq!(db.count("item_log").await, 5);
}

async fn error_on_the_third_of_five_writes_leaves_the_caller_in_charge<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    for commit in [true, false] {
        let mut tx = db.pool.begin().await.unwrap();
        let mut failed_at = None;
        for n in 0..5 {
            let mut next = Item {
                fail: n == 2,
                ..item(&format!("{commit}-{n}"))
            };
            if let Err(error) = next.insert(&mut tx).await {
                assert!(error.listener_error::<Boom>().is_some(), "{error:?}");
                failed_at = Some(n);
                break;
            }
        }
        assert_eq!(failed_at, Some(2));
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
    }
    let names: Vec<String> = Item::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(
        names,
        ["true-0", "true-1"],
        "the committed transaction kept the two writes before the failure"
    );
    assert_eq!(db.count("item_log").await, 2);
}

/// A write whose future is dropped halfway (a timeout, a client gone) while its listener
/// has already written: nothing of it stays, on its own or inside a caller's transaction,
/// and the one connection of the pool serves the next write.
async fn cancelled_write_leaves_nothing_and_the_pool_keeps_serving<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let pool = one_connection_pool(db).await;
    let stalled = || Item {
        stall: true,
        ..item("stalled")
    };
    let patience = Duration::from_millis(300);

    let mut alone = stalled();
    let outcome = tokio::time::timeout(patience, alone.insert(&pool)).await;
    assert!(
        outcome.is_err(),
        "the write was still waiting on its listener"
    );
    item("next").insert(&pool).await.unwrap();

    let mut tx = pool.begin().await.unwrap();
    item("kept").insert(&mut tx).await.unwrap();
    let mut inside = stalled();
    let outcome = tokio::time::timeout(patience, inside.insert(&mut tx)).await;
    assert!(
        outcome.is_err(),
        "the write was still waiting on its listener"
    );
    item("after").insert(&mut tx).await.unwrap();
    tx.commit().await.unwrap();

    let names: Vec<String> = Item::all(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["next", "kept", "after"]);
    let logged: Vec<String> = ItemLog::all(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(
        logged,
        ["next", "kept", "after"],
        "the stalled listeners' log rows went with their writes"
    );
}

per_backend!(
    cancelled_write_leaves_nothing_and_the_pool_keeps_serving,
    panicking_listener_rolls_back_and_the_pool_keeps_serving,
    error_on_the_third_of_five_writes_leaves_the_caller_in_charge;
    file: deadlock_fails_one_writer_cleanly,
);

/// Two transactions update two rows in opposite order. The database picks a victim
/// (PostgreSQL 40P01, MySQL 1213); its write fails with a typed error and the other commits.
/// SQLite has no row locks: there (on a database file, two connections) the second writer
/// waits for the first one's commit, then both have committed, in that order.
async fn deadlock_fails_one_writer_cleanly<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut rows = vec![item("a"), item("b")];
    Item::insert_all(&mut rows, &db.pool).await.unwrap();
    if DB::DIALECT == model_core::Dialect::Sqlite {
        return sqlite_writers_wait_for_each_other(db, &rows).await;
    }
    let (mut first, mut second) = (rows[0].clone(), rows[1].clone());
    let mut tx_a = db.pool.begin().await.unwrap();
    let mut tx_b = db.pool.begin().await.unwrap();
    first.name = "a1".into();
    first.update(&mut tx_a).await.unwrap();
    second.name = "b2".into();
    second.update(&mut tx_b).await.unwrap();
    let (mut cross_a, mut cross_b) = (second.clone(), first.clone());
    cross_a.name = "b1".into();
    cross_b.name = "a2".into();
    // The victim drops its whole transaction at once, as a caller using `?` would: on
    // PostgreSQL a deadlock only rolls back the write's savepoint, and the victim's earlier
    // row lock would keep the winner waiting.
    async fn settle<DB: Backend>(
        result: Result<(), Error>,
        tx: sqlx::Transaction<'_, DB>,
    ) -> (Result<(), Error>, Option<sqlx::Transaction<'_, DB>>) {
        if result.is_err() {
            drop(tx);
            (result, None)
        } else {
            (result, Some(tx))
        }
    }
    let a = async {
        let result = cross_a.update(&mut tx_a).await;
        settle(result, tx_a).await
    };
    let b = async {
        // Let A block on B's row first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let result = cross_b.update(&mut tx_b).await;
        settle(result, tx_b).await
    };
    let ((result_a, tx_a), (result_b, tx_b)) = tokio::join!(a, b);
    let (victim, winner) = match (result_a, result_b) {
        (Err(e), Ok(())) => (e, tx_b.unwrap()),
        (Ok(()), Err(e)) => (e, tx_a.unwrap()),
        other => panic!("expected exactly one deadlock victim: {other:?}"),
    };
    match victim {
        Error::Database {
            model: "Item",
            source,
        } => {
            let code = source
                .as_database_error()
                .and_then(|e| e.code())
                .map(|c| c.to_string());
            assert!(
                matches!(
                    code.as_deref(),
                    Some("40P01") | Some("40001") | Some("1213")
                ),
                "{source}"
            );
        }
        other => panic!("expected a database error, got {other:?}"),
    }
    winner.commit().await.unwrap();
    let names: Vec<String> = Item::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(
        names == ["a1", "b1"] || names == ["a2", "b2"],
        "only the winner's writes exist: {names:?}"
    );
    // Every connection of the pool still works, the victim's included.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(db.pool.acquire().await.unwrap());
    }
    for conn in &mut held {
        item("after")
            .insert(Conn::<DB>::from_mut(&mut **conn))
            .await
            .unwrap();
    }
    drop(held);
    assert_eq!(db.count("items").await, 6);
}

/// The SQLite half of `deadlock_fails_one_writer_cleanly`: A writes row a, then B starts and
/// writes row b, which waits (busy timeout) for the database's write lock that A holds; A
/// writes row b too and commits; only then does B's first write return, and B commits last.
async fn sqlite_writers_wait_for_each_other<DB: TestBackend>(db: &TestDb<DB>, rows: &[Item]) {
    let log = std::sync::Mutex::new(Vec::new());
    let (a_has_written, b_may_start) = tokio::sync::oneshot::channel();
    let a = async {
        let mut tx = db.pool.begin().await.unwrap();
        let mut first = Item {
            name: "a1".into(),
            ..rows[0].clone()
        };
        first.update(&mut tx).await.unwrap();
        a_has_written.send(()).unwrap();
        let mut cross = Item {
            name: "b1".into(),
            ..rows[1].clone()
        };
        cross.update(&mut tx).await.unwrap();
        // Still holding the write lock: B cannot have written yet.
        log.lock().unwrap().push("a wrote both rows");
        tx.commit().await.unwrap();
    };
    let b = async {
        b_may_start.await.unwrap();
        let mut tx = db.pool.begin().await.unwrap();
        let mut second = Item {
            name: "b2".into(),
            ..rows[1].clone()
        };
        second.update(&mut tx).await.unwrap();
        log.lock().unwrap().push("b wrote its first row");
        let mut cross = Item {
            name: "a2".into(),
            ..rows[0].clone()
        };
        cross.update(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
    };
    tokio::join!(a, b);
    assert_eq!(
        log.into_inner().unwrap(),
        ["a wrote both rows", "b wrote its first row"],
        "B waited for A's commit"
    );
    let names: Vec<String> = Item::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["a2", "b2"], "both committed, B last");
}

/// PostgreSQL only: the connection of a write is killed (`pg_terminate_backend` from a
/// second connection) while its transaction is open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connection_killed_mid_transaction_is_a_typed_error() {
    let Some(db) =
        <sqlx::Postgres as TestBackend>::fresh("faults::postgres_killed_connection").await
    else {
        return;
    };
    schema(&db).await;
    let mut tx = db.pool.begin().await.unwrap();
    item("before").insert(&mut tx).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let mut killer = sqlx::PgConnection::connect(&pg_url()).await.unwrap();
    let _: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut killer)
        .await
        .unwrap();
    let error = item("during").insert(&mut tx).await.unwrap_err();
    assert!(
        matches!(error, Error::Database { model: "Item", .. }),
        "{error:?}"
    );
    // Inside a transaction nothing was committed: the outcome is known.
    assert!(!error.is_outcome_unknown());
    drop(tx);
    assert_eq!(
        db.count("items").await,
        0,
        "nothing of the killed transaction was committed"
    );
    for n in 0..8 {
        item(&format!("after{n}")).insert(&db.pool).await.unwrap();
    }
    assert_eq!(db.count("items").await, 8);
    db.finish().await;
}

/// MySQL/MariaDB only: a row lock held by another transaction outlasts
/// `innodb_lock_wait_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_lock_wait_timeout_is_a_typed_error() {
    let Some(db) = <sqlx::MySql as TestBackend>::fresh("faults::mysql_lock_wait").await else {
        return;
    };
    schema(&db).await;
    let mut row = item("locked");
    row.insert(&db.pool).await.unwrap();
    let mut holder = db.pool.begin().await.unwrap();
    sqlx::query("SELECT * FROM items FOR UPDATE")
        .fetch_all(&mut *holder)
        .await
        .unwrap();

    let mut conn = db.pool.acquire().await.unwrap();
    sqlx::query("SET SESSION innodb_lock_wait_timeout = 1")
        .execute(&mut *conn)
        .await
        .unwrap();
    row.name = "changed".into();
    let error = row.update(&mut *conn).await.unwrap_err();
    assert!(
        !error.is_outcome_unknown(),
        "the server refused it: {error:?}"
    );
    match &error {
        Error::Database { source, .. } => {
            let code = source
                .as_database_error()
                .and_then(|e| e.code())
                .map(|c| c.to_string());
            assert_eq!(
                code.as_deref(),
                Some("HY000").or(code.as_deref()),
                "{source}"
            );
            assert!(source.to_string().contains("Lock wait timeout"), "{source}");
        }
        other => panic!("expected a database error, got {other:?}"),
    }
    holder.rollback().await.unwrap();
    assert_eq!(
        Item::get(&mut *conn, row.id.unwrap()).await.unwrap().name,
        "locked"
    );
    assert_eq!(
        db.count("item_log").await,
        1,
        "only the first insert's log row"
    );
    row.update(&mut *conn).await.unwrap();
    drop(conn);
    db.finish().await;
}

/// A model without listeners: its `update` is one statement, committed on its own.
#[derive(Debug, Clone, Model)]
#[model(table = "plain")]
struct Plain {
    id: Option<i64>,
    name: String,
}

/// A write that is one statement, committed on its own (no `BEGIN`), cut off by the server
/// while it waits for a row lock: as far as the client can tell the server may have applied
/// it, so the answer is `Error::OutcomeUnknown`, never a plain failure. PostgreSQL ends the
/// session (`pg_terminate_backend`: `FATAL` 57P01), MySQL the statement (`KILL QUERY`:
/// SQLSTATE 70100).
///
/// Except on a node of a MariaDB Galera cluster, where this cannot hold: there `KILL QUERY`
/// of a statement waiting for a row lock aborts the statement's whole transaction, which is
/// rolled back, and the client gets `ER_LOCK_DEADLOCK` (1213, SQLSTATE 40001), as for a
/// transaction aborted by a conflicting replicated write, not 1317/70100 (seen on MariaDB
/// 10.11 with Galera 4, every time; the same `KILL QUERY` from the `mariadb` client shows the
/// same). A rolled-back write is a known outcome, so the error there is a plain
/// `Error::Database` with that code, which is what the test asserts on a cluster.
async fn a_statement_cut_off_by_the_server_is_an_unknown_outcome<DB: TestBackend>(db: &TestDb<DB>) {
    Plain::create_table(&db.pool).await.unwrap();
    let galera = wsrep_on(db).await;
    let mut row = Plain {
        id: None,
        name: "locked".into(),
    };
    row.insert(&db.pool).await.unwrap();
    let id = row.id.unwrap();
    let mut holder = db.pool.begin().await.unwrap();
    let lock = format!("SELECT * FROM {} FOR UPDATE", db.quote("plain"));
    Conn::<DB>::from_mut(&mut *holder)
        .execute(sqlx::query(sqlx::AssertSqlSafe(lock)))
        .await
        .unwrap();

    let pool = db.pool.clone();
    let waiting = tokio::spawn(async move {
        row.name = "changed".into();
        row.update(&pool).await
    });
    let (find, cut) = match DB::DIALECT {
        model_core::Dialect::Postgres => (
            "SELECT CAST(pid AS BIGINT) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock' AND query LIKE 'UPDATE%'",
            "SELECT pg_terminate_backend(CAST($1 AS INTEGER))",
        ),
        _ => (
            "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND INFO LIKE 'UPDATE%'",
            "KILL QUERY ?",
        ),
    };
    let mut admin = db.pool.acquire().await.unwrap();
    let admin = Conn::<DB>::from_mut(&mut admin);
    let mut cut_off = false;
    for _ in 0..100 {
        let rows = admin.fetch_all(sqlx::query(find)).await.unwrap();
        if let Some(row) = rows.first() {
            let session: i64 = DB::get(row, 0).unwrap();
            admin
                .execute(DB::bind(sqlx::query(cut), &session))
                .await
                .unwrap();
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cut_off, "the update never waited for the lock");
    let error = waiting.await.unwrap().unwrap_err();
    assert_eq!(error.model(), "Plain");
    if galera {
        let number = match &error {
            Error::Database {
                source: sqlx::Error::Database(e),
                ..
            } => e
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|e| e.number()),
            _ => None,
        };
        assert_eq!(
            number,
            Some(1213),
            "a Galera node answers ER_LOCK_DEADLOCK: {error:?}"
        );
        assert!(!error.is_outcome_unknown(), "{error:?}");
    } else {
        assert!(error.is_outcome_unknown(), "{error:?}");
        assert_eq!(
            error.to_string(),
            "the connection was lost while committing Plain: the write may or may not have \
             been stored"
        );
    }
    holder.rollback().await.unwrap();
    assert_eq!(Plain::get(&db.pool, id).await.unwrap().name, "locked");
}

/// Whether `db` is on a node of a Galera cluster: `@@wsrep_on` is 1. No on SQLite and
/// PostgreSQL, and on a MySQL server, which has no such variable.
async fn wsrep_on<DB: TestBackend>(db: &TestDb<DB>) -> bool {
    if DB::DIALECT != model_core::Dialect::MySql {
        return false;
    }
    let mut conn = db.pool.acquire().await.unwrap();
    let on = Conn::<DB>::from_mut(&mut conn)
        .fetch_optional(sqlx::query("SELECT CAST(@@wsrep_on AS SIGNED)"))
        .await;
    match on {
        Ok(Some(row)) => DB::get::<i64>(&row, 0).unwrap() == 1,
        _ => false,
    }
}

per_backend!(@backend cut_off_postgres, ::sqlx::Postgres, [a_statement_cut_off_by_the_server_is_an_unknown_outcome], []);
per_backend!(@backend cut_off_mysql, ::sqlx::MySql, [a_statement_cut_off_by_the_server_is_an_unknown_outcome], []);

/// `error` is a database error mentioning `what`: the write's own statement, or the SQL of
/// its async listener (then wrapped in a listener error, as the caller should see it).
fn assert_database_error(error: &Error, what: &str) {
    let database = match error {
        Error::Listener { source, .. } => source
            .downcast_ref::<Error>()
            .unwrap_or_else(|| panic!("expected a database error, got {error:?}")),
        other => other,
    };
    match database {
        Error::Database { source, .. } => assert!(source.to_string().contains(what), "{source}"),
        other => panic!("expected a database error, got {other:?}"),
    }
}

/// SQLite only: a file database held by another writer, and a read-only one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_and_read_only_databases_are_typed_errors() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;

    let dir = std::env::temp_dir().join(format!("model-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("locked.db");
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .busy_timeout(Duration::from_millis(100));
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await
        .unwrap();
    sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE item_log (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();

    let mut other = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let error = item("blocked").insert(&pool).await.unwrap_err();
    assert_database_error(&error, "locked");
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    item("free").insert(&pool).await.unwrap();
    let names: Vec<String> = Item::all(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["free"]);

    let read_only = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone().read_only(true))
        .await
        .unwrap();
    let error = item("ro").insert(&read_only).await.unwrap_err();
    assert_database_error(&error, "readonly");
    assert_eq!(
        Item::all(&read_only).await.unwrap().len(),
        1,
        "reads still work"
    );
    pool.close().await;
    read_only.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

use sqlx::Connection as _;
