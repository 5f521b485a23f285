//! `model_core::transaction` on SQLite, PostgreSQL and MySQL: nested in another body or in a
//! listener it is a savepoint; the body's own error type rolls it back and comes back as
//! it was; generic code passes a `sqlx::Transaction` as sqlx users do; and it runs in a
//! spawned task, its closure owning what it captured.

use std::sync::{Arc, Mutex};

use model_core::schema::Schema;
use model_core::{transaction, Backend, Conn, Error, Model};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, Default, Model)]
#[model(table = "entries")]
#[listens_for(after_insert_commit, committed)]
struct Entry {
    id: Option<i64>,
    text: String,
    #[model(skip)]
    trace: Trace,
}

type Trace = Arc<Mutex<Vec<String>>>;

fn committed(entry: &Entry) {
    entry.trace.lock().unwrap().push(entry.text.clone());
}

fn entry(text: &str, trace: &Trace) -> Entry {
    Entry {
        id: None,
        text: text.into(),
        trace: trace.clone(),
    }
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Entry>()
        .model::<Audited>()
        .create_all(&db.pool)
        .await
        .unwrap();
}

async fn texts<DB: TestBackend>(db: &TestDb<DB>) -> Vec<String> {
    let mut texts: Vec<String> = Entry::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .collect();
    texts.sort();
    texts
}

/// An application's own error: what a body returns besides model-core's.
#[derive(Debug)]
enum AppError {
    Db(Error),
    OutOfStock(&'static str),
}

impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        AppError::Db(error)
    }
}

async fn an_application_error_rolls_back_and_comes_back_as_it_was<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let trace = Trace::default();
    let inner = trace.clone();
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            entry("reserved", &inner).insert(&mut *conn).await?;
            let in_stock = Entry::all(&mut *conn).await?.len() > 5;
            if !in_stock {
                return Err(AppError::OutOfStock("widget"));
            }
            Ok(())
        })
    })
    .await;
    assert!(
        matches!(result, Err(AppError::OutOfStock("widget"))),
        "{result:?}"
    );
    assert_eq!(db.count("entries").await, 0);
    assert!(
        trace.lock().unwrap().is_empty(),
        "no commit, no commit listener"
    );

    // model-core's own errors convert into the application's with `?`.
    db.exec("DROP TABLE entries").await;
    let result: Result<(), AppError> = transaction(&db.pool, |conn| {
        Box::pin(async move {
            entry("x", &Trace::default()).insert(conn).await?;
            Ok(())
        })
    })
    .await;
    assert!(
        matches!(result, Err(AppError::Db(Error::Database { .. }))),
        "{result:?}"
    );
}

async fn a_nested_transaction_is_a_savepoint<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let inner = trace.clone();
    transaction(&db.pool, |conn| {
        Box::pin(async move {
            entry("outer before", &inner).insert(&mut *conn).await?;
            // Fails: only what it wrote is rolled back.
            let failed = transaction(&mut *conn, |conn| {
                let inner = inner.clone();
                Box::pin(async move {
                    entry("inner, rolled back", &inner).insert(conn).await?;
                    Err::<(), _>(AppError::OutOfStock("inner"))
                })
            })
            .await;
            assert!(matches!(failed, Err(AppError::OutOfStock("inner"))));
            // Succeeds: commits with the outer transaction, not before.
            transaction(&mut *conn, |conn| {
                let inner = inner.clone();
                Box::pin(async move {
                    entry("inner, kept", &inner).insert(conn).await?;
                    Ok::<_, AppError>(())
                })
            })
            .await?;
            assert!(
                inner.lock().unwrap().is_empty(),
                "a savepoint's commit listeners wait for the outermost commit"
            );
            entry("outer after", &inner).insert(&mut *conn).await?;
            Ok::<_, AppError>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        texts(db).await,
        ["inner, kept", "outer after", "outer before"]
    );
    assert_eq!(
        *trace.lock().unwrap(),
        ["outer before", "inner, kept", "outer after"],
        "after the commit, in order; none for the rolled-back savepoint"
    );

    // A savepoint that committed is still rolled back with its outer transaction.
    trace.lock().unwrap().clear();
    let inner = trace.clone();
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            transaction(&mut *conn, |conn| {
                Box::pin(async move {
                    entry("committed savepoint", &inner).insert(conn).await?;
                    Ok::<_, AppError>(())
                })
            })
            .await?;
            Err::<(), _>(AppError::OutOfStock("outer"))
        })
    })
    .await;
    assert!(matches!(result, Err(AppError::OutOfStock("outer"))));
    assert_eq!(db.count("entries").await, 3);
    assert!(trace.lock().unwrap().is_empty());
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "audits")]
#[listens_for(after_insert, audit_in_a_transaction)]
struct Audited {
    id: Option<i64>,
    text: String,
}

