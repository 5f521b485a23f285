//! `before_commit` and `after_rollback`: the listeners of the end of the outermost
//! transaction. `before_commit` runs inside it, once per row written, right before `COMMIT`,
//! and can veto it or write SQL that commits with it; `after_rollback` runs once it (or the
//! savepoint a row was written in) has rolled back, for each row whose statement ran, and
//! never for a committed row.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use model_core::schema::Schema;
use model_core::{listen, on, once, transaction, AnyModel, Backend, Conn, Dialect, Error, Event};
use model_core::{Model, Value};
use model_tests::{per_backend, Col, TestBackend, TestDb};

type Trace = Arc<Mutex<Vec<String>>>;

#[derive(Debug, Clone, Default, Model)]
#[model(table = "orders")]
#[listens_for(before_insert, refuse_before)]
#[listens_for(after_insert, refuse_after)]
#[listens_for(before_commit, check_order, audit_order)]
#[listens_for(after_rollback, undone, undone_async)]
struct Order {
    id: Option<i64>,
    label: String,
    /// Shared by the clones the commit and rollback listeners get.
    #[model(skip)]
    trace: Trace,
}

/// A second model, with function-side listeners only.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "lines")]
struct Line {
    id: Option<i64>,
    label: String,
    #[model(skip)]
    trace: Trace,
}

/// Written only by the run-time listener test, so that a `once` listener of it is not used
/// up by another test's row.
#[derive(Debug, Clone, Model)]
#[model(table = "tallies")]
struct Tally {
    id: Option<i64>,
    label: String,
}

/// A model that is not `Clone`: a row's `before_commit` listeners of every model get its
/// `ModelRow`, so such a model may be written while they listen. Its own listeners, one
/// struct-side and one function-side, listen to other events than `before_commit`.
#[derive(Debug, Model)]
#[model(table = "memos")]
#[listens_for(before_insert, memo_stamped)]
struct Memo {
    id: Option<i64>,
    label: String,
}

fn memo_stamped(memo: &mut Memo) {
    memo.label.push('+');
}

/// Calls of `memo_inserted` and `memo_deleted`: each only by its own event.
static MEMO_INSERTED: AtomicUsize = AtomicUsize::new(0);
static MEMO_DELETED: AtomicUsize = AtomicUsize::new(0);

#[model_core::listens_for(after_delete)]
fn memo_deleted(_: &Memo) {
    MEMO_DELETED.fetch_add(1, Ordering::SeqCst);
}

#[model_core::listens_for(after_insert)]
fn memo_inserted(memo: &Memo) -> Result<(), Refused> {
    MEMO_INSERTED.fetch_add(1, Ordering::SeqCst);
    match memo.label.ends_with('+') {
        true => Ok(()),
        false => Err(Refused("before_insert ran first")),
    }
}

/// What `audit_order` writes in the transaction it is about to commit.
#[derive(Debug, Clone, Model)]
#[model(table = "audit")]
struct Audit {
    id: Option<i64>,
    entry: String,
}

/// A child whose deferred foreign key fails at `COMMIT` when its parent is missing.
#[derive(Debug, Clone, Model)]
#[model(table = "children")]
#[listens_for(after_rollback, child_undone)]
struct Child {
    id: Option<i64>,
    parent_id: i64,
    #[model(skip)]
    trace: Trace,
}

#[derive(Debug)]
struct Refused(&'static str);
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: {}", self.0)
    }
}
impl std::error::Error for Refused {}

fn push(trace: &Trace, entry: String) {
    trace.lock().unwrap().push(entry);
}

fn refuse_before(order: &mut Order) -> Result<(), Refused> {
    match order.label.as_str() {
        "veto-before" => Err(Refused("before_insert")),
        _ => Ok(()),
    }
}

fn refuse_after(order: &Order) -> Result<(), Refused> {
    match order.label.as_str() {
        "veto-after" => Err(Refused("after_insert")),
        _ => Ok(()),
    }
}

