//! Listeners declared on the function (`#[model_core::listens_for]`), for one model or for
//! every model, beside struct-side ones, and listeners registered at run time
//! (`model_core::listen`, `once`): order, transactions, vetoes, concurrency.
//!
//! Function-side listeners are registered for the whole test binary, so every test here
//! creates every table they write (`schema`), and the listeners of every model act only on
//! the models and values their tests use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use model_core::schema::Schema;
use model_core::{
    listen, on, once, transaction, AnyModel, Backend, Conn, Error, Event, Model, Value,
};
use model_tests::{per_backend, TestBackend, TestDb};

type Trace = Arc<Mutex<Vec<String>>>;

#[derive(Debug, Clone, Default, Model)]
#[model(table = "posts")]
#[listens_for(before_insert, struct_side)]
struct Post {
    id: Option<i64>,
    title: String,
    #[model(skip)]
    trace: Trace,
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "comments")]
struct Comment {
    id: Option<i64>,
    post_id: i64,
    text: String,
}

/// The audit trail the listener of every model writes.
#[derive(Debug, Clone, Model)]
#[model(table = "audit")]
struct AuditRow {
    id: Option<i64>,
    model: String,
    row_key: String,
    action: String,
}

fn push(post: &Post, what: &str) {
    post.trace.lock().unwrap().push(what.to_owned());
}

fn struct_side(post: &mut Post) {
    push(post, "struct_side");
}

/// Function-side, model from the argument; sorts after `listeners::alpha`.
#[model_core::listens_for(before_insert)]
fn zeta(post: &mut Post) {
    push(post, "zeta");
}

/// In another module, with the model named.
mod listeners {
    use super::{push, Post};

    #[model_core::listens_for(Post, before_insert)]
    pub(super) fn alpha(post: &mut Post) {
        push(post, "alpha");
    }
}

/// Imported by name: fine in a module where no struct uses the derive's `#[listens_for]`.
mod imported {
    use super::{push, Post};
    use model_core::listens_for;

    #[listens_for(load)]
    fn on_load(post: &mut Post) {
        push(post, "imported::on_load");
    }
}

/// Methods: the attribute on the `impl`, the event on each method.
#[model_core::listens_for]
impl Post {
    #[listens_for(before_insert)]
    fn method(&mut self) {
        push(self, "method");
    }

    #[listens_for(after_insert_commit)]
    fn committed(&self) {
        push(self, "committed");
    }

    /// Of another after-commit event: must not be queued for an insert.
    #[listens_for(after_delete_commit)]
    fn delete_committed(&self) {
        push(self, "delete_committed");
    }
}

#[derive(Debug)]
struct Refused(&'static str);
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for Refused {}

/// An async function-side listener: SQL in the insert's transaction.
#[model_core::listens_for(after_insert)]
async fn comment_on<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), Error> {
    if !post.title.starts_with("commented") {
        return Ok(());
    }
    let mut comment = Comment {
        id: None,
        post_id: post.id.expect("key set before after_insert"),
        text: "first".into(),
    };
    comment.insert(conn).await
}

/// Runs after `comment_on` (by name): its veto undoes the comment too.
#[model_core::listens_for(after_insert)]
fn veto_after(post: &Post) -> Result<(), Refused> {
    match post.title.as_str() {
        "commented veto" => Err(Refused("vetoed after insert")),
        _ => Ok(()),
    }
}

/// Listeners of every model.
mod every {
    use super::*;

    /// Writes one audit row per insert of any model but the audit's own, in the insert's
    /// transaction.
    #[model_core::listens_for(after_insert)]
    pub async fn audit_insert<DB: Backend>(
        model: &dyn AnyModel,
        conn: &mut Conn<DB>,
    ) -> Result<(), Error> {
        if model.model_name() == "AuditRow" {
            return Ok(());
        }
        let mut row = AuditRow {
            id: None,
            model: model.model_name().into(),
            row_key: model.key_value().to_string(),
            action: "insert".into(),
        };
        row.insert(conn).await
    }

