//! The listener rules, each on a model that has only the listener the rule is about.
//!
//! Models with several listeners hide shortcuts: a set-based write that takes the per-row
//! path because the model also has an `after_delete` listener never shows that an
//! `after_delete_commit` listener alone would have sent it down the one-statement path. So
//! every model here has exactly the listeners its rule names, and nothing in this binary
//! listens to every model (a function-side or run-time listener of every model would give
//! each model here a listener of its event, and hide the same shortcuts again).
//!
//! - a. Set-based `update` / `delete` of a model whose only listener of the write is an
//!   `after_*_commit`, a `before_commit` or an `after_rollback` one run it once per row.
//! - b. An `after_update` veto rolls the row back and runs the model's `after_rollback`
//!   listeners.
//! - c. A `once` run-time listener of an after-commit event is not used up by a write that
//!   is rolled back.
//! - d. In a plain `sqlx::Transaction`, a model with only an `after_rollback`, only a
//!   `before_commit` or only an `after_*_commit` listener (of that write) is refused with
//!   `Error::CommitScope`, and nothing is written.
//! - e. For every event that hands out `&M`, struct-side listeners run before function-side
//!   ones, and those before run-time ones.
//! - f. `stream()` returns what `all()` returns, in the same order: descending, with
//!   `offset` and `limit` across chunk boundaries, and with `or`, `!` and nested filters.
//!
//! The listeners get rows read back from the database (set-based writes load them), whose
//! skipped fields are empty: they record into one static log, under the `tag` column of the
//! row, which names the test and the backend (the three backends' tests run at once).

use std::sync::{Arc, Mutex};

use model_core::{
    listen, on, once, transaction, Assignment, Backend, Conn, Error, Event, Listening, Model,
    Select,
};
use model_tests::{per_backend, TestBackend, TestDb};

// ---------------------------------------------------------------------------------------
// The log, the rows and their models.

/// What the listeners saw: `(tag, entry)`, in the order they ran.
static LOG: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn note(tag: &str, entry: String) {
    LOG.lock().unwrap().push((tag.to_owned(), entry));
}

/// The entries logged under `tag` so far, in order; they are taken out of the log.
fn taken(tag: &str) -> Vec<String> {
    let mut log = LOG.lock().unwrap();
    let (mine, others): (Vec<_>, Vec<_>) = log.drain(..).partition(|(t, _)| t == tag);
    *log = others;
    mine.into_iter().map(|(_, entry)| entry).collect()
}

/// `entries`, sorted: for rows a set-based write reads in the database's order.
fn sorted(mut entries: Vec<String>) -> Vec<String> {
    entries.sort();
    entries
}

/// The tag of a test's rows on backend `DB`.
fn tag<DB: TestBackend>(test: &str) -> String {
    format!("{test}/{:?}", DB::DIALECT)
}

/// Run-time listeners are global to the process and `per_backend!` runs the three
/// backends' tests at once: the tests that register them take turns.
static RUNTIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a listener refuses with.
#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}
impl std::error::Error for Refused {}

/// The error a `transaction` body returns to have it rolled back.
fn roll_back() -> Error {
    Error::NotFound {
        model: "body",
        key: "roll back".into(),
    }
}

/// What the tests need of every model here: they all have the same columns.
trait Row: Model + Clone + std::fmt::Debug {
    fn row(tag: &str, name: &str) -> Self;
    fn name(&self) -> &str;
    fn n(&self) -> i64;
    fn set_n(&mut self, n: i64);
    /// `n = value`, for a set-based update.
    fn assign_n(columns: &Self::Columns, n: i64) -> Assignment<Self>;
}