fn check_order(order: &Order) -> Result<(), Refused> {
    push(&order.trace, format!("before_commit:{}", order.label));
    match order.label.as_str() {
        "veto-at-commit" => Err(Refused("before_commit")),
        _ => Ok(()),
    }
}

/// SQL of its own, in the transaction about to commit.
async fn audit_order<DB: Backend>(order: &Order, conn: &mut Conn<DB>) -> Result<(), Error> {
    let mut audit = Audit {
        id: None,
        entry: format!("committing {} as {:?}", order.label, order.id),
    };
    audit.insert(conn).await
}

fn undone(order: &Order) {
    push(
        &order.trace,
        format!("after_rollback:{}:{}", order.label, order.id.is_some()),
    );
}

async fn undone_async(order: &Order) {
    tokio::task::yield_now().await;
    push(
        &order.trace,
        format!("after_rollback_async:{}", order.label),
    );
}

fn child_undone(child: &Child) {
    push(
        &child.trace,
        format!("after_rollback:child:{}", child.parent_id),
    );
}

/// Function-side listeners of `Line`.
#[model_core::listens_for(before_commit)]
fn line_before_commit(line: &Line) {
    push(&line.trace, format!("before_commit:line:{}", line.label));
}

#[model_core::listens_for(after_rollback)]
async fn line_rolled_back(line: &Line) {
    push(&line.trace, format!("after_rollback:line:{}", line.label));
}

/// Function-side listeners of every model: they see the rows labelled `every-…` (the other
/// tests' rows, of this binary's every backend, go by).
static EVERY: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn every_label(model: &dyn AnyModel) -> Option<String> {
    match model.column_value("label") {
        Some(Value::Text(label)) if label.starts_with("every-") => Some(label),
        _ => None,
    }
}

#[model_core::listens_for(before_commit)]
fn every_before_commit(model: &dyn AnyModel) -> Result<(), Refused> {
    if let Some(label) = every_label(model) {
        EVERY.lock().unwrap().push(format!(
            "before_commit:{}:{label}:{}",
            model.model_name(),
            model.key_value() != Value::Null
        ));
        if label.ends_with("-veto") {
            return Err(Refused("every model"));
        }
    }
    Ok(())
}

#[model_core::listens_for(after_rollback)]
fn every_after_rollback(model: &dyn AnyModel) {
    if let Some(label) = every_label(model) {
        EVERY
            .lock()
            .unwrap()
            .push(format!("after_rollback:{}:{label}", model.model_name()));
    }
}

fn order(label: &str, trace: &Trace) -> Order {
    Order {
        id: None,
        label: label.into(),
        trace: trace.clone(),
    }
}

fn line(label: &str, trace: &Trace) -> Line {
    Line {
        id: None,
        label: label.into(),
        trace: trace.clone(),
    }
}

fn entries(trace: &Trace) -> Vec<String> {
    std::mem::take(&mut *trace.lock().unwrap())
}

async fn audit_entries<DB: TestBackend>(db: &TestDb<DB>) -> Vec<String> {
    let mut rows: Vec<Audit> = Audit::all(&db.pool).await.unwrap();
    rows.sort_by_key(|a| a.id);
    rows.into_iter().map(|a| a.entry).collect()
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Order>()
        .model::<Line>()
        .model::<Audit>()
        .model::<Tally>()
        .model::<Memo>()
        .create_all(&db.pool)
        .await
        .unwrap();
}

fn body_error() -> Error {
    Error::NotFound {
        model: "Order",
        key: "the body's own error".into(),
    }
}

