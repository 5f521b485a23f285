//! `insert_all` and `delete_all` as multi-row statements: every row's listeners, keys on the
//! right models, all or nothing across statements.

use std::sync::{Arc, Mutex};

use model_core::{ConstraintKind, Error, Model};
use model_tests::{per_backend, MysqlCounters, TestBackend, TestDb};

type Trace = Arc<Mutex<Vec<String>>>;

/// Ten columns, so that one statement holds only a few thousand rows (PostgreSQL and MySQL
/// bind at most 65,535 values, SQLite 32,766): the batches below span several statements.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "wide")]
#[listens_for(before_insert, derive_b)]
#[listens_for(after_insert, inserted)]
#[listens_for(before_delete, deleting)]
#[listens_for(after_delete, deleted)]
struct Wide {
    id: Option<i64>,
    #[model(unique)]
    code: String,
    a: i64,
    b: i64,
    c: i64,
    d: i64,
    e: i64,
    f: i64,
    g: i64,
    h: i64,
    #[model(skip)]
    trace: Trace,
}

fn derive_b(row: &mut Wide) {
    // Its change is written: every column is derived from `a`.
    row.b = row.a * 2;
    row.trace
        .lock()
        .unwrap()
        .push(format!("before {}", row.code));
}

fn inserted(row: &Wide) {
    assert!(row.id.is_some(), "the key is set before after_insert");
    row.trace
        .lock()
        .unwrap()
        .push(format!("after {}", row.code));
}

fn deleting(row: &Wide) {
    row.trace
        .lock()
        .unwrap()
        .push(format!("before_delete {}", row.code));
}

fn deleted(row: &Wide) {
    row.trace
        .lock()
        .unwrap()
        .push(format!("after_delete {}", row.code));
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Wide::create_table(&db.pool).await.unwrap();
}

fn row(n: i64, trace: &Trace) -> Wide {
    Wide {
        id: None,
        code: format!("row-{n}"),
        a: n,
        b: 0,
        c: n + 1,
        d: n + 2,
        e: n + 3,
        f: n + 4,
        g: n + 5,
        h: n + 6,
        trace: trace.clone(),
    }
}

/// Every stored row, by key: `(id, code, a, b)`.
async fn stored<DB: TestBackend>(db: &TestDb<DB>) -> Vec<(i64, String, i64, i64)> {
    let mut rows: Vec<_> = Wide::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.id.unwrap(), w.code, w.a, w.b))
        .collect();
    rows.sort();
    rows
}

/// 15,000 rows (several statements on every backend), some with keys of their own among
/// them: every model gets the key of its own row, checked against the row's content.
async fn keys_land_on_their_own_models<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let mut rows: Vec<Wide> = (0..15_000).map(|n| row(n, &trace)).collect();
    // Below the generated ones: a preset key above them would move MySQL's and SQLite's
    // counter, and a later generated key could then collide with another preset one.
    for (i, preset) in [(0, -1), (7_000, -2), (14_999, -3)] {
        rows[i].id = Some(preset);
    }
    Wide::insert_all(&mut rows, &db.pool).await.unwrap();
    let by_key: std::collections::HashMap<i64, (String, i64, i64)> = stored(db)
        .await
        .into_iter()
        .map(|(id, code, a, b)| (id, (code, a, b)))
        .collect();
    assert_eq!(by_key.len(), 15_000);
    for model in &rows {
        let (code, a, b) = &by_key[&model.id.unwrap()];
        assert_eq!(
            code, &model.code,
            "the key of {} names another row",
            model.code
        );
        assert_eq!((*a, *b), (model.a, model.a * 2), "{}", model.code);
    }
    assert_eq!(rows[7_000].id, Some(-2), "a preset key is kept");
}

/// The order within a batch is SQLAlchemy's flush order: every `before_insert`, the
/// statements, every `after_insert`; likewise for `delete_all`.
async fn listeners_run_before_all_then_after_all<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let mut rows: Vec<Wide> = (0..3).map(|n| row(n, &trace)).collect();
    Wide::insert_all(&mut rows, &db.pool).await.unwrap();
    Wide::delete_all(&rows, &db.pool).await.unwrap();
    let expected = [
        "before row-0",
        "before row-1",
        "before row-2",
        "after row-0",
        "after row-1",
        "after row-2",
        "before_delete row-0",
        "before_delete row-1",
        "before_delete row-2",
        "after_delete row-0",
        "after_delete row-1",
        "after_delete row-2",
    ];
    assert_eq!(*trace.lock().unwrap(), expected);
    assert_eq!(db.count("wide").await, 0);
}

