//! `after_*_commit` listeners run once the outermost transaction has committed, in order,
//! and never for a write that is rolled back; a write whose commit model-core cannot see is
//! refused instead of running them early or never.

use std::sync::{Arc, Mutex};

use model_core::schema::Schema;
use model_core::{transaction, Backend, Conn, Error, Event, Model};
use model_tests::{per_backend, TestBackend, TestDb};

type Trace = Arc<Mutex<Vec<String>>>;

#[derive(Debug, Clone, Default, Model)]
#[model(table = "notes")]
#[listens_for(after_insert, inserted)]
#[listens_for(after_insert_commit, sent, sent_async)]
#[listens_for(after_update_commit, updated)]
#[listens_for(after_delete_commit, deleted)]
struct Note {
    id: Option<i64>,
    text: String,
    /// Shared by the clones the after-commit listeners get.
    #[model(skip)]
    trace: Trace,
}

fn record(note: &Note, what: &str) {
    note.trace
        .lock()
        .unwrap()
        .push(format!("{what}:{}", note.text));
}

#[derive(Debug)]
struct Refused;
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}
impl std::error::Error for Refused {}

fn inserted(note: &Note) -> Result<(), Refused> {
    record(note, "after_insert");
    if note.text == "veto" {
        Err(Refused)
    } else {
        Ok(())
    }
}

fn sent(note: &Note) {
    record(note, "sent");
}

async fn sent_async(note: &Note) {
    tokio::task::yield_now().await;
    record(note, "sent_async");
}

fn updated(note: &Note) {
    record(note, "updated");
}

fn deleted(note: &Note) {
    record(note, "deleted");
}

/// A post whose `after_insert` listener writes a `Note` through the write's connection.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "posts")]
#[listens_for(after_insert, write_note, refuse_if_asked)]
struct Post {
    id: Option<i64>,
    title: String,
    #[model(skip)]
    trace: Trace,
}

async fn write_note<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), Error> {
    let mut note = Note {
        text: format!("for {}", post.title),
        trace: post.trace.clone(),
        ..Note::default()
    };
    note.insert(conn).await
}

fn refuse_if_asked(post: &Post) -> Result<(), Refused> {
    if post.title == "veto" {
        Err(Refused)
    } else {
        Ok(())
    }
}

fn note(text: &str, trace: &Trace) -> Note {
    Note {
        text: text.into(),
        trace: trace.clone(),
        ..Note::default()
    }
}

fn entries(trace: &Trace) -> Vec<String> {
    trace.lock().unwrap().clone()
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Note>()
        .model::<Post>()
        .create_all(&db.pool)
        .await
        .unwrap();
}

async fn commit_listeners_run_after_the_write_in_order_and_not_for_a_veto<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let trace = Trace::default();
    let mut kept = note("kept", &trace);
    kept.insert(&db.pool).await.unwrap();
    assert_eq!(
        entries(&trace),
        ["after_insert:kept", "sent:kept", "sent_async:kept"]
    );

    let mut vetoed = note("veto", &trace);
    let error = vetoed.insert(&db.pool).await.unwrap_err();
    assert!(error.listener_error::<Refused>().is_some(), "{error:?}");
    assert_eq!(
        entries(&trace)[3..],
        ["after_insert:veto"],
        "no after-commit listener for a rolled-back write"
    );
    assert_eq!(db.count("notes").await, 1);

    trace.lock().unwrap().clear();
    kept.text = "edited".into();
    kept.update(&db.pool).await.unwrap();
    kept.delete(&db.pool).await.unwrap();
    assert_eq!(entries(&trace), ["updated:edited", "deleted:edited"]);

    // Bulk writes: every row's listeners, after the one commit.
    trace.lock().unwrap().clear();
    let mut rows = vec![note("a", &trace), note("b", &trace)];
    Note::insert_all(&mut rows, &db.pool).await.unwrap();
    assert_eq!(
        entries(&trace),
        [
            "after_insert:a",
            "after_insert:b",
            "sent:a",
            "sent_async:a",
            "sent:b",
            "sent_async:b"
        ]
    );
    let manifest: Vec<_> = Note::listeners(Event::AfterInsertCommit)
        .map(|l| l.listener)
        .collect();
    assert_eq!(manifest, ["sent", "sent_async"]);
}