async fn before_commit_sees_each_row_and_its_sql_commits_with_them<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let trace = Trace::default();

    // A write on the pool owns its transaction: its listeners run before its commit.
    let mut single = order("single", &trace);
    single.insert(&db.pool).await.unwrap();
    assert_eq!(entries(&trace), ["before_commit:single"]);
    assert_eq!(
        audit_entries(db).await,
        [format!("committing single as {:?}", single.id)],
        "the listener saw the generated key, and its row committed"
    );

    // In a transaction: once per row written, in write order, after the body.
    let inner = trace.clone();
    transaction(&db.pool, |conn| {
        Box::pin(async move {
            let mut a = order("a", &inner);
            a.insert(&mut *conn).await?;
            order("b", &inner).insert(&mut *conn).await?;
            a.label = "a2".into();
            a.update(&mut *conn).await?;
            push(&inner, "body done".into());
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        entries(&trace),
        [
            "body done",
            "before_commit:a",
            "before_commit:b",
            "before_commit:a2"
        ]
    );
    assert_eq!(db.count("audit").await, 4);
    assert_eq!(db.count("orders").await, 3);

    // A set-based update runs each row's listeners, `before_commit` included.
    let updated = Order::filter(|o| o.label.eq("b".to_owned()))
        .update(|o| o.label.set("b2".to_owned()), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 1);
    assert_eq!(db.count("audit").await, 5);

    // Function-side listeners of `Line`, with no struct-side ones.
    let mut l = line("l", &trace);
    l.insert(&db.pool).await.unwrap();
    assert_eq!(entries(&trace), ["before_commit:line:l"]);
    assert_eq!(
        Order::listeners(Event::BeforeCommit)
            .map(|l| l.listener)
            .collect::<Vec<_>>()[..2],
        ["check_order", "audit_order"]
    );
}

async fn before_commit_veto_rolls_back_everything<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let inner = trace.clone();
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            order("fine", &inner).insert(&mut *conn).await?;
            order("veto-at-commit", &inner).insert(&mut *conn).await?;
            line("l", &inner).insert(&mut *conn).await?;
            Ok::<_, Error>(())
        })
    })
    .await;
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Listener {
                model: "Order",
                event: Event::BeforeCommit,
                listener: "check_order",
                ..
            }
        ),
        "{error:?}"
    );
    let source = error
        .listener_error::<Refused>()
        .expect("the listener's error");
    assert_eq!(source.0, "before_commit");
    assert!(std::error::Error::source(&error).is_some());
    // The first row's listeners ran (its audit row was written), then the veto: nothing of
    // it is stored, and every row written is rolled back.
    assert_eq!(
        entries(&trace),
        [
            "before_commit:fine",
            "before_commit:veto-at-commit",
            "after_rollback:fine:true",
            "after_rollback_async:fine",
            "after_rollback:veto-at-commit:true",
            "after_rollback_async:veto-at-commit",
            "after_rollback:line:l",
        ]
    );
    assert_eq!(db.count("orders").await, 0);
    assert_eq!(db.count("lines").await, 0);
    assert_eq!(db.count("audit").await, 0);

    // A write that owns its transaction: vetoed at its commit, its key cleared.
    let mut vetoed = order("veto-at-commit", &trace);
    let error = vetoed.insert(&db.pool).await.unwrap_err();
    assert!(error.listener_error::<Refused>().is_some(), "{error:?}");
    assert_eq!(vetoed.id, None);
    assert_eq!(
        entries(&trace),
        [
            "before_commit:veto-at-commit",
            "after_rollback:veto-at-commit:true",
            "after_rollback_async:veto-at-commit",
        ]
    );
    assert_eq!(db.count("orders").await, 0);
    assert_eq!(db.count("audit").await, 0);
}