/// A listener opens a transaction on its own connection: a savepoint in the write's.
async fn audit_in_a_transaction<DB: Backend>(
    audited: &Audited,
    conn: &mut Conn<DB>,
) -> Result<(), Error> {
    let text = audited.text.clone();
    transaction(conn, |conn| {
        Box::pin(async move {
            let mut note = Entry {
                text: format!("audit of {text}"),
                ..Entry::default()
            };
            note.insert(&mut *conn).await?;
            if text == "refused" {
                return Err(Error::NotFound {
                    model: "Audited",
                    key: text,
                });
            }
            Ok(())
        })
    })
    .await
}

async fn a_transaction_in_a_listener_is_a_savepoint_of_the_write<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut kept = Audited {
        id: None,
        text: "kept".into(),
    };
    kept.insert(&db.pool).await.unwrap();
    assert_eq!(texts(db).await, ["audit of kept"]);

    let mut refused = Audited {
        id: None,
        text: "refused".into(),
    };
    let error = refused.insert(&db.pool).await.unwrap_err();
    assert!(matches!(error, Error::Listener { .. }), "{error:?}");
    assert_eq!(db.count("audits").await, 1, "the write rolled back with it");
    assert_eq!(texts(db).await, ["audit of kept"]);
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "audits")]
#[listens_for(after_insert, write_entry, veto_if_asked)]
struct Vetoable {
    id: Option<i64>,
    text: String,
    #[model(skip)]
    trace: Trace,
}

async fn write_entry<DB: Backend>(vetoable: &Vetoable, conn: &mut Conn<DB>) -> Result<(), Error> {
    entry(&format!("entry of {}", vetoable.text), &vetoable.trace)
        .insert(conn)
        .await
}

fn veto_if_asked(vetoable: &Vetoable) -> Result<(), std::fmt::Error> {
    if vetoable.text == "veto" {
        Err(std::fmt::Error)
    } else {
        Ok(())
    }
}