    /// Vetoes any model whose `title` is "forbidden".
    #[model_core::listens_for(before_insert)]
    pub fn refuse_forbidden(model: &dyn AnyModel) -> Result<(), Refused> {
        match model.column_value("title") {
            Some(Value::Text(title)) if title == "forbidden" => Err(Refused("forbidden title")),
            _ => Ok(()),
        }
    }

    /// Reaches a `Post` by downcasting, to record its turn.
    #[model_core::listens_for(before_insert)]
    pub fn trace_every(model: &dyn AnyModel) {
        if let Some(post) = model.downcast_ref::<Post>() {
            push(post, "every");
        }
    }

    /// What was committed, by any model: "Model:key".
    pub static COMMITTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

    #[model_core::listens_for(after_insert_commit)]
    pub fn every_committed(model: &dyn AnyModel) {
        COMMITTED
            .lock()
            .unwrap()
            .push(format!("{}:{}", model.model_name(), model.key_value()));
    }

    /// What was deleted and committed, by any model: "Model:key:title".
    pub static DELETED: Mutex<Vec<String>> = Mutex::new(Vec::new());

    /// Of another after-commit event than `every_committed`: never queued for an insert.
    #[model_core::listens_for(after_delete_commit)]
    pub fn every_delete_committed(model: &dyn AnyModel) {
        let title = model.column_value("title").unwrap_or(Value::Null);
        DELETED.lock().unwrap().push(format!(
            "{}:{}:{title}",
            model.model_name(),
            model.key_value()
        ));
    }
}

/// A title no other test (or backend) of this binary uses.
fn unique_title(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix} {}", NEXT.fetch_add(1, Ordering::SeqCst))
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Post>()
        .model::<Comment>()
        .model::<AuditRow>()
        .model::<Tally>()
        .create_all(&db.pool)
        .await
        .unwrap();
}

fn post(title: &str) -> Post {
    Post {
        title: title.into(),
        ..Post::default()
    }
}

fn trace(post: &Post) -> Vec<String> {
    post.trace.lock().unwrap().clone()
}

async fn audit_rows<DB: TestBackend>(db: &TestDb<DB>) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = AuditRow::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.model, row.row_key))
        .collect();
    rows.sort();
    rows
}

async fn struct_then_function_then_every_model_in_order<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let title = unique_title("ordered");
    let mut post = post(&title);
    post.insert(&db.pool).await.unwrap();
    assert_eq!(
        trace(&post),
        ["struct_side", "method", "alpha", "zeta", "every", "committed"],
        "struct-side first, then this model's function-side by module path and name, then every model's, then after-commit (of the insert only, not the delete's)"
    );
    let key = post.id.unwrap().to_string();
    assert_eq!(audit_rows(db).await, [("Post".to_owned(), key.clone())]);
    assert!(every::COMMITTED
        .lock()
        .unwrap()
        .contains(&format!("Post:{key}")));
    let deleted = format!("Post:{key}:{title}");
    assert!(
        !every::DELETED.lock().unwrap().contains(&deleted),
        "an insert queued a listener of every model's after_delete_commit"
    );

    let loaded = Post::get(&db.pool, post.id.unwrap()).await.unwrap();
    assert_eq!(trace(&loaded), ["imported::on_load"]);
    loaded.delete(&db.pool).await.unwrap();
    assert_eq!(trace(&loaded), ["imported::on_load", "delete_committed"]);
    assert!(every::DELETED.lock().unwrap().contains(&deleted));
}

async fn function_side_async_listener_commits_with_the_row_and_a_veto_undoes_it<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let mut kept = post("commented");
    kept.insert(&db.pool).await.unwrap();
    assert_eq!(Comment::all(&db.pool).await.unwrap().len(), 1);

    let mut vetoed = post("commented veto");
    let error = vetoed.insert(&db.pool).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "after_insert listener `function_listeners::veto_after` of Post failed"
    );
    assert_eq!(
        error.listener_error::<Refused>().unwrap().0,
        "vetoed after insert"
    );
    assert_eq!(vetoed.id, None);
    assert_eq!(Post::all(&db.pool).await.unwrap().len(), 1);
    assert_eq!(
        Comment::all(&db.pool).await.unwrap().len(),
        1,
        "the veto undid its comment"
    );
    assert_eq!(
        trace(&vetoed).last().map(String::as_str),
        Some("every"),
        "no after-commit listener for a vetoed write"
    );
    // The comment's own insert was audited inside the vetoed transaction, and undone too.
    let audited = audit_rows(db).await;
    assert_eq!(audited.len(), 2, "{audited:?}");
}