/// A unique violation in the second statement of a batch: an `Error::Constraint`, nothing
/// of the batch stored (the first statement's rows included), and no model keeps a key.
async fn a_failure_in_the_second_statement_writes_nothing<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let mut rows: Vec<Wide> = (0..12_000).map(|n| row(n, &trace)).collect();
    rows[11_000].code = rows[3].code.clone();
    let error = Wide::insert_all(&mut rows, &db.pool).await.unwrap_err();
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
    assert_eq!(db.count("wide").await, 0);
    assert!(rows.iter().all(|r| r.id.is_none()), "a key was left behind");
    assert!(
        !trace.lock().unwrap().iter().any(|t| t.starts_with("after")),
        "after_insert ran for a batch that failed"
    );
    // The same rows, fixed, go in.
    rows[11_000].code = "fixed".into();
    Wide::insert_all(&mut rows, &db.pool).await.unwrap();
    assert_eq!(db.count("wide").await, 12_000);
}

/// `delete_all` with one row missing: `Error::NotFound` naming it, and nothing deleted.
async fn delete_all_with_a_missing_row_deletes_nothing<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let mut rows: Vec<Wide> = (0..5).map(|n| row(n, &trace)).collect();
    Wide::insert_all(&mut rows, &db.pool).await.unwrap();
    let mut gone = rows[3].clone();
    gone.id = Some(999_999);
    let mut targets = rows.clone();
    targets[3] = gone;
    let error = Wide::delete_all(&targets, &db.pool).await.unwrap_err();
    match &error {
        Error::NotFound { model: "Wide", key } => assert_eq!(key, "999999"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(db.count("wide").await, 5);
    // The same key twice: the second is not found.
    let twice = [rows[0].clone(), rows[0].clone()];
    assert!(matches!(
        Wide::delete_all(&twice, &db.pool).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(db.count("wide").await, 5);
    Wide::delete_all(&rows, &db.pool).await.unwrap();
    assert_eq!(db.count("wide").await, 0);
}

/// A batch inside a caller's transaction is part of it: rolled back with it.
async fn a_batch_in_a_callers_transaction_rolls_back_with_it<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let mut rows: Vec<Wide> = (0..100).map(|n| row(n, &trace)).collect();
    let mut tx = db.pool.begin().await.unwrap();
    Wide::insert_all(&mut rows, &mut tx).await.unwrap();
    assert_eq!(Wide::all(&mut tx).await.unwrap().len(), 100);
    tx.rollback().await.unwrap();
    assert_eq!(db.count("wide").await, 0);
}

/// A table of nothing but its generated key: each row has nothing to bind, so its rows go
/// one statement each (`DEFAULT VALUES`), and each still gets its own key.
#[derive(Debug, Model)]
#[model(table = "tickets")]
struct Ticket {
    id: Option<i64>,
}

async fn a_table_of_only_its_key_takes_batches<DB: TestBackend>(db: &TestDb<DB>) {
    Ticket::create_table(&db.pool).await.unwrap();
    let mut tickets: Vec<Ticket> = (0..5).map(|_| Ticket { id: None }).collect();
    Ticket::insert_all(&mut tickets, &db.pool).await.unwrap();
    let keys: Vec<i64> = tickets.iter().map(|t| t.id.expect("a key")).collect();
    let mut stored: Vec<i64> = Ticket::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.unwrap())
        .collect();
    stored.sort_unstable();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "five distinct keys: {keys:?}");
    assert_eq!(stored, sorted);
}

/// MySQL with `auto_increment_increment = 2` (as replication set-ups use): the keys of a
/// multi-row INSERT step by 2, and each model must still get its own row's key. Guards
/// `batch::generated_keys` reading the server's increment.
///
/// On a Galera node the session cannot set it: with `wsrep_auto_increment_control` (on by
/// default) the node keeps `auto_increment_increment` at the cluster's size whatever a
/// session sets, so there the keys step by the cluster's size; and its
/// `innodb_autoinc_lock_mode = 2` makes the batch read its keys back (`RETURNING`, MariaDB).
/// Either way each model
/// gets its own row's key, and the keys step by the increment the session really has.
#[tokio::test]
async fn mysql_keys_follow_the_servers_increment() {
    let Some(db) = <sqlx::MySql as TestBackend>::fresh(concat!(
        module_path!(),
        "::mysql_keys_follow_the_servers_increment"
    ))
    .await
    else {
        return;
    };
    schema(&db).await;
    let pool = db
        .pool_with_session("SET SESSION auto_increment_increment = 2")
        .await;
    let trace = Trace::default();
    let mut rows: Vec<Wide> = (0..50).map(|n| row(n, &trace)).collect();
    Wide::insert_all(&mut rows, &pool).await.unwrap();
    let by_key: std::collections::HashMap<i64, String> = stored(&db)
        .await
        .into_iter()
        .map(|(id, code, _, _)| (id, code))
        .collect();
    for model in &rows {
        assert_eq!(
            by_key.get(&model.id.unwrap()),
            Some(&model.code),
            "the key of {} names another row",
            model.code
        );
    }
    let keys: Vec<i64> = rows.iter().map(|r| r.id.unwrap()).collect();
    let increment: i64 = sqlx::query_scalar("SELECT CAST(@@auto_increment_increment AS SIGNED)")
        .fetch_one(&pool)
        .await
        .unwrap();
    let galera = sqlx::query_scalar::<_, i64>("SELECT CAST(@@wsrep_on AS SIGNED)")
        .fetch_one(&pool)
        .await
        .is_ok_and(|on| on == 1);
    if !galera {
        assert_eq!(increment, 2, "the session's setting holds off a cluster");
    }
    assert!(
        keys.windows(2).all(|pair| pair[1] - pair[0] == increment),
        "the server stepped by {increment}: {keys:?}"
    );
    pool.close().await;
    db.finish().await;
}