/// A write vetoed inside a transaction that goes on and commits: what its listener wrote
/// was rolled back with it, and that write's after-commit listeners never run.
async fn a_rolled_back_write_in_a_transaction_queues_no_commit_listener<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let trace = Trace::default();
    let inner = trace.clone();
    transaction(&db.pool, |conn| {
        Box::pin(async move {
            let mut vetoed = Vetoable {
                text: "veto".into(),
                trace: inner.clone(),
                ..Vetoable::default()
            };
            let error = vetoed.insert(&mut *conn).await.unwrap_err();
            assert!(matches!(error, Error::Listener { .. }), "{error:?}");
            let mut kept = Vetoable {
                text: "kept".into(),
                trace: inner,
                ..Vetoable::default()
            };
            kept.insert(&mut *conn).await?;
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(texts(db).await, ["entry of kept"]);
    assert_eq!(*trace.lock().unwrap(), ["entry of kept"]);
}

#[derive(Debug, Clone, Model)]
#[model(table = "entries")]
struct Plain {
    id: Option<i64>,
    text: String,
}

fn plain(text: &str) -> Plain {
    Plain {
        id: None,
        text: text.into(),
    }
}

/// What generic application code writes: a function over any backend, handed the
/// caller's `sqlx::Transaction`, passing it on as sqlx users do.
async fn write_in_callers_transaction<DB: Backend>(
    tx: &mut sqlx::Transaction<'_, DB>,
) -> Result<(), Error> {
    plain("through the transaction").insert(&mut *tx).await?;
    // The driver's connection inside it, for code written against `&mut DB::Connection`.
    plain("through its connection")
        .insert(Conn::<DB>::from_mut(&mut **tx))
        .await?;
    assert_eq!(Plain::all(&mut *tx).await?.len(), 2);
    Ok(())
}

async fn generic_code_writes_through_a_sqlx_transaction<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut tx = db.pool.begin().await.unwrap();
    write_in_callers_transaction(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        db.count("entries").await,
        0,
        "rolled back with the caller's"
    );

    let mut tx = db.pool.begin().await.unwrap();
    write_in_callers_transaction(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        texts(db).await,
        ["through its connection", "through the transaction"]
    );
}

/// `tokio::spawn` needs a `Send + 'static` future: `transaction`'s is `Send`, and its body
/// owns what its closure captured by `move`.
async fn transactions_run_in_spawned_tasks<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            let pool = db.pool.clone();
            let trace = trace.clone();
            let texts: Vec<String> = (0..5).map(|row| format!("task {task} row {row}")).collect();
            tokio::spawn(async move {
                transaction(&pool, move |conn| {
                    Box::pin(async move {
                        for text in texts {
                            entry(&text, &trace).insert(&mut *conn).await?;
                            tokio::task::yield_now().await;
                        }
                        Ok::<_, Error>(task)
                    })
                })
                .await
            })
        })
        .collect();
    for (task, handle) in tasks.into_iter().enumerate() {
        assert_eq!(handle.await.unwrap().unwrap(), task);
    }
    assert_eq!(db.count("entries").await, 20);
    let mut committed = trace.lock().unwrap().clone();
    committed.sort();
    assert_eq!(committed, texts(db).await);
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "audits")]
#[listens_for(before_insert, note_backend)]
struct Noted {
    id: Option<i64>,
    text: String,
}

/// A generic listener with a part for one backend: `downcast_mut` gives the concrete
/// connection exactly when the write runs on that backend.
async fn note_backend<DB: Backend>(noted: &mut Noted, conn: &mut Conn<DB>) -> Result<(), Error> {
    let sqlite = conn.downcast_mut::<sqlx::Sqlite>().is_some();
    let postgres = conn.downcast_mut::<sqlx::Postgres>().is_some();
    let mysql = conn.downcast_mut::<sqlx::MySql>().is_some();
    noted.text = format!("{sqlite} {postgres} {mysql}");
    if let Some(pg) = conn.downcast_mut::<sqlx::Postgres>() {
        // The driver's own connection, for what only it has.
        let pg: &mut sqlx::PgConnection = pg;
        assert!(pg.server_version_num().is_some());
    }
    Ok(())
}

async fn a_listener_reaches_its_backends_own_connection<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut noted = Noted::default();
    noted.insert(&db.pool).await.unwrap();
    let expected = match DB::DIALECT {
        model_core::Dialect::Sqlite => "true false false",
        model_core::Dialect::Postgres => "false true false",
        model_core::Dialect::MySql => "false false true",
    };
    assert_eq!(noted.text, expected);
}

per_backend!(
    an_application_error_rolls_back_and_comes_back_as_it_was,
    a_nested_transaction_is_a_savepoint,
    a_transaction_in_a_listener_is_a_savepoint_of_the_write,
    a_rolled_back_write_in_a_transaction_queues_no_commit_listener,
    generic_code_writes_through_a_sqlx_transaction,
    a_listener_reaches_its_backends_own_connection;
    file: transactions_run_in_spawned_tasks,
);