async fn every_model_listener_audits_two_models_in_one_transaction<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let (post_key, comment_key) = transaction(&db.pool, |conn| {
        Box::pin(async move {
            let mut post = post("grouped");
            post.insert(&mut *conn).await?;
            let mut comment = Comment {
                id: None,
                post_id: post.id.unwrap(),
                text: "hello".into(),
            };
            comment.insert(&mut *conn).await?;
            Ok::<_, Error>((post.id.unwrap(), comment.id.unwrap()))
        })
    })
    .await
    .unwrap();
    assert_eq!(
        audit_rows(db).await,
        [
            ("Comment".to_owned(), comment_key.to_string()),
            ("Post".to_owned(), post_key.to_string()),
        ]
    );

    // Rolled back together: no rows, no audit.
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            post("undone").insert(&mut *conn).await?;
            Comment {
                id: None,
                post_id: 1,
                text: "x".into(),
            }
            .insert(&mut *conn)
            .await?;
            Err::<(), _>(Error::Unsaved { model: "rollback" })
        })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(audit_rows(db).await.len(), 2);
}

async fn every_model_listener_vetoes_before_anything_is_written<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let error = post("forbidden").insert(&db.pool).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "before_insert listener `function_listeners::every::refuse_forbidden` of Post failed"
    );
    assert!(Post::all(&db.pool).await.unwrap().is_empty());
    assert!(audit_rows(db).await.is_empty());
}

#[test]
fn listeners_lists_struct_side_then_function_side() {
    let before: Vec<(&str, usize)> = Post::listeners(Event::BeforeInsert)
        .map(|l| (l.listener, l.order))
        .collect();
    assert_eq!(
        before,
        [
            ("struct_side", 0),
            ("function_listeners::Post::method", 1),
            ("function_listeners::listeners::alpha", 2),
            ("function_listeners::zeta", 3),
            ("function_listeners::every::refuse_forbidden", 4),
            ("function_listeners::every::trace_every", 5),
        ]
    );
    let after: Vec<&str> = Comment::listeners(Event::AfterInsert)
        .map(|l| l.listener)
        .collect();
    assert_eq!(after, ["function_listeners::every::audit_insert"]);
}

/// A model only the run-time tests write, so that their listeners see only their rows.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "tallies")]
struct Tally {
    id: Option<i64>,
    name: String,
}

/// Run-time listeners are global to the process, and `per_backend!` runs the three backends'
/// tests at once: these take turns.
static RUNTIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn tally(name: &str) -> Tally {
    Tally {
        id: None,
        name: name.into(),
    }
}

async fn run_time_listeners_come_and_go_from_concurrent_tasks<DB: TestBackend>(db: &TestDb<DB>) {
    let _turn = RUNTIME.lock().await;
    schema(db).await;
    let calls = Arc::new(AtomicUsize::new(0));
    // Four tasks register at once.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let calls = calls.clone();
            tokio::spawn(async move {
                listen(on::BeforeInsert, move |_: &mut Tally| {
                    calls.fetch_add(1, Ordering::SeqCst);
                })
            })
        })
        .collect();
    let mut handles = Vec::new();
    for task in tasks {
        handles.push(task.await.unwrap());
    }
    tally("a").insert(&db.pool).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);

    // Two removed at once, from two tasks: one by drop, one by `remove`.
    let (first, second) = (handles.pop().unwrap(), handles.pop().unwrap());
    let dropped = tokio::spawn(async move { drop(first) });
    let removed = tokio::spawn(async move { second.remove() });
    dropped.await.unwrap();
    removed.await.unwrap();
    tally("b").insert(&db.pool).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 6);

    handles.clear();
    tally("c").insert(&db.pool).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 6, "no listener left");
}