async fn after_rollback_runs_for_rolled_back_rows_only<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();

    // Committed: no after_rollback.
    order("kept", &trace).insert(&db.pool).await.unwrap();
    assert_eq!(entries(&trace), ["before_commit:kept"]);

    // The body fails after two writes: both rows, as written (keys set), after the rollback.
    let inner = trace.clone();
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            order("x", &inner).insert(&mut *conn).await?;
            order("y", &inner).insert(&mut *conn).await?;
            assert!(
                !entries(&inner)
                    .iter()
                    .any(|e| e.starts_with("after_rollback")),
                "not while the transaction is open"
            );
            Err::<(), _>(body_error())
        })
    })
    .await;
    assert!(matches!(result, Err(Error::NotFound { .. })));
    assert_eq!(
        entries(&trace),
        [
            "after_rollback:x:true",
            "after_rollback_async:x",
            "after_rollback:y:true",
            "after_rollback_async:y",
        ]
    );

    // A savepoint rolled back inside a committed transaction: its rows only, once the
    // outer transaction has ended; the rows around it commit.
    let inner = trace.clone();
    transaction(&db.pool, |conn| {
        Box::pin(async move {
            order("outer-1", &inner).insert(&mut *conn).await?;
            let nested = inner.clone();
            let failed = transaction(&mut *conn, |conn| {
                Box::pin(async move {
                    order("nested", &nested).insert(&mut *conn).await?;
                    Err::<(), _>(body_error())
                })
            })
            .await;
            assert!(failed.is_err());
            order("outer-2", &inner).insert(&mut *conn).await?;
            push(&inner, "body done".into());
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        entries(&trace),
        [
            "body done",
            "before_commit:outer-1",
            "before_commit:outer-2",
            "after_rollback:nested:true",
            "after_rollback_async:nested",
        ]
    );
    assert_eq!(db.count("orders").await, 3);

    // A write vetoed by its own after_insert listener: its statement ran, and is undone.
    let error = order("veto-after", &trace)
        .insert(&db.pool)
        .await
        .unwrap_err();
    assert!(error.listener_error::<Refused>().is_some(), "{error:?}");
    assert_eq!(
        entries(&trace),
        [
            "after_rollback:veto-after:true",
            "after_rollback_async:veto-after"
        ]
    );
    // Vetoed before its statement: nothing ran, nothing to undo.
    let error = order("veto-before", &trace)
        .insert(&db.pool)
        .await
        .unwrap_err();
    assert!(error.listener_error::<Refused>().is_some(), "{error:?}");
    assert_eq!(entries(&trace), Vec::<String>::new());
    assert_eq!(db.count("orders").await, 3);
}

async fn after_rollback_runs_when_the_commit_fails<DB: TestBackend>(db: &TestDb<DB>) {
    if DB::DIALECT == Dialect::MySql {
        // InnoDB checks foreign keys per statement: no constraint waits for COMMIT.
        return;
    }
    // Hand-written: no model; only the target of the deferred foreign key below.
    db.create_table("parents", &[("id", Col::Serial)]).await;
    // Hand-written: the deferred foreign key is what this test is about.
    db.create_table_with(
        "children",
        &[("id", Col::Serial), ("parent_id", Col::BigIntNotNull)],
        &[&format!(
            "FOREIGN KEY ({}) REFERENCES {} ({}) DEFERRABLE INITIALLY DEFERRED",
            db.quote("parent_id"),
            db.quote("parents"),
            db.quote("id")
        )],
    )
    .await;
    let trace = Trace::default();
    let inner = trace.clone();
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            let mut orphan = Child {
                id: None,
                parent_id: 999,
                trace: inner.clone(),
            };
            orphan.insert(&mut *conn).await?;
            push(&inner, "inserted".into());
            Ok::<_, Error>(())
        })
    })
    .await;
    assert!(
        matches!(
            result,
            Err(Error::Constraint {
                kind: model_core::ConstraintKind::ForeignKey,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(entries(&trace), ["inserted", "after_rollback:child:999"]);
    assert_eq!(db.count("children").await, 0);
}

async fn every_model_listeners_see_both_models_in_one_transaction<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let trace = Trace::default();
    let tag = format!("every-{:?}", DB::DIALECT);
    let mine = |tag: &str| -> Vec<String> {
        let mut every = EVERY.lock().unwrap();
        let (mine, others): (Vec<String>, Vec<String>) =
            every.drain(..).partition(|e| e.contains(tag));
        *every = others;
        mine.into_iter().map(|e| e.replace(tag, "")).collect()
    };

    let (inner, t) = (trace.clone(), tag.clone());
    transaction(&db.pool, |conn| {
        Box::pin(async move {
            order(&format!("{t}-o"), &inner).insert(&mut *conn).await?;
            line(&format!("{t}-l"), &inner).insert(&mut *conn).await?;
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        mine(&tag),
        ["before_commit:Order:-o:true", "before_commit:Line:-l:true"]
    );

    // Rolled back: both models' rows, for every model.
    let (inner, t) = (trace.clone(), tag.clone());
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            order(&format!("{t}-o2"), &inner).insert(&mut *conn).await?;
            line(&format!("{t}-l2"), &inner).insert(&mut *conn).await?;
            Err::<(), _>(body_error())
        })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(
        mine(&tag),
        ["after_rollback:Order:-o2", "after_rollback:Line:-l2"]
    );

    // A listener of every model vetoes the commit: the typed error names it.
    let (inner, t) = (trace.clone(), tag.clone());
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            line(&format!("{t}-l3"), &inner).insert(&mut *conn).await?;
            order(&format!("{t}-veto"), &inner)
                .insert(&mut *conn)
                .await?;
            Ok::<_, Error>(())
        })
    })
    .await;
    let error = result.unwrap_err();
    match &error {
        Error::Listener {
            model: "Order",
            event: Event::BeforeCommit,
            listener,
            ..
        } => assert!(listener.ends_with("every_before_commit"), "{listener}"),
        other => panic!("{other:?}"),
    }
    assert!(error.listener_error::<Refused>().is_some());
    assert_eq!(
        mine(&tag),
        [
            "before_commit:Line:-l3:true",
            "before_commit:Order:-veto:true",
            "after_rollback:Line:-l3",
            "after_rollback:Order:-veto"
        ]
    );
    assert_eq!(db.count("orders").await, 1);
    assert_eq!(db.count("lines").await, 1);
}