async fn transaction_holds_commit_listeners_until_its_commit<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let inner = trace.clone();
    transaction(&db.pool, |conn| {
        Box::pin(async move {
            note("one", &inner).insert(&mut *conn).await?;
            assert_eq!(
                entries(&inner),
                ["after_insert:one"],
                "not before the transaction commits"
            );
            note("two", &inner).insert(&mut *conn).await?;
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        entries(&trace),
        [
            "after_insert:one",
            "after_insert:two",
            "sent:one",
            "sent_async:one",
            "sent:two",
            "sent_async:two"
        ]
    );

    // A body that fails after a successful write: rolled back, no listener.
    trace.lock().unwrap().clear();
    let inner = trace.clone();
    let result: Result<(), Error> = transaction(&db.pool, |conn| {
        Box::pin(async move {
            note("three", &inner).insert(&mut *conn).await?;
            Err(Error::NotFound {
                model: "Note",
                key: "something else".into(),
            })
        })
    })
    .await;
    assert!(matches!(result, Err(Error::NotFound { .. })));
    assert_eq!(entries(&trace), ["after_insert:three"]);
    assert_eq!(db.count("notes").await, 2);
}

async fn listener_writes_wait_for_the_outer_commit<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let mut post = Post {
        title: "hello".into(),
        trace: trace.clone(),
        ..Post::default()
    };
    post.insert(&db.pool).await.unwrap();
    assert_eq!(
        entries(&trace),
        [
            "after_insert:for hello",
            "sent:for hello",
            "sent_async:for hello"
        ]
    );

    // The post is vetoed after its listener wrote the note: the note is rolled back with
    // it, and its after-commit listeners never run.
    trace.lock().unwrap().clear();
    let mut vetoed = Post {
        title: "veto".into(),
        trace: trace.clone(),
        ..Post::default()
    };
    let error = vetoed.insert(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Listener {
                model: "Post",
                event: Event::AfterInsert,
                listener: "refuse_if_asked",
                ..
            }
        ) && error.listener_error::<Refused>().is_some(),
        "{error:?}"
    );
    assert_eq!(entries(&trace), ["after_insert:for veto"]);
    assert_eq!(db.count("notes").await, 1);
    assert_eq!(db.count("posts").await, 1);
}

async fn a_transaction_model_core_did_not_begin_is_refused<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let trace = Trace::default();
    let mut tx = db.pool.begin().await.unwrap();
    let error = note("raw", &trace)
        .insert(Conn::<DB>::from_mut(&mut *tx))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::CommitScope { model: "Note" }),
        "{error:?}"
    );
    // Models without after-commit listeners still work in the caller's transaction.
    let mut post = Post {
        title: "plain".into(),
        trace: trace.clone(),
        ..Post::default()
    };
    let error = post
        .insert(Conn::<DB>::from_mut(&mut *tx))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Listener { source, .. }
            if matches!(source.downcast_ref::<Error>(), Some(Error::CommitScope { .. }))),
        "its listener's Note write is refused the same way: {error:?}"
    );
    tx.commit().await.unwrap();
    assert_eq!(entries(&trace), Vec::<String>::new());
    assert_eq!(db.count("notes").await, 0);
    assert_eq!(db.count("posts").await, 0);
}

per_backend!(
    commit_listeners_run_after_the_write_in_order_and_not_for_a_veto,
    transaction_holds_commit_listeners_until_its_commit,
    listener_writes_wait_for_the_outer_commit,
    a_transaction_model_core_did_not_begin_is_refused,
);