/// A batch is a few multi-row statements, not one statement per row: counted by the server
/// (`Com_insert`, kept per session, so the batch runs on one connection). MySQL only: the
/// other servers keep no per-session count of statements; the code that sizes the
/// statements is the same for all three.
///
/// Where generated keys of one multi-row INSERT need not be consecutive,
/// `innodb_autoinc_lock_mode = 2` (interleaved; a Galera cluster requires it), MariaDB 10.5
/// and later return them (`INSERT ... RETURNING`): still three statements, and every key
/// names its own row. MySQL, which has no `RETURNING`, gets one statement a row there, to
/// learn each row's key (`batch::generated_keys`); so the count depends on the mode and the
/// server, read here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_counts_few_statements_and_no_needless_begin() {
    let Some(db) = <sqlx::MySql as TestBackend>::fresh(concat!(
        module_path!(),
        "::mysql_counts_few_statements_and_no_needless_begin"
    ))
    .await
    else {
        return;
    };
    schema(&db).await;
    let mut conn = db.pool.acquire().await.unwrap();
    let trace = Trace::default();

    // Ten values a row, at most 65,535 a statement: 6,553 rows, so 15,000 rows are three.
    let mut generated: Vec<Wide> = (0..15_000).map(|n| row(n, &trace)).collect();
    let mode: i64 = sqlx::query_scalar("SELECT CAST(@@innodb_autoinc_lock_mode AS SIGNED)")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let statements = if mode == 2 && !version.contains("MariaDB") {
        15_000
    } else {
        3
    };
    let inserts = MysqlCounters::read(&mut conn, &["Com_insert"]).await;
    Wide::insert_all(&mut generated, &mut *conn).await.unwrap();
    assert_eq!(
        inserts.since(&mut conn).await,
        [("Com_insert", statements)],
        "innodb_autoinc_lock_mode = {mode} on {version}"
    );
    // Each key names its own row, whichever way it came back.
    let codes: std::collections::HashMap<i64, String> = Wide::all(&mut *conn)
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.id.unwrap(), w.code))
        .collect();
    for model in &generated {
        assert_eq!(
            codes.get(&model.id.unwrap()),
            Some(&model.code),
            "mode {mode}"
        );
    }

    // Rows that bring their keys (eleven values a row): 100 rows are one statement.
    let mut keyed: Vec<Wide> = (0..100)
        .map(|n| Wide {
            id: Some(1_000_000 + n),
            ..row(20_000 + n, &trace)
        })
        .collect();
    let inserts = MysqlCounters::read(&mut conn, &["Com_insert"]).await;
    Wide::insert_all(&mut keyed, &mut *conn).await.unwrap();
    assert_eq!(inserts.since(&mut conn).await, [("Com_insert", 1)]);

    // A batch of one row without listeners after its statement is one statement, atomic on
    // its own: no transaction around it. Two rows are two statements' worth: one.
    Ticket::create_table(&db.pool).await.unwrap();
    let begins = MysqlCounters::read(&mut conn, &["Com_begin"]).await;
    Ticket::insert_all(&mut [Ticket { id: None }], &mut *conn)
        .await
        .unwrap();
    assert_eq!(begins.since(&mut conn).await, [("Com_begin", 0)]);
    Ticket::insert_all(&mut [Ticket { id: None }, Ticket { id: None }], &mut *conn)
        .await
        .unwrap();
    assert_eq!(begins.since(&mut conn).await, [("Com_begin", 1)]);
    // The same for `insert`, `update` and `delete` of one row.
    let mut one = Ticket { id: None };
    one.insert(&mut *conn).await.unwrap();
    one.update(&mut *conn).await.unwrap();
    one.delete(&mut *conn).await.unwrap();
    assert_eq!(begins.since(&mut conn).await, [("Com_begin", 1)]);
    // In a caller's transaction, MySQL undoes a failed statement and nothing else: no
    // savepoint around a one-statement write (PostgreSQL needs one).
    let savepoints = MysqlCounters::read(&mut conn, &["Com_savepoint"]).await;
    let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
    Ticket { id: None }.insert(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(savepoints.since(&mut conn).await, [("Com_savepoint", 0)]);
    drop(conn);

    assert_eq!(stored(&db).await.len(), 15_100);
    db.finish().await;
}

per_backend!(
    a_table_of_only_its_key_takes_batches,
    keys_land_on_their_own_models,
    listeners_run_before_all_then_after_all,
    a_failure_in_the_second_statement_writes_nothing,
    delete_all_with_a_missing_row_deletes_nothing,
    a_batch_in_a_callers_transaction_rolls_back_with_it,
);