/// `Row` for models with the columns `id`, `tag`, `name` and `n`. (The models themselves
/// are written out: written by a `macro_rules!` that takes the listener's name from its
/// caller, a model does not compile. The derive spans `self` and its own locals in the
/// listener call at the listener's path, which then has another hygiene context than the
/// one the derive declares them in.)
macro_rules! impl_row {
    ($($model:ident),* $(,)?) => {$(
        impl Row for $model {
            fn row(tag: &str, name: &str) -> Self {
                $model { id: None, tag: tag.into(), name: name.into(), n: 0 }
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn n(&self) -> i64 {
                self.n
            }
            fn set_n(&mut self, n: i64) {
                self.n = n;
            }
            fn assign_n(columns: &Self::Columns, n: i64) -> Assignment<Self> {
                columns.n.set(n)
            }
        }
    )*};
}

/// Only `after_insert_commit`.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "only_insert_commit")]
#[listens_for(after_insert_commit, insert_committed)]
struct OnlyInsertCommit {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}

/// Only `after_update_commit`.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "only_update_commit")]
#[listens_for(after_update_commit, update_committed)]
struct OnlyUpdateCommit {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}

/// Only `after_delete_commit`.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "only_delete_commit")]
#[listens_for(after_delete_commit, delete_committed)]
struct OnlyDeleteCommit {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}

/// Only `before_commit`.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "only_before_commit")]
#[listens_for(before_commit, committing)]
struct OnlyBeforeCommit {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}

/// Only `after_rollback`.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "only_after_rollback")]
#[listens_for(after_rollback, rolled_back)]
struct OnlyAfterRollback {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}

/// An `after_update` veto and `after_rollback` (rule b).
#[derive(Debug, Clone, Default, Model)]
#[model(table = "vetoed_updates")]
#[listens_for(after_update, refuse_veto)]
#[listens_for(after_rollback, veto_rolled_back)]
struct VetoedUpdate {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}

/// No listener declared: only the run-time `once` listeners of rule c.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "once_rows")]
struct OnceRow {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}

impl_row!(
    OnlyInsertCommit,
    OnlyUpdateCommit,
    OnlyDeleteCommit,
    OnlyBeforeCommit,
    OnlyAfterRollback,
    VetoedUpdate,
    OnceRow,
);

fn insert_committed(row: &OnlyInsertCommit) {
    note(&row.tag, format!("after_insert_commit:{}", row.name));
}

fn update_committed(row: &OnlyUpdateCommit) {
    note(
        &row.tag,
        format!("after_update_commit:{}:n={}", row.name, row.n),
    );
}

fn delete_committed(row: &OnlyDeleteCommit) {
    note(&row.tag, format!("after_delete_commit:{}", row.name));
}

/// Reads the row in the transaction about to commit: what it saw says it runs inside it,
/// after the write. Vetoes every write of the row named `veto` but its insert (after which
/// the stored row is `n=0`).
async fn committing<DB: Backend>(
    row: &OnlyBeforeCommit,
    conn: &mut Conn<DB>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let key = row.id.expect("a written row has its key");
    let stored = match OnlyBeforeCommit::find(&mut *conn, key).await? {
        Some(stored) => format!("n={}", stored.n),
        None => "gone".into(),
    };
    note(&row.tag, format!("before_commit:{}:{stored}", row.name));
    if row.name == "veto" && stored != "n=0" {
        return Err(Refused.into());
    }
    Ok(())
}

fn rolled_back(row: &OnlyAfterRollback) {
    note(&row.tag, format!("after_rollback:{}:n={}", row.name, row.n));
}

fn refuse_veto(row: &VetoedUpdate) -> Result<(), Refused> {
    match row.name.as_str() {
        "veto" => Err(Refused),
        _ => Ok(()),
    }
}

fn veto_rolled_back(row: &VetoedUpdate) {
    note(&row.tag, format!("after_rollback:{}:n={}", row.name, row.n));
}

/// Inserts one committed row per name (through `insert_all`), and clears what listeners
/// logged doing it.
async fn stored<DB: TestBackend, M: Row>(db: &TestDb<DB>, tag: &str, names: &[&str]) -> Vec<M> {
    M::create_table(&db.pool).await.unwrap();
    let mut rows: Vec<M> = names.iter().map(|name| M::row(tag, name)).collect();
    M::insert_all(&mut rows, &db.pool).await.unwrap();
    taken(tag);
    rows
}

/// The stored rows as `name:n`, in key order.
async fn contents<DB: TestBackend, M: Row>(db: &TestDb<DB>) -> Vec<String> {
    M::all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| format!("{}:{}", row.name(), row.n()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// a. Set-based writes of a model whose only listener of the write is a commit-time one.

/// Only `after_delete_commit`: a set-based `delete` must read the rows (the one-statement
/// path would skip the listener) and run it once per deleted row, after the commit, never
/// for a rolled-back one.
async fn set_based_delete_runs_the_only_after_delete_commit_listener_per_row<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let tag = tag::<DB>("a/after_delete_commit");
    stored::<DB, OnlyDeleteCommit>(db, &tag, &["a", "b", "c", "d", "e"]).await;

    let deleted = OnlyDeleteCommit::filter(|r| r.name.in_(["a", "b", "c"]))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(
        sorted(taken(&tag)),
        [
            "after_delete_commit:a",
            "after_delete_commit:b",
            "after_delete_commit:c"
        ]
    );
    assert_eq!(contents::<DB, OnlyDeleteCommit>(db).await, ["d:0", "e:0"]);

    // In a transaction: after its commit, not when the statement ran.
    let inner = tag.clone();
    transaction(&db.pool, move |conn| {
        Box::pin(async move {
            let deleted = OnlyDeleteCommit::filter(|r| r.name.eq("d"))
                .delete(&mut *conn)
                .await?;
            assert_eq!(deleted, 1);
            assert_eq!(taken(&inner), Vec::<String>::new(), "not before the commit");
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(taken(&tag), ["after_delete_commit:d"]);

    // Rolled back: never.
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            OnlyDeleteCommit::filter(|r| r.name.eq("e"))
                .delete(&mut *conn)
                .await?;
            Err::<(), _>(roll_back())
        })
    })
    .await;
    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
    assert_eq!(taken(&tag), Vec::<String>::new());
    assert_eq!(contents::<DB, OnlyDeleteCommit>(db).await, ["e:0"]);
}

/// Only `after_update_commit`: as above, for a set-based `update`; the listener sees the
/// new values.
async fn set_based_update_runs_the_only_after_update_commit_listener_per_row<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let tag = tag::<DB>("a/after_update_commit");
    stored::<DB, OnlyUpdateCommit>(db, &tag, &["a", "b", "c", "d"]).await;

    let updated = OnlyUpdateCommit::filter(|r| r.name.in_(["a", "b", "c"]))
        .update(|r| r.n.set(7), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 3);
    assert_eq!(
        sorted(taken(&tag)),
        [
            "after_update_commit:a:n=7",
            "after_update_commit:b:n=7",
            "after_update_commit:c:n=7"
        ]
    );
    assert_eq!(
        contents::<DB, OnlyUpdateCommit>(db).await,
        ["a:7", "b:7", "c:7", "d:0"]
    );

    let inner = tag.clone();
    transaction(&db.pool, move |conn| {
        Box::pin(async move {
            OnlyUpdateCommit::filter(|r| r.name.eq("d"))
                .update(|r| r.n.set(8), &mut *conn)
                .await?;
            assert_eq!(taken(&inner), Vec::<String>::new(), "not before the commit");
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(taken(&tag), ["after_update_commit:d:n=8"]);

    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            OnlyUpdateCommit::query()
                .update(|r| r.n.set(9), &mut *conn)
                .await?;
            Err::<(), _>(roll_back())
        })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(taken(&tag), Vec::<String>::new());
    assert_eq!(
        contents::<DB, OnlyUpdateCommit>(db).await,
        ["a:7", "b:7", "c:7", "d:8"]
    );
}

/// Only `before_commit`: a set-based `update` and `delete` run it once per row, inside the
/// transaction after the write (it reads the new value, or no row), and its veto on any row
/// writes none of them.
async fn set_based_writes_run_the_only_before_commit_listener_per_row<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let tag = tag::<DB>("a/before_commit");
    stored::<DB, OnlyBeforeCommit>(db, &tag, &["a", "b", "c", "d", "veto"]).await;

    let updated = OnlyBeforeCommit::filter(|r| r.name.in_(["a", "b"]))
        .update(|r| r.n.set(5), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 2);
    assert_eq!(
        sorted(taken(&tag)),
        ["before_commit:a:n=5", "before_commit:b:n=5"]
    );

    let deleted = OnlyBeforeCommit::filter(|r| r.name.in_(["a", "c"]))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(
        sorted(taken(&tag)),
        ["before_commit:a:gone", "before_commit:c:gone"]
    );
    assert_eq!(
        contents::<DB, OnlyBeforeCommit>(db).await,
        ["b:5", "d:0", "veto:0"]
    );

    // A veto on one row: none of them is written.
    for delete in [false, true] {
        let select = OnlyBeforeCommit::filter(|r| r.name.in_(["b", "d", "veto"]));
        let error = match delete {
            false => select.update(|r| r.n.set(6), &db.pool).await.unwrap_err(),
            true => select.delete(&db.pool).await.unwrap_err(),
        };
        assert!(
            matches!(
                error,
                Error::Listener {
                    model: "OnlyBeforeCommit",
                    event: Event::BeforeCommit,
                    listener: "committing",
                    ..
                }
            ) && error.listener_error::<Refused>().is_some(),
            "{error:?}"
        );
        let seen = taken(&tag);
        assert!(
            seen.contains(&format!(
                "before_commit:veto:{}",
                if delete { "gone" } else { "n=6" }
            )),
            "{seen:?}"
        );
        assert_eq!(
            contents::<DB, OnlyBeforeCommit>(db).await,
            ["b:5", "d:0", "veto:0"],
            "the veto rolled back every row (delete: {delete})"
        );
    }

    // In a transaction: right before its commit, once the body is done.
    let inner = tag.clone();
    transaction(&db.pool, move |conn| {
        Box::pin(async move {
            OnlyBeforeCommit::filter(|r| r.name.eq("d"))
                .delete(&mut *conn)
                .await?;
            assert_eq!(
                taken(&inner),
                Vec::<String>::new(),
                "not before the body ends"
            );
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(taken(&tag), ["before_commit:d:gone"]);
    assert_eq!(
        contents::<DB, OnlyBeforeCommit>(db).await,
        ["b:5", "veto:0"]
    );
}

/// Only `after_rollback`: a set-based `update` and `delete` in a transaction that is rolled
/// back (its body returns `Err`: with only this listener nothing else can veto) run it once
/// per row, as written, after the rollback; committed, never.
async fn set_based_writes_run_the_only_after_rollback_listener_per_row<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let tag = tag::<DB>("a/after_rollback");
    stored::<DB, OnlyAfterRollback>(db, &tag, &["a", "b", "c", "d"]).await;

    let inner = tag.clone();
    let result = transaction(&db.pool, move |conn| {
        Box::pin(async move {
            let updated = OnlyAfterRollback::filter(|r| r.name.in_(["a", "b", "c"]))
                .update(|r| r.n.set(3), &mut *conn)
                .await?;
            assert_eq!(updated, 3);
            assert_eq!(
                taken(&inner),
                Vec::<String>::new(),
                "not before the rollback"
            );
            Err::<(), _>(roll_back())
        })
    })
    .await;
    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
    assert_eq!(
        sorted(taken(&tag)),
        [
            "after_rollback:a:n=3",
            "after_rollback:b:n=3",
            "after_rollback:c:n=3"
        ]
    );

    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            let deleted = OnlyAfterRollback::filter(|r| r.name.in_(["c", "d"]))
                .delete(&mut *conn)
                .await?;
            assert_eq!(deleted, 2);
            Err::<(), _>(roll_back())
        })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(
        sorted(taken(&tag)),
        ["after_rollback:c:n=0", "after_rollback:d:n=0"]
    );
    assert_eq!(
        contents::<DB, OnlyAfterRollback>(db).await,
        ["a:0", "b:0", "c:0", "d:0"],
        "rolled back"
    );

    // A set-based write inside a transaction that commits, but in a savepoint that fails:
    // its rows are rolled back, and their listeners run once the outer transaction ends.
    let inner = tag.clone();
    transaction(&db.pool, move |conn| {
        Box::pin(async move {
            let failed = transaction(&mut *conn, |conn| {
                Box::pin(async move {
                    OnlyAfterRollback::filter(|r| r.name.eq("a"))
                        .update(|r| r.n.set(4), &mut *conn)
                        .await?;
                    Err::<(), _>(roll_back())
                })
            })
            .await;
            assert!(failed.is_err());
            assert_eq!(taken(&inner), Vec::<String>::new(), "not before the end");
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(taken(&tag), ["after_rollback:a:n=4"]);

    // Committed: none.
    OnlyAfterRollback::filter(|r| r.name.eq("b"))
        .update(|r| r.n.set(1), &db.pool)
        .await
        .unwrap();
    OnlyAfterRollback::filter(|r| r.name.eq("c"))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(taken(&tag), Vec::<String>::new());
    assert_eq!(
        contents::<DB, OnlyAfterRollback>(db).await,
        ["a:0", "b:1", "d:0"]
    );
}

// ---------------------------------------------------------------------------------------
// b. An `after_update` veto rolls the row back and runs `after_rollback`.

async fn after_update_veto_rolls_back_and_runs_after_rollback<DB: TestBackend>(db: &TestDb<DB>) {
    let tag = tag::<DB>("b");
    let rows = stored::<DB, VetoedUpdate>(db, &tag, &["a", "b", "c"]).await;
    assert_eq!(
        taken(&tag),
        Vec::<String>::new(),
        "committed: no after_rollback"
    );

    // One row.
    let mut vetoed = rows[0].clone();
    vetoed.name = "veto".into();
    vetoed.n = 1;
    let error = vetoed.update(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Listener {
                model: "VetoedUpdate",
                event: Event::AfterUpdate,
                listener: "refuse_veto",
                ..
            }
        ) && error.listener_error::<Refused>().is_some(),
        "{error:?}"
    );
    assert_eq!(
        taken(&tag),
        ["after_rollback:veto:n=1"],
        "the row as written"
    );
    assert_eq!(
        contents::<DB, VetoedUpdate>(db).await,
        ["a:0", "b:0", "c:0"]
    );

    // `update_all`: the second row vetoes. Flush order sends every row's statement before
    // any `after_update`, so all three statements ran: all three get after_rollback, in
    // write order.
    let mut batch = rows.clone();
    batch[0].n = 2;
    batch[1].name = "veto".into();
    batch[2].n = 2;
    let error = VetoedUpdate::update_all(&mut batch, &db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Listener {
                event: Event::AfterUpdate,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        taken(&tag),
        [
            "after_rollback:a:n=2",
            "after_rollback:veto:n=0",
            "after_rollback:c:n=2"
        ]
    );
    assert_eq!(
        contents::<DB, VetoedUpdate>(db).await,
        ["a:0", "b:0", "c:0"]
    );

    // Set-based: the first row written vetoes.
    let error = VetoedUpdate::filter(|r| r.name.in_(["a", "b"]))
        .update(|r| r.name.set("veto"), &db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Listener {
                event: Event::AfterUpdate,
                ..
            }
        ),
        "{error:?}"
    );
    // Both rows' statements ran before the first `after_update` vetoed (flush order): both
    // are undone, both get after_rollback.
    assert_eq!(
        taken(&tag),
        ["after_rollback:veto:n=0", "after_rollback:veto:n=0"]
    );
    assert_eq!(
        contents::<DB, VetoedUpdate>(db).await,
        ["a:0", "b:0", "c:0"]
    );

    // In a transaction whose body goes on and commits: the savepoint of the vetoed update is
    // rolled back, and its after_rollback runs once the transaction has ended.
    let (inner, mut row) = (tag.clone(), vetoed.clone());
    transaction(&db.pool, move |conn| {
        Box::pin(async move {
            let error = row.update(&mut *conn).await.unwrap_err();
            assert!(matches!(error, Error::Listener { .. }), "{error:?}");
            assert_eq!(taken(&inner), Vec::<String>::new(), "not before the end");
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(taken(&tag), ["after_rollback:veto:n=1"]);
    assert_eq!(
        contents::<DB, VetoedUpdate>(db).await,
        ["a:0", "b:0", "c:0"]
    );

    // Not vetoed: written, no after_rollback.
    let mut fine = rows[2].clone();
    fine.n = 3;
    fine.update(&db.pool).await.unwrap();
    assert_eq!(taken(&tag), Vec::<String>::new());
    assert_eq!(
        contents::<DB, VetoedUpdate>(db).await,
        ["a:0", "b:0", "c:3"]
    );
}

// ---------------------------------------------------------------------------------------
// c. A `once` after-commit listener is not used up by a rolled-back write.

/// `OnceRow` has no declared listener: the `once` listener is the only one.
async fn once_after_commit_listener_survives_rolled_back_writes<DB: TestBackend>(db: &TestDb<DB>) {
    let _turn = RUNTIME.lock().await;
    let tag = tag::<DB>("c");
    let mut rows = stored::<DB, OnceRow>(db, &tag, &["a", "b", "c", "d"]).await;
    let fired = Arc::new(Mutex::new(Vec::<String>::new()));
    let fired_names = || std::mem::take(&mut *fired.lock().unwrap());

    // after_insert_commit.
    let log = fired.clone();
    let listening = once(on::AfterInsertCommit, move |row: &OnceRow| {
        log.lock().unwrap().push(format!("insert:{}", row.name));
    });
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            OnceRow::row("", "undone").insert(&mut *conn).await?;
            Err::<(), _>(roll_back())
        })
    })
    .await;
    assert!(result.is_err());
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            let mut batch = vec![OnceRow::row("", "undone-1"), OnceRow::row("", "undone-2")];
            OnceRow::insert_all(&mut batch, &mut *conn).await?;
            Err::<(), _>(roll_back())
        })
    })
    .await;
    assert!(result.is_err());
    // A savepoint rolled back inside a transaction that commits (nothing else written).
    transaction(&db.pool, |conn| {
        Box::pin(async move {
            let nested = transaction(&mut *conn, |conn| {
                Box::pin(async move {
                    OnceRow::row("", "nested").insert(&mut *conn).await?;
                    Err::<(), _>(roll_back())
                })
            })
            .await;
            assert!(nested.is_err());
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(fired_names(), Vec::<String>::new());
    OnceRow::row("", "kept").insert(&db.pool).await.unwrap();
    assert_eq!(fired_names(), ["insert:kept"], "the next committed write");
    OnceRow::row("", "later").insert(&db.pool).await.unwrap();
    assert_eq!(fired_names(), Vec::<String>::new(), "and only that one");
    drop(listening);

    // after_update_commit, with set-based updates too.
    let log = fired.clone();
    let listening = once(on::AfterUpdateCommit, move |row: &OnceRow| {
        log.lock()
            .unwrap()
            .push(format!("update:{}:{}", row.name, row.n));
    });
    let mut undone = rows[0].clone();
    let result = transaction(&db.pool, move |conn| {
        Box::pin(async move {
            undone.n = 1;
            undone.update(&mut *conn).await?;
            OnceRow::query().update(|r| r.n.set(1), &mut *conn).await?;
            Err::<(), _>(roll_back())
        })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(fired_names(), Vec::<String>::new());
    OnceRow::filter(|r| r.name.eq("b"))
        .update(|r| r.n.set(2), &db.pool)
        .await
        .unwrap();
    assert_eq!(fired_names(), ["update:b:2"]);
    rows[0].n = 3;
    rows[0].update(&db.pool).await.unwrap();
    assert_eq!(fired_names(), Vec::<String>::new());
    drop(listening);

    // after_delete_commit.
    let log = fired.clone();
    let listening = once(on::AfterDeleteCommit, move |row: &OnceRow| {
        log.lock().unwrap().push(format!("delete:{}", row.name));
    });
    let undone = rows[2].clone();
    let result = transaction(&db.pool, move |conn| {
        Box::pin(async move {
            undone.delete(&mut *conn).await?;
            Err::<(), _>(roll_back())
        })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(fired_names(), Vec::<String>::new());
    rows[3].delete(&db.pool).await.unwrap();
    assert_eq!(fired_names(), ["delete:d"]);
    rows[2].delete(&db.pool).await.unwrap();
    assert_eq!(fired_names(), Vec::<String>::new());
    drop(listening);

    // The other way round: a `once` after_rollback listener is not used up by a commit.
    let log = fired.clone();
    let listening = once(on::AfterRollback, move |row: &OnceRow| {
        log.lock().unwrap().push(format!("rollback:{}", row.name));
    });
    OnceRow::row("", "committed")
        .insert(&db.pool)
        .await
        .unwrap();
    assert_eq!(fired_names(), Vec::<String>::new());
    for name in ["first", "second"] {
        let result = transaction(&db.pool, move |conn| {
            Box::pin(async move {
                OnceRow::row("", name).insert(&mut *conn).await?;
                Err::<(), _>(roll_back())
            })
        })
        .await;
        assert!(result.is_err());
    }
    assert_eq!(fired_names(), ["rollback:first"]);
    drop(listening);
    assert_eq!(
        contents::<DB, OnceRow>(db).await,
        ["a:3", "b:2", "kept:0", "later:0", "committed:0"]
    );
}

// ---------------------------------------------------------------------------------------
// d. Refused in a plain `sqlx::Transaction`.

/// One write of each kind, in a transaction model-core did not begin.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Write {
    Insert,
    /// `insert` through the transaction's connection as a `Conn`.
    InsertThroughConn,
    InsertAll,
    Update,
    UpdateAll,
    SetUpdate,
    Delete,
    DeleteAll,
    SetDelete,
}

const INSERTS: [Write; 3] = [Write::Insert, Write::InsertThroughConn, Write::InsertAll];
const UPDATES: [Write; 3] = [Write::Update, Write::UpdateAll, Write::SetUpdate];
const DELETES: [Write; 3] = [Write::Delete, Write::DeleteAll, Write::SetDelete];

/// Runs `write` in a `sqlx::Transaction` on the pool, commits that transaction, and returns
/// what the write returned.
async fn in_a_sqlx_transaction<DB: TestBackend, M: Row>(
    db: &TestDb<DB>,
    tag: &str,
    write: Write,
) -> Result<(), Error> {
    let mut tx = db.pool.begin().await.unwrap();
    let rows = M::all(&mut tx).await.unwrap();
    let result = match write {
        Write::Insert => M::row(tag, "new").insert(&mut tx).await,
        Write::InsertThroughConn => {
            M::row(tag, "new")
                .insert(Conn::<DB>::from_mut(&mut *tx))
                .await
        }
        Write::InsertAll => {
            let mut batch = vec![M::row(tag, "new-1"), M::row(tag, "new-2")];
            M::insert_all(&mut batch, &mut tx).await
        }
        Write::Update => {
            let mut row = rows[0].clone();
            row.set_n(5);
            row.update(&mut tx).await
        }
        Write::UpdateAll => {
            let mut batch = rows.clone();
            batch.iter_mut().for_each(|row| row.set_n(5));
            M::update_all(&mut batch, &mut tx).await
        }
        Write::SetUpdate => M::query()
            .update(|c| M::assign_n(c, 5), &mut tx)
            .await
            .map(drop),
        Write::Delete => rows[0].delete(&mut tx).await,
        Write::DeleteAll => M::delete_all(&rows, &mut tx).await,
        Write::SetDelete => M::query().delete(&mut tx).await.map(drop),
    };
    // The refusal sent nothing: the caller's transaction goes on.
    tx.commit().await.unwrap();
    result
}

/// Each of `refused` is refused with `CommitScope`, writes nothing and runs no listener;
/// then each of `allowed` runs (in order).
async fn refused_in_a_sqlx_transaction<DB: TestBackend, M: Row>(
    db: &TestDb<DB>,
    test: &str,
    refused: &[Write],
    allowed: &[Write],
) {
    let tag = tag::<DB>(test);
    stored::<DB, M>(db, &tag, &["a", "b"]).await;
    for &write in refused {
        let result = in_a_sqlx_transaction::<DB, M>(db, &tag, write).await;
        assert!(
            matches!(&result, Err(Error::CommitScope { model }) if *model == M::NAME),
            "{}: {write:?} must be refused, got {result:?}",
            M::NAME
        );
        assert_eq!(
            contents::<DB, M>(db).await,
            ["a:0", "b:0"],
            "{}: {write:?} wrote nothing",
            M::NAME
        );
        assert_eq!(
            taken(&tag),
            Vec::<String>::new(),
            "{write:?}: no listener ran"
        );
    }
    for &write in allowed {
        let result = in_a_sqlx_transaction::<DB, M>(db, &tag, write).await;
        assert!(result.is_ok(), "{}: {write:?}: {result:?}", M::NAME);
        assert_eq!(
            taken(&tag),
            Vec::<String>::new(),
            "{write:?}: no listener ran"
        );
    }
}

async fn only_after_rollback_is_refused_in_a_sqlx_transaction<DB: TestBackend>(db: &TestDb<DB>) {
    let every = [INSERTS, UPDATES, DELETES].concat();
    refused_in_a_sqlx_transaction::<DB, OnlyAfterRollback>(db, "d/after_rollback", &every, &[])
        .await;
}

async fn only_before_commit_is_refused_in_a_sqlx_transaction<DB: TestBackend>(db: &TestDb<DB>) {
    let every = [INSERTS, UPDATES, DELETES].concat();
    refused_in_a_sqlx_transaction::<DB, OnlyBeforeCommit>(db, "d/before_commit", &every, &[]).await;
}

/// An `after_*_commit` listener is about its own write: the others are not refused.
async fn only_an_after_commit_listener_refuses_its_write_in_a_sqlx_transaction<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let others = [UPDATES, DELETES].concat();
    refused_in_a_sqlx_transaction::<DB, OnlyInsertCommit>(db, "d/insert", &INSERTS, &others).await;
    let others = [INSERTS, DELETES].concat();
    refused_in_a_sqlx_transaction::<DB, OnlyUpdateCommit>(db, "d/update", &UPDATES, &others).await;
    let others = [INSERTS, UPDATES].concat();
    refused_in_a_sqlx_transaction::<DB, OnlyDeleteCommit>(db, "d/delete", &DELETES, &others).await;
}

// ---------------------------------------------------------------------------------------
// e. Struct-side, then function-side, then run-time, for every event that hands out `&M`.

/// Registers the model's run-time listener of its event.
trait RunTime: Row {
    fn listen_at_run_time() -> Listening;
}

/// The struct-side listener `$own` of a model of one event `$event`, and its run-time one
/// (registered by `listen_at_run_time`). Its function-side one is written out: the
/// attribute does not compile on a function a `macro_rules!` writes, for the same reason.
macro_rules! ordered {
    ($model:ident, $event:ident, $on:ident, $own:ident) => {
        impl_row!($model);

        fn $own(row: &$model) {
            note(
                &row.tag,
                format!("{}:struct:{}", stringify!($event), row.name),
            );
        }

        impl RunTime for $model {
            fn listen_at_run_time() -> Listening {
                listen(on::$on, |row: &$model| {
                    note(
                        &row.tag,
                        format!("{}:runtime:{}", stringify!($event), row.name),
                    )
                })
            }
        }
    };
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_after_insert")]
#[listens_for(after_insert, own_after_insert)]
struct OrderedAfterInsert {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedAfterInsert,
    after_insert,
    AfterInsert,
    own_after_insert
);

#[model_core::listens_for(after_insert)]
fn fn_after_insert(row: &OrderedAfterInsert) {
    note(&row.tag, format!("after_insert:function:{}", row.name));
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_after_update")]
#[listens_for(after_update, own_after_update)]
struct OrderedAfterUpdate {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedAfterUpdate,
    after_update,
    AfterUpdate,
    own_after_update
);

#[model_core::listens_for(after_update)]
fn fn_after_update(row: &OrderedAfterUpdate) {
    note(&row.tag, format!("after_update:function:{}", row.name));
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_before_delete")]
#[listens_for(before_delete, own_before_delete)]
struct OrderedBeforeDelete {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedBeforeDelete,
    before_delete,
    BeforeDelete,
    own_before_delete
);

#[model_core::listens_for(before_delete)]
fn fn_before_delete(row: &OrderedBeforeDelete) {
    note(&row.tag, format!("before_delete:function:{}", row.name));
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_after_delete")]
#[listens_for(after_delete, own_after_delete)]
struct OrderedAfterDelete {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedAfterDelete,
    after_delete,
    AfterDelete,
    own_after_delete
);

#[model_core::listens_for(after_delete)]
fn fn_after_delete(row: &OrderedAfterDelete) {
    note(&row.tag, format!("after_delete:function:{}", row.name));
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_before_commit")]
#[listens_for(before_commit, own_before_commit)]
struct OrderedBeforeCommit {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedBeforeCommit,
    before_commit,
    BeforeCommit,
    own_before_commit
);

#[model_core::listens_for(before_commit)]
fn fn_before_commit(row: &OrderedBeforeCommit) {
    note(&row.tag, format!("before_commit:function:{}", row.name));
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_after_insert_commit")]
#[listens_for(after_insert_commit, own_after_insert_commit)]
struct OrderedAfterInsertCommit {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedAfterInsertCommit,
    after_insert_commit,
    AfterInsertCommit,
    own_after_insert_commit
);

#[model_core::listens_for(after_insert_commit)]
fn fn_after_insert_commit(row: &OrderedAfterInsertCommit) {
    note(
        &row.tag,
        format!("after_insert_commit:function:{}", row.name),
    );
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_after_update_commit")]
#[listens_for(after_update_commit, own_after_update_commit)]
struct OrderedAfterUpdateCommit {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedAfterUpdateCommit,
    after_update_commit,
    AfterUpdateCommit,
    own_after_update_commit
);

#[model_core::listens_for(after_update_commit)]
fn fn_after_update_commit(row: &OrderedAfterUpdateCommit) {
    note(
        &row.tag,
        format!("after_update_commit:function:{}", row.name),
    );
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_after_delete_commit")]
#[listens_for(after_delete_commit, own_after_delete_commit)]
struct OrderedAfterDeleteCommit {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedAfterDeleteCommit,
    after_delete_commit,
    AfterDeleteCommit,
    own_after_delete_commit
);

#[model_core::listens_for(after_delete_commit)]
fn fn_after_delete_commit(row: &OrderedAfterDeleteCommit) {
    note(
        &row.tag,
        format!("after_delete_commit:function:{}", row.name),
    );
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "ordered_after_rollback")]
#[listens_for(after_rollback, own_after_rollback)]
struct OrderedAfterRollback {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}
ordered!(
    OrderedAfterRollback,
    after_rollback,
    AfterRollback,
    own_after_rollback
);

#[model_core::listens_for(after_rollback)]
fn fn_after_rollback(row: &OrderedAfterRollback) {
    note(&row.tag, format!("after_rollback:function:{}", row.name));
}

/// `entries` are, for each row of `rows` (in any order: set-based writes read rows in the
/// database's order), its struct-side, function-side and run-time listener of `event`, in
/// that order, all three before the next row's.
fn assert_in_order(entries: &[String], event: &str, rows: &[&str]) {
    let by_row: Vec<&str> = entries
        .iter()
        .step_by(3)
        .map(|entry| entry.rsplit(':').next().unwrap_or(""))
        .collect();
    let expected: Vec<String> = by_row
        .iter()
        .flat_map(|row| {
            ["struct", "function", "runtime"].map(|kind| format!("{event}:{kind}:{row}"))
        })
        .collect();
    assert_eq!(entries, expected, "{event}");
    let (mut seen, mut wanted) = (by_row.clone(), rows.to_vec());
    seen.sort_unstable();
    wanted.sort_unstable();
    assert_eq!(seen, wanted, "{event}: the rows");
}

/// A model of this test's event, with its run-time listener registered (and the turn of
/// the run-time tests taken): struct, function, run-time.
async fn ordered_model<DB: TestBackend, M: RunTime>(
    db: &TestDb<DB>,
) -> (tokio::sync::MutexGuard<'static, ()>, Listening) {
    let turn = RUNTIME.lock().await;
    M::create_table(&db.pool).await.unwrap();
    (turn, M::listen_at_run_time())
}

async fn after_insert_listeners_run_struct_function_run_time<DB: TestBackend>(db: &TestDb<DB>) {
    let _listening = ordered_model::<DB, OrderedAfterInsert>(db).await;
    let tag = tag::<DB>("e/after_insert");
    OrderedAfterInsert::row(&tag, "a")
        .insert(&db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "after_insert", &["a"]);
    let mut batch = vec![
        OrderedAfterInsert::row(&tag, "b"),
        OrderedAfterInsert::row(&tag, "c"),
    ];
    OrderedAfterInsert::insert_all(&mut batch, &db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "after_insert", &["b", "c"]);
}

async fn after_update_listeners_run_struct_function_run_time<DB: TestBackend>(db: &TestDb<DB>) {
    let _listening = ordered_model::<DB, OrderedAfterUpdate>(db).await;
    let tag = tag::<DB>("e/after_update");
    let mut rows = stored::<DB, OrderedAfterUpdate>(db, &tag, &["a", "b", "c"]).await;
    rows[0].n = 1;
    rows[0].update(&db.pool).await.unwrap();
    assert_in_order(&taken(&tag), "after_update", &["a"]);
    OrderedAfterUpdate::filter(|r| r.name.in_(["b", "c"]))
        .update(|r| r.n.set(2), &db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "after_update", &["b", "c"]);
}

async fn before_delete_listeners_run_struct_function_run_time<DB: TestBackend>(db: &TestDb<DB>) {
    let _listening = ordered_model::<DB, OrderedBeforeDelete>(db).await;
    let tag = tag::<DB>("e/before_delete");
    let rows = stored::<DB, OrderedBeforeDelete>(db, &tag, &["a", "b", "c"]).await;
    rows[0].delete(&db.pool).await.unwrap();
    assert_in_order(&taken(&tag), "before_delete", &["a"]);
    OrderedBeforeDelete::query().delete(&db.pool).await.unwrap();
    assert_in_order(&taken(&tag), "before_delete", &["b", "c"]);
}

async fn after_delete_listeners_run_struct_function_run_time<DB: TestBackend>(db: &TestDb<DB>) {
    let _listening = ordered_model::<DB, OrderedAfterDelete>(db).await;
    let tag = tag::<DB>("e/after_delete");
    let rows = stored::<DB, OrderedAfterDelete>(db, &tag, &["a", "b", "c"]).await;
    rows[0].delete(&db.pool).await.unwrap();
    assert_in_order(&taken(&tag), "after_delete", &["a"]);
    OrderedAfterDelete::delete_all(&rows[1..], &db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "after_delete", &["b", "c"]);
}

async fn before_commit_listeners_run_struct_function_run_time<DB: TestBackend>(db: &TestDb<DB>) {
    let _listening = ordered_model::<DB, OrderedBeforeCommit>(db).await;
    let tag = tag::<DB>("e/before_commit");
    OrderedBeforeCommit::row(&tag, "a")
        .insert(&db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "before_commit", &["a"]);
    let inner = tag.clone();
    transaction(&db.pool, move |conn| {
        Box::pin(async move {
            OrderedBeforeCommit::row(&inner, "b")
                .insert(&mut *conn)
                .await?;
            OrderedBeforeCommit::row(&inner, "c")
                .insert(&mut *conn)
                .await?;
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_in_order(&taken(&tag), "before_commit", &["b", "c"]);
    OrderedBeforeCommit::filter(|r| r.name.in_(["a", "b"]))
        .update(|r| r.n.set(1), &db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "before_commit", &["a", "b"]);
}

async fn after_insert_commit_listeners_run_struct_function_run_time<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let _listening = ordered_model::<DB, OrderedAfterInsertCommit>(db).await;
    let tag = tag::<DB>("e/after_insert_commit");
    OrderedAfterInsertCommit::row(&tag, "a")
        .insert(&db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "after_insert_commit", &["a"]);
    let mut batch = vec![
        OrderedAfterInsertCommit::row(&tag, "b"),
        OrderedAfterInsertCommit::row(&tag, "c"),
    ];
    OrderedAfterInsertCommit::insert_all(&mut batch, &db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "after_insert_commit", &["b", "c"]);
}

async fn after_update_commit_listeners_run_struct_function_run_time<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let _listening = ordered_model::<DB, OrderedAfterUpdateCommit>(db).await;
    let tag = tag::<DB>("e/after_update_commit");
    let mut rows = stored::<DB, OrderedAfterUpdateCommit>(db, &tag, &["a", "b", "c"]).await;
    rows[0].n = 1;
    rows[0].update(&db.pool).await.unwrap();
    assert_in_order(&taken(&tag), "after_update_commit", &["a"]);
    OrderedAfterUpdateCommit::filter(|r| r.name.in_(["b", "c"]))
        .update(|r| r.n.set(2), &db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "after_update_commit", &["b", "c"]);
}

async fn after_delete_commit_listeners_run_struct_function_run_time<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let _listening = ordered_model::<DB, OrderedAfterDeleteCommit>(db).await;
    let tag = tag::<DB>("e/after_delete_commit");
    let rows = stored::<DB, OrderedAfterDeleteCommit>(db, &tag, &["a", "b", "c"]).await;
    rows[0].delete(&db.pool).await.unwrap();
    assert_in_order(&taken(&tag), "after_delete_commit", &["a"]);
    OrderedAfterDeleteCommit::query()
        .delete(&db.pool)
        .await
        .unwrap();
    assert_in_order(&taken(&tag), "after_delete_commit", &["b", "c"]);
}

async fn after_rollback_listeners_run_struct_function_run_time<DB: TestBackend>(db: &TestDb<DB>) {
    let _listening = ordered_model::<DB, OrderedAfterRollback>(db).await;
    let tag = tag::<DB>("e/after_rollback");
    for names in [&["a"][..], &["b", "c"]] {
        let (inner, rows) = (tag.clone(), names.to_vec());
        let result = transaction(&db.pool, move |conn| {
            Box::pin(async move {
                for name in rows {
                    OrderedAfterRollback::row(&inner, name)
                        .insert(&mut *conn)
                        .await?;
                }
                Err::<(), _>(roll_back())
            })
        })
        .await;
        assert!(result.is_err());
        assert_in_order(&taken(&tag), "after_rollback", names);
    }
    assert_eq!(db.count("ordered_after_rollback").await, 0);
}

// ---------------------------------------------------------------------------------------
// f. `stream()` returns what `all()` returns.

/// Rows to stream: more than two chunks of 1,000.
const STREAMED: i64 = 2_500;

/// No listener: what is tested is the reading.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "streamed_rows")]
struct Streamed {
    id: Option<i64>,
    tag: String,
    name: String,
    n: i64,
}

/// `STREAMED` rows, `n` from 1 to 2,500 in key order, `name` `k0` to `k6` (`n % 7`).
async fn streamed_rows<DB: TestBackend>(db: &TestDb<DB>) {
    Streamed::create_table(&db.pool).await.unwrap();
    let mut rows: Vec<Streamed> = (1..=STREAMED)
        .map(|n| Streamed {
            id: None,
            tag: String::new(),
            name: format!("k{}", n % 7),
            n,
        })
        .collect();
    Streamed::insert_all(&mut rows, &db.pool).await.unwrap();
}

/// Streams `select` and reads it with `all()`: the same rows in the same order. A stream
/// that reads rows again might never end: it is read up to one row more than `all()`
/// returned. `at_least` guards the case itself: a selection of fewer rows than it says
/// would not cross the chunk boundaries it is about.
async fn stream_equals_all<DB: TestBackend>(
    db: &TestDb<DB>,
    case: &str,
    select: Select<Streamed>,
    at_least: usize,
) {
    let all: Vec<i64> = select
        .clone()
        .all(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{case}: all(): {e}"))
        .iter()
        .map(|row| row.n)
        .collect();
    assert!(
        all.len() >= at_least,
        "{case}: all() returned {} rows, the case needs {at_least}",
        all.len()
    );
    let mut stream = select.stream(&db.pool);
    let mut streamed = Vec::with_capacity(all.len() + 1);
    while let Some(row) = stream.next().await {
        streamed.push(row.unwrap_or_else(|e| panic!("{case}: stream(): {e}")).n);
        if streamed.len() > all.len() {
            break;
        }
    }
    drop(stream);
    if streamed != all {
        let at = streamed
            .iter()
            .zip(&all)
            .position(|(s, a)| s != a)
            .unwrap_or(streamed.len().min(all.len()));
        let around = |rows: &[i64]| rows[at.saturating_sub(2)..(at + 3).min(rows.len())].to_vec();
        let read = match streamed.len() > all.len() {
            true => format!("more than {} rows (it read rows again)", all.len()),
            false => format!("{} rows", streamed.len()),
        };
        panic!(
            "{case}: stream() read {read}, all() {}; first difference at row {at}: \
             stream() {:?}, all() {:?}",
            all.len(),
            around(&streamed),
            around(&all),
        );
    }
}

/// Each selection ascending and descending, whole, with `offset(10)`, with `limit(1500)`
/// and with both: `at_least` is what the whole selection must hold.
async fn both_ways_and_paged<DB: TestBackend>(
    db: &TestDb<DB>,
    case: &str,
    make: impl Fn() -> Select<Streamed>,
    at_least: usize,
) {
    for descending in [false, true] {
        let way = if descending { "desc" } else { "asc" };
        let select = || match descending {
            true => make().order_by(|r| r.id.desc()),
            false => make(),
        };
        stream_equals_all(db, &format!("{case} {way}"), select(), at_least).await;
        stream_equals_all(
            db,
            &format!("{case} {way} offset 10"),
            select().offset(10),
            at_least - 10,
        )
        .await;
        stream_equals_all(
            db,
            &format!("{case} {way} limit 1500"),
            select().limit(1500),
            at_least.min(1500),
        )
        .await;
        stream_equals_all(
            db,
            &format!("{case} {way} offset 10 limit 1500"),
            select().offset(10).limit(1500),
            (at_least - 10).min(1500),
        )
        .await;
    }
}

async fn descending_stream_returns_what_all_returns<DB: TestBackend>(db: &TestDb<DB>) {
    streamed_rows(db).await;
    let all = 2_500;
    stream_equals_all(db, "desc", Streamed::query().order_by(|r| r.id.desc()), all).await;
    stream_equals_all(
        db,
        "desc, filtered",
        Streamed::filter(|r| r.name.ne("k3")).order_by(|r| r.id.desc()),
        2_142,
    )
    .await;
    // Exactly two chunks, and one row more.
    for n in [2_000, 2_001] {
        stream_equals_all(
            db,
            &format!("desc, n <= {n}"),
            Streamed::filter(|r| r.n.le(n)).order_by(|r| r.id.desc()),
            usize::try_from(n).unwrap(),
        )
        .await;
    }
}

async fn stream_offset_and_limit_across_chunks_return_what_all_returns<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    streamed_rows(db).await;
    for descending in [false, true] {
        let way = if descending { "desc" } else { "asc" };
        let query = || match descending {
            true => Streamed::query().order_by(|r| r.id.desc()),
            false => Streamed::query(),
        };
        for (offset, limit, at_least) in [
            (10, Some(1_500), 1_500),
            (10, None, 2_490),
            (0, Some(1_500), 1_500),
            (0, Some(1_000), 1_000),
            (0, Some(1_001), 1_001),
            (0, Some(2_000), 2_000),
            (999, Some(1_002), 1_002),
            (1_000, None, 1_500),
            (2_400, None, 100),
            (0, Some(5_000), 2_500),
            (3_000, None, 0),
        ] {
            let mut select = query().offset(offset);
            if let Some(limit) = limit {
                select = select.limit(limit);
            }
            let case = format!("{way} offset {offset} limit {limit:?}");
            stream_equals_all(db, &case, select, at_least).await;
        }
    }
}

/// Issue 23: a filter with `or`, followed by the stream's `AND key > ?` without brackets,
/// read its first chunk again. These fail until `where_` in `query/sql.rs` brackets it.
/// Every selection here is more than one chunk (most more than two), and the number given
/// is its exact size.
async fn stream_of_or_filters_returns_what_all_returns<DB: TestBackend>(db: &TestDb<DB>) {
    streamed_rows(db).await;
    both_ways_and_paged(
        db,
        "k0 or n > 500",
        || Streamed::filter(|r| r.name.eq("k0").or(r.n.gt(500))),
        2_071,
    )
    .await;
    both_ways_and_paged(
        db,
        "k0 or k1 or n > 400",
        || Streamed::filter(|r| r.name.eq("k0").or(r.name.eq("k1")).or(r.n.gt(400))),
        2_215,
    )
    .await;
    both_ways_and_paged(
        db,
        "n < 1100 or n > 1300",
        || Streamed::filter(|r| r.n.lt(1_100).or(r.n.gt(1_300))),
        2_299,
    )
    .await;
    // Two filters, each an `or`: ANDed together.
    both_ways_and_paged(
        db,
        "(k0 or n > 300) and (k0 or n < 2450)",
        || {
            Streamed::filter(|r| r.name.eq("k0").or(r.n.gt(300)))
                .filter(|r| r.name.eq("k0").or(r.n.lt(2_450)))
        },
        2_199,
    )
    .await;
}

async fn stream_of_not_filters_returns_what_all_returns<DB: TestBackend>(db: &TestDb<DB>) {
    streamed_rows(db).await;
    both_ways_and_paged(
        db,
        "not k3",
        || Streamed::filter(|r| !r.name.eq("k3")),
        2_143,
    )
    .await;
    both_ways_and_paged(
        db,
        "not (k0 or k1)",
        || Streamed::filter(|r| !(r.name.eq("k0").or(r.name.eq("k1")))),
        1_785,
    )
    .await;
    both_ways_and_paged(
        db,
        "not (n < 300 and k0)",
        || Streamed::filter(|r| !(r.n.lt(300).and(r.name.eq("k0")))),
        2_458,
    )
    .await;
    both_ways_and_paged(
        db,
        "not n in (1, 2, 3, 1500) or k2",
        || Streamed::filter(|r| (!r.n.in_([1, 2, 3, 1_500])).or(r.name.eq("k2"))),
        2_498,
    )
    .await;
}

async fn stream_of_nested_filters_returns_what_all_returns<DB: TestBackend>(db: &TestDb<DB>) {
    streamed_rows(db).await;
    both_ways_and_paged(
        db,
        "k0 or (n > 300 and n < 2400)",
        || Streamed::filter(|r| r.name.eq("k0").or(r.n.gt(300).and(r.n.lt(2_400)))),
        2_156,
    )
    .await;
    both_ways_and_paged(
        db,
        "(k0 or k5 or n > 400) and not (n < 300 and k0)",
        || {
            Streamed::filter(|r| {
                r.name
                    .eq("k0")
                    .or(r.name.eq("k5"))
                    .or(r.n.gt(400))
                    .and(!(r.n.lt(300).and(r.name.eq("k0"))))
            })
        },
        2_172,
    )
    .await;
    both_ways_and_paged(
        db,
        "(n < 1000 or n > 1600) or (not k1 and (k2 or k3))",
        || {
            Streamed::filter(|r| {
                r.n.lt(1_000)
                    .or(r.n.gt(1_600))
                    .or((!r.name.eq("k1")).and(r.name.eq("k2").or(r.name.eq("k3"))))
            })
        },
        2_071,
    )
    .await;
}

per_backend!(
    set_based_delete_runs_the_only_after_delete_commit_listener_per_row,
    set_based_update_runs_the_only_after_update_commit_listener_per_row,
    set_based_writes_run_the_only_before_commit_listener_per_row,
    set_based_writes_run_the_only_after_rollback_listener_per_row,
    after_update_veto_rolls_back_and_runs_after_rollback,
    once_after_commit_listener_survives_rolled_back_writes,
    only_after_rollback_is_refused_in_a_sqlx_transaction,
    only_before_commit_is_refused_in_a_sqlx_transaction,
    only_an_after_commit_listener_refuses_its_write_in_a_sqlx_transaction,
    after_insert_listeners_run_struct_function_run_time,
    after_update_listeners_run_struct_function_run_time,
    before_delete_listeners_run_struct_function_run_time,
    after_delete_listeners_run_struct_function_run_time,
    before_commit_listeners_run_struct_function_run_time,
    after_insert_commit_listeners_run_struct_function_run_time,
    after_update_commit_listeners_run_struct_function_run_time,
    after_delete_commit_listeners_run_struct_function_run_time,
    after_rollback_listeners_run_struct_function_run_time,
    descending_stream_returns_what_all_returns,
    stream_offset_and_limit_across_chunks_return_what_all_returns,
    stream_of_or_filters_returns_what_all_returns,
    stream_of_not_filters_returns_what_all_returns,
    stream_of_nested_filters_returns_what_all_returns,
);