async fn once_listener_runs_for_one_of_many_concurrent_writes<DB: TestBackend>(db: &TestDb<DB>) {
    let _turn = RUNTIME.lock().await;
    schema(db).await;
    // Alone, it runs for the very next row, and only for it.
    let first = Arc::new(AtomicUsize::new(0));
    let counter = first.clone();
    let _alone = once(on::AfterInsert, move |_: &Tally| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    tally("first").insert(&db.pool).await.unwrap();
    assert_eq!(first.load(Ordering::SeqCst), 1, "the first row gets it");
    tally("second").insert(&db.pool).await.unwrap();
    assert_eq!(first.load(Ordering::SeqCst), 1, "and no other");

    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let _listening = once(on::AfterInsert, move |_: &Tally| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let writes: Vec<_> = (0..8)
        .map(|i| {
            let pool = db.pool.clone();
            tokio::spawn(async move { tally(&format!("t{i}")).insert(&pool).await })
        })
        .collect();
    for write in writes {
        write.await.unwrap().unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(Tally::all(&db.pool).await.unwrap().len(), 10);
}

async fn run_time_listeners_veto_and_wait_for_the_commit<DB: TestBackend>(db: &TestDb<DB>) {
    let _turn = RUNTIME.lock().await;
    schema(db).await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let veto = listen(on::BeforeInsert, |t: &mut Tally| -> Result<(), Refused> {
        if t.name == "no" {
            Err(Refused("no"))
        } else {
            Ok(())
        }
    });
    let log = seen.clone();
    let every = listen(on::AfterInsert, move |model: &dyn AnyModel| {
        if model.model_name() == "Tally" {
            assert_eq!(model.table_name(), "tallies");
            log.lock()
                .unwrap()
                .push(format!("after:{}", model.column_value("name").unwrap()));
        }
    });
    let log = seen.clone();
    let committed = listen(on::AfterInsertCommit, move |t: &Tally| {
        log.lock().unwrap().push(format!("commit:{}", t.name));
    });
    // Each registration has its own id, whichever list (this model's, every model's) takes
    // it: a handle removes its own listener only.
    let ids: Vec<String> = [&veto, &every, &committed]
        .iter()
        .map(|listening| format!("{listening:?}"))
        .collect();
    assert!(
        ids.iter().all(|id| id.starts_with("Listening { id: ")),
        "{ids:?}"
    );
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );

    let error = tally("no").insert(&db.pool).await.unwrap_err();
    assert!(matches!(
        error,
        Error::Listener {
            event: Event::BeforeInsert,
            ..
        }
    ));
    assert!(error
        .to_string()
        .contains("run_time_listeners_veto_and_wait_for_the_commit"));

    let rolled_back = transaction(&db.pool, |conn| {
        Box::pin(async move {
            tally("undone").insert(&mut *conn).await?;
            Err::<(), _>(Error::Unsaved { model: "rollback" })
        })
    })
    .await;
    assert!(rolled_back.is_err());
    tally("yes").insert(&db.pool).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["after:undone", "after:yes", "commit:yes"],
        "after_insert ran in both transactions, the commit listener only for the committed one"
    );
    drop((veto, every, committed));
    tally("no").insert(&db.pool).await.unwrap();
}

/// Run-time listeners of every model each have their own handle: removing one leaves the
/// others, and a kept one outlives its handle.
async fn every_model_run_time_listeners_are_removed_one_at_a_time<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let _turn = RUNTIME.lock().await;
    schema(db).await;
    let seen = Arc::new(AtomicUsize::new(0));
    let count = |step: usize| {
        let seen = seen.clone();
        move |model: &dyn AnyModel| {
            if model.model_name() == "Tally" {
                seen.fetch_add(step, Ordering::SeqCst);
            }
        }
    };
    let first = listen(on::BeforeUpdate, count(1));
    let second = listen(on::BeforeUpdate, count(100));
    listen(on::BeforeUpdate, count(10_000)).keep();
    let mut row = tally("x");
    row.insert(&db.pool).await.unwrap();
    row.update(&db.pool).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 10_101);
    drop(first);
    row.update(&db.pool).await.unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        20_201,
        "the other two still listen"
    );
    drop(second);
    row.update(&db.pool).await.unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        30_201,
        "the kept one still listens"
    );
}