/// Run-time listeners are global to the process, and `per_backend!` runs the three backends'
/// tests at once: these take turns.
static RUNTIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run_time_listeners_of_commit_and_rollback_from_concurrent_tasks<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let _turn = RUNTIME.lock().await;
    schema(db).await;
    let trace = Trace::default();
    let before = Arc::new(AtomicUsize::new(0));
    // Four tasks listen at once: before_commit of Line, after_rollback of every model.
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let before = before.clone();
            tokio::spawn(async move {
                // Other tests of this binary write lines at the same time: `rt-` are ours.
                let counted = listen(on::BeforeCommit, move |l: &Line| {
                    if l.label.starts_with("rt-") {
                        before.fetch_add(1, Ordering::SeqCst);
                    }
                });
                let vetoing = listen(on::BeforeCommit, move |l: &Line| -> Result<(), Refused> {
                    match l.label.as_str() {
                        "rt-veto" if i == 0 => Err(Refused("run time")),
                        _ => Ok(()),
                    }
                });
                (counted, vetoing)
            })
        })
        .collect();
    let mut handles = Vec::new();
    for task in tasks {
        handles.push(task.await.unwrap());
    }
    let rolled_back = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = rolled_back.clone();
    let every = listen(on::AfterRollback, move |model: &dyn AnyModel| {
        if let Some(Value::Text(label)) = model.column_value("label") {
            if label.starts_with("rt-") {
                log.lock()
                    .unwrap()
                    .push(format!("{}:{label}", model.model_name()));
            }
        }
    });

    let every_before = Arc::new(AtomicUsize::new(0));
    let counter = every_before.clone();
    let every_commit = listen(on::BeforeCommit, move |model: &dyn AnyModel| {
        if let Some(Value::Text(label)) = model.column_value("label") {
            if label.starts_with("rt-") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    line("rt-a", &trace).insert(&db.pool).await.unwrap();
    assert_eq!(before.load(Ordering::SeqCst), 4);
    assert_eq!(every_before.load(Ordering::SeqCst), 1);
    let error = line("rt-veto", &trace).insert(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Listener {
                model: "Line",
                event: Event::BeforeCommit,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(db.count("lines").await, 1);
    assert_eq!(*rolled_back.lock().unwrap(), ["Line:rt-veto"]);
    let counted = before.load(Ordering::SeqCst);

    // `once`: one of eight concurrent rolled-back transactions gets it.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let _once = once(on::AfterRollback, move |_: &Tally| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let writes: Vec<_> = (0..8)
        .map(|i| {
            let pool = db.pool.clone();
            tokio::spawn(async move {
                transaction(&pool, move |conn| {
                    Box::pin(async move {
                        let mut tally = Tally {
                            id: None,
                            label: format!("rt-{i}"),
                        };
                        tally.insert(&mut *conn).await?;
                        Err::<(), _>(body_error())
                    })
                })
                .await
            })
        })
        .collect();
    for write in writes {
        assert!(write.await.unwrap().is_err());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(rolled_back.lock().unwrap().len(), 9);
    assert_eq!(db.count("tallies").await, 0);

    // The veto came from a listener of `Line`, which runs before those of every model.
    assert_eq!(every_before.load(Ordering::SeqCst), 1);
    // A model that is not `Clone` and has no `before_commit` listener of its own: the
    // listener of every model gets its row, and the write is not refused.
    // A run-time listener of `Memo` of another event does not make it one either.
    let memo_listener = listen(on::AfterInsert, |_: &Memo| {});
    let mut memo = Memo {
        id: None,
        label: "rt-memo".into(),
    };
    let inserted = MEMO_INSERTED.load(Ordering::SeqCst);
    let deleted = MEMO_DELETED.load(Ordering::SeqCst);
    memo.insert(&db.pool).await.unwrap();
    drop(memo_listener);
    assert_eq!(every_before.load(Ordering::SeqCst), 2);
    // Its function-side `after_insert` and `after_delete` listeners run for their own event
    // only; the listener of every model sees the update and the delete too.
    memo.label = "rt-memo, updated".into();
    memo.update(&db.pool).await.unwrap();
    memo.delete(&db.pool).await.unwrap();
    assert_eq!(MEMO_INSERTED.load(Ordering::SeqCst), inserted + 1);
    assert_eq!(MEMO_DELETED.load(Ordering::SeqCst), deleted + 1);
    assert_eq!(every_before.load(Ordering::SeqCst), 4);
    assert_eq!(db.count("memos").await, 0);
    drop((handles, every, every_commit));
    line("rt-veto", &trace).insert(&db.pool).await.unwrap();
    assert_eq!(every_before.load(Ordering::SeqCst), 4);
    assert_eq!(
        before.load(Ordering::SeqCst),
        counted,
        "the listeners are gone"
    );
    assert_eq!(rolled_back.lock().unwrap().len(), 9);
}

async fn a_transaction_model_core_did_not_begin_is_refused<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let mut tx = db.pool.begin().await.unwrap();
    let error = order("raw", &trace)
        .insert(Conn::<DB>::from_mut(&mut *tx))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::CommitScope { model: "Order" }),
        "{error:?}"
    );
    // Line has before_commit and after_rollback listeners declared on functions.
    let error = line("raw", &trace)
        .insert(Conn::<DB>::from_mut(&mut *tx))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::CommitScope { model: "Line" }),
        "{error:?}"
    );
    tx.commit().await.unwrap();
    assert_eq!(entries(&trace), Vec::<String>::new());
    assert_eq!(db.count("orders").await, 0);
    assert_eq!(db.count("lines").await, 0);
}

per_backend!(
    before_commit_sees_each_row_and_its_sql_commits_with_them,
    before_commit_veto_rolls_back_everything,
    after_rollback_runs_for_rolled_back_rows_only,
    after_rollback_runs_when_the_commit_fails,
    every_model_listeners_see_both_models_in_one_transaction,
    a_transaction_model_core_did_not_begin_is_refused;
    file: run_time_listeners_of_commit_and_rollback_from_concurrent_tasks,
);