/// Events that no function-side listener in this binary listens to (every-model ones here
/// listen to inserts only): for these, only the run-time bits of the model's state word say
/// that a listener is there, and a write must not skip it.
async fn run_time_listeners_alone_on_their_event<DB: TestBackend>(db: &TestDb<DB>) {
    let _turn = RUNTIME.lock().await;
    schema(db).await;
    let mut row = tally("plain");
    row.insert(&db.pool).await.unwrap();
    let deleted = Arc::new(AtomicUsize::new(0));
    let shout = listen(on::BeforeUpdate, |t: &mut Tally| t.name.push('!'));
    let counter = deleted.clone();
    let count = listen(on::AfterDelete, move |_: &Tally| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    // `before_commit`, of the model and of every model: run-time only in this binary too.
    let committing = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = committing.clone();
    let own = listen(on::BeforeCommit, move |t: &Tally| {
        log.lock().unwrap().push(format!("tally:{}", t.name));
    });
    let log = committing.clone();
    let every = listen(on::BeforeCommit, move |model: &dyn AnyModel| {
        if model.model_name() == "Tally" {
            log.lock()
                .unwrap()
                .push(format!("every:{}", model.table_name()));
        }
    });
    row.name = "changed".into();
    row.update(&db.pool).await.unwrap();
    assert_eq!(
        *committing.lock().unwrap(),
        ["tally:changed!", "every:tallies"]
    );
    let key = row.id.unwrap();
    assert_eq!(Tally::get(&db.pool, key).await.unwrap().name, "changed!");
    row.delete(&db.pool).await.unwrap();
    assert_eq!(deleted.load(Ordering::SeqCst), 1);
    drop((shout, count, own, every));
}

/// A batch runs every row's function-side listeners, the after-commit ones included, and is
/// refused, as a one-row write is, in a transaction whose end model-core cannot see.
async fn a_batch_runs_the_function_side_listeners_of_every_row<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut posts: Vec<Post> = (0..3).map(|_| post(&unique_title("batch"))).collect();
    Post::insert_all(&mut posts, &db.pool).await.unwrap();
    for post in &posts {
        assert_eq!(
            trace(post),
            [
                "struct_side",
                "method",
                "alpha",
                "zeta",
                "every",
                "committed"
            ]
        );
    }

    // A batch of one row whose after_insert listener vetoes: the row and what the listener
    // before it wrote roll back, as for `insert`.
    let stored = Post::all(&db.pool).await.unwrap().len();
    let mut vetoed = vec![post("commented veto")];
    let error = Post::insert_all(&mut vetoed, &db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Listener {
                event: Event::AfterInsert,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(Post::all(&db.pool).await.unwrap().len(), stored);
    assert_eq!(Comment::all(&db.pool).await.unwrap().len(), 0);
    assert_eq!(vetoed[0].id, None);

    let mut tx = db.pool.begin().await.unwrap();
    let mut refused = vec![post(&unique_title("refused"))];
    let error = Post::insert_all(&mut refused, Conn::<DB>::from_mut(&mut *tx))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::CommitScope { model: "Post" }),
        "{error:?}"
    );
    tx.rollback().await.unwrap();
    assert_eq!(trace(&refused[0]), Vec::<String>::new());
}

per_backend!(
    a_batch_runs_the_function_side_listeners_of_every_row,
    struct_then_function_then_every_model_in_order,
    function_side_async_listener_commits_with_the_row_and_a_veto_undoes_it,
    every_model_listener_audits_two_models_in_one_transaction,
    every_model_listener_vetoes_before_anything_is_written,
    run_time_listeners_come_and_go_from_concurrent_tasks,
    run_time_listeners_alone_on_their_event,
    every_model_run_time_listeners_are_removed_one_at_a_time,
    run_time_listeners_veto_and_wait_for_the_commit;
    file: once_listener_runs_for_one_of_many_concurrent_writes,
);
