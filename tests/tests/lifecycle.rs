//! Every event at its point, in order, inside the write's transaction; vetoes and failures
//! that write nothing; caller-held transactions; keys, not-found and bulk writes. Each test
//! runs on SQLite, PostgreSQL and MySQL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use model_core::schema::Schema;
use model_core::{Backend, Conn, Error, Event, ListenerInfo, Model, Page};
use model_tests::{per_backend, TestBackend, TestDb};

/// What a listener refuses with; must come back as the error's `source()`.
#[derive(Debug, PartialEq)]
struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused by {}", self.0)
    }
}
impl std::error::Error for Refused {}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "posts")]
// Order holds within one attribute and across attributes: both forms are tested. The
// second trips clippy's `duplicated_attributes` (see the README).
#[listens_for(before_insert, first, second)]
#[listens_for(before_insert, audit_before_insert)]
#[listens_for(after_insert, check_after_insert)]
#[listens_for(before_update, touch, refuse)]
#[allow(clippy::duplicated_attributes)]
#[listens_for(after_update, audit_after_update)]
#[listens_for(before_delete, refuse_delete)]
#[listens_for(after_delete, audit_after_delete)]
#[listens_for(load, mark_loaded)]
struct Post {
    id: Option<i64>,
    title: String,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    /// What the listeners saw, in the order they ran.
    #[model(skip)]
    trace: Arc<Mutex<Vec<String>>>,
    /// The listener that should fail, if any.
    #[model(skip)]
    fail_at: Option<&'static str>,
    #[model(skip)]
    loaded: bool,
}

impl Post {
    fn new(title: &str) -> Self {
        Post {
            title: title.into(),
            ..Post::default()
        }
    }
    fn record(&self, entry: String) {
        self.trace.lock().unwrap().push(entry);
    }
    fn trace(&self) -> Vec<String> {
        self.trace.lock().unwrap().clone()
    }
    fn check(&self, listener: &'static str) -> Result<(), Refused> {
        if self.fail_at == Some(listener) {
            Err(Refused(listener))
        } else {
            Ok(())
        }
    }
}

#[derive(Debug, Model)]
#[model(table = "audit")]
struct Audit {
    id: Option<i64>,
    post_id: Option<i64>,
    event: String,
}

async fn audit<DB: Backend>(conn: &mut Conn<DB>, post: &Post, event: Event) -> Result<(), Error> {
    Audit {
        id: None,
        post_id: post.id,
        event: event.to_string(),
    }
    .insert(conn)
    .await
}

fn first(post: &mut Post) {
    post.record(format!("before_insert:first:{:?}", post.id));
    post.created_at = Some(Utc::now());
    post.title = format!("{}!", post.title);
}

fn second(post: &mut Post) -> Result<(), Refused> {
    post.record(format!("before_insert:second:{}", post.title));
    post.check("second")
}

async fn audit_before_insert<DB: Backend>(
    post: &mut Post,
    conn: &mut Conn<DB>,
) -> Result<(), Error> {
    // Awaits something real before writing, so a concurrent runner would reorder it.
    tokio::time::sleep(Duration::from_millis(5)).await;
    post.record("before_insert:audit_before_insert".into());
    audit(conn, post, Event::BeforeInsert).await
}

async fn check_after_insert<DB: Backend>(
    post: &Post,
    conn: &mut Conn<DB>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // The row is visible on the listener's connection: same transaction.
    let sql = format!(
        "SELECT title FROM posts WHERE id = {}",
        DB::DIALECT.placeholder(1)
    );
    let query = DB::bind(
        sqlx::query(sqlx::AssertSqlSafe(sql)),
        &post.id.expect("key set"),
    );
    let row = conn
        .fetch_optional(query)
        .await?
        .expect("row visible in the same transaction");
    let title: String = DB::get(&row, 0)?;
    post.record(format!(
        "after_insert:check_after_insert:{:?}:{title}",
        post.id.is_some()
    ));
    Ok(post.check("check_after_insert")?)
}

fn touch(post: &mut Post) {
    post.record("before_update:touch".into());
    post.updated_at = Some(Utc::now());
}

fn refuse(post: &mut Post) -> Result<(), Refused> {
    post.record("before_update:refuse".into());
    post.check("refuse")
}

async fn audit_after_update<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), Error> {
    post.record("after_update:audit_after_update".into());
    audit(conn, post, Event::AfterUpdate).await
}

fn refuse_delete(post: &Post) -> Result<(), Refused> {
    post.record("before_delete:refuse_delete".into());
    post.check("refuse_delete")
}

async fn audit_after_delete<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), Error> {
    post.record("after_delete:audit_after_delete".into());
    audit(conn, post, Event::AfterDelete).await?;
    if post.fail_at == Some("audit_after_delete") {
        return Err(Error::NotFound {
            model: "test",
            key: "refused".into(),
        });
    }
    Ok(())
}

fn mark_loaded(post: &mut Post) {
    post.loaded = true;
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Post>()
        .model::<Audit>()
        .create_all(&db.pool)
        .await
        .unwrap();
}

async fn audits<DB: TestBackend>(db: &TestDb<DB>) -> Vec<String> {
    Audit::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.event)
        .collect()
}

fn expect_listener_error(error: &Error, event: Event, listener: &str) {
    match error {
        Error::Listener {
            model,
            event: e,
            listener: l,
            ..
        } => {
            assert_eq!((*model, *e, *l), ("Post", event, listener), "{error:?}");
        }
        other => panic!("expected a listener error, got {other:?}"),
    }
}

async fn insert_runs_listeners_in_order_and_writes_their_changes<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut post = Post::new("hello");
    post.insert(&db.pool).await.unwrap();
    assert_eq!(
        post.trace(),
        [
            "before_insert:first:None",
            "before_insert:second:hello!",
            "before_insert:audit_before_insert",
            "after_insert:check_after_insert:true:hello!",
        ]
    );
    let stored = Post::get(&db.pool, post.id.unwrap()).await.unwrap();
    assert_eq!(stored.title, "hello!", "a before_insert edit is written");
    assert!(stored.created_at.is_some());
    assert!(stored.loaded, "load listener ran");
    assert_eq!(audits(db).await, ["before_insert"]);
}

async fn veto_before_insert_writes_nothing<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut post = Post {
        fail_at: Some("second"),
        ..Post::new("no")
    };
    let error = post.insert(&db.pool).await.unwrap_err();
    expect_listener_error(&error, Event::BeforeInsert, "second");
    assert_eq!(error.listener_error::<Refused>(), Some(&Refused("second")));
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(source.downcast_ref::<Refused>(), Some(&Refused("second")));
    assert_eq!(db.count("posts").await, 0);
    assert_eq!(db.count("audit").await, 0);
    assert_eq!(post.id, None);
}

async fn veto_after_insert_rolls_back_the_row_and_earlier_listener_sql<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let mut post = Post {
        fail_at: Some("check_after_insert"),
        ..Post::new("no")
    };
    let error = post.insert(&db.pool).await.unwrap_err();
    expect_listener_error(&error, Event::AfterInsert, "check_after_insert");
    assert!(error.listener_error::<Refused>().is_some());
    assert_eq!(db.count("posts").await, 0, "the row is rolled back");
    assert_eq!(
        db.count("audit").await,
        0,
        "the before_insert listener's audit row is rolled back"
    );
    assert_eq!(
        post.id, None,
        "the generated key of a rolled-back insert is cleared"
    );
    // The model can be inserted once the listener lets it.
    post.fail_at = None;
    post.insert(&db.pool).await.unwrap();
    assert_eq!(db.count("posts").await, 1);
}

async fn update_runs_listeners_and_writes_before_update_edits<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut post = Post::new("a");
    post.insert(&db.pool).await.unwrap();
    post.trace.lock().unwrap().clear();
    post.title = "b".into();
    post.update(&db.pool).await.unwrap();
    assert_eq!(
        post.trace(),
        [
            "before_update:touch",
            "before_update:refuse",
            "after_update:audit_after_update"
        ]
    );
    let stored = Post::get(&db.pool, post.id.unwrap()).await.unwrap();
    assert_eq!(stored.title, "b");
    assert!(
        stored.updated_at.is_some(),
        "before_update's updated_at is written"
    );
    assert_eq!(audits(db).await, ["before_insert", "after_update"]);

    let mut vetoed = Post {
        fail_at: Some("refuse"),
        title: "c".into(),
        ..stored
    };
    let error = vetoed.update(&db.pool).await.unwrap_err();
    expect_listener_error(&error, Event::BeforeUpdate, "refuse");
    assert_eq!(
        Post::get(&db.pool, post.id.unwrap()).await.unwrap().title,
        "b"
    );
    assert_eq!(db.count("audit").await, 2);
}

async fn delete_can_be_vetoed_and_after_delete_commits_with_it<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut post = Post::new("a");
    post.insert(&db.pool).await.unwrap();
    let vetoed = Post {
        fail_at: Some("refuse_delete"),
        ..post.clone()
    };
    let error = vetoed.delete(&db.pool).await.unwrap_err();
    expect_listener_error(&error, Event::BeforeDelete, "refuse_delete");
    assert_eq!(db.count("posts").await, 1);

    let failing = Post {
        fail_at: Some("audit_after_delete"),
        ..post.clone()
    };
    let error = failing.delete(&db.pool).await.unwrap_err();
    expect_listener_error(&error, Event::AfterDelete, "audit_after_delete");
    assert!(matches!(
        std::error::Error::source(&error)
            .unwrap()
            .downcast_ref::<Error>(),
        Some(Error::NotFound { .. })
    ));
    assert_eq!(
        db.count("posts").await,
        1,
        "a failing after_delete listener undoes the delete"
    );
    assert_eq!(audits(db).await, ["before_insert"], "and its own audit row");

    post.delete(&db.pool).await.unwrap();
    assert_eq!(db.count("posts").await, 0);
    assert_eq!(audits(db).await, ["before_insert", "after_delete"]);
    assert!(matches!(
        post.delete(&db.pool).await,
        Err(Error::NotFound { model: "Post", .. })
    ));
}

async fn missing_and_unsaved_rows_are_typed_errors<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut ghost = Post {
        id: Some(4242),
        ..Post::new("ghost")
    };
    match ghost.update(&db.pool).await {
        Err(Error::NotFound { model: "Post", key }) => assert_eq!(key, "4242"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(
        db.count("audit").await,
        0,
        "the after_update listener did not run"
    );
    assert!(matches!(
        Post::get(&db.pool, 4242).await,
        Err(Error::NotFound { .. })
    ));
    assert!(Post::find(&db.pool, 4242).await.unwrap().is_none());
    let mut unsaved = Post::new("new");
    assert!(matches!(
        unsaved.update(&db.pool).await,
        Err(Error::Unsaved { model: "Post" })
    ));
    assert!(matches!(
        unsaved.delete(&db.pool).await,
        Err(Error::Unsaved { model: "Post" })
    ));
    assert_eq!(db.count("posts").await, 0);
}

async fn load_listeners_run_on_every_read<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut posts: Vec<Post> = (0..5).map(|n| Post::new(&format!("p{n}"))).collect();
    Post::insert_all(&mut posts, &db.pool).await.unwrap();
    let id = posts[0].id.unwrap();
    assert!(Post::find(&db.pool, id).await.unwrap().unwrap().loaded);
    assert!(Post::get(&db.pool, id).await.unwrap().loaded);
    let all = Post::all(&db.pool).await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|p| p.loaded));
    let newest = Post::page(&db.pool, Page::newest(2)).await.unwrap();
    assert_eq!(
        newest.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(),
        ["p4!", "p3!"]
    );
    assert!(newest.iter().all(|p| p.loaded));
    let second_page = Post::page(&db.pool, Page::first(2).offset(2))
        .await
        .unwrap();
    assert_eq!(
        second_page
            .iter()
            .map(|p| p.title.as_str())
            .collect::<Vec<_>>(),
        ["p2!", "p3!"]
    );
}

async fn caller_transaction_commits_and_rolls_back_all_writes_together<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let mut tx = db.pool.begin().await.unwrap();
    Post::new("a").insert(&mut tx).await.unwrap();
    Post::new("b").insert(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!((db.count("posts").await, db.count("audit").await), (0, 0));

    let mut tx = db.pool.begin().await.unwrap();
    Post::new("a").insert(&mut tx).await.unwrap();
    // A connection handed around as a `Conn` joins the same transaction.
    Post::new("b")
        .insert(Conn::<DB>::from_mut(&mut tx))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((db.count("posts").await, db.count("audit").await), (2, 2));
}

async fn failed_write_in_caller_transaction_keeps_the_callers_other_writes<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let mut tx = db.pool.begin().await.unwrap();
    let mut a = Post::new("a");
    a.insert(&mut tx).await.unwrap();
    let mut b = Post {
        fail_at: Some("check_after_insert"),
        ..Post::new("b")
    };
    let error = b.insert(&mut tx).await.unwrap_err();
    expect_listener_error(&error, Event::AfterInsert, "check_after_insert");
    let mut c = Post::new("c");
    c.insert(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let titles: Vec<String> = Post::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.title)
        .collect();
    assert_eq!(titles, ["a!", "c!"]);
    assert_eq!(
        db.count("audit").await,
        2,
        "b's audit row went with b's savepoint"
    );
}

async fn bulk_writes_run_every_listener_and_a_veto_writes_none<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let mut posts: Vec<Post> = (0..5).map(|n| Post::new(&format!("p{n}"))).collect();
    posts[2].fail_at = Some("check_after_insert");
    let error = Post::insert_all(&mut posts, &db.pool).await.unwrap_err();
    expect_listener_error(&error, Event::AfterInsert, "check_after_insert");
    assert_eq!((db.count("posts").await, db.count("audit").await), (0, 0));
    assert!(
        posts.iter().all(|p| p.id.is_none()),
        "no key survives the rollback"
    );

    posts[2].fail_at = None;
    for post in &posts {
        post.trace.lock().unwrap().clear();
    }
    Post::insert_all(&mut posts, &db.pool).await.unwrap();
    assert!(
        posts.iter().all(|p| p.trace().len() == 4),
        "every row's listeners ran"
    );
    assert_eq!(db.count("audit").await, 5);

    for post in &mut posts {
        post.title = "edited".into();
    }
    posts[4].fail_at = Some("refuse");
    let error = Post::update_all(&mut posts, &db.pool).await.unwrap_err();
    expect_listener_error(&error, Event::BeforeUpdate, "refuse");
    assert!(Post::all(&db.pool)
        .await
        .unwrap()
        .iter()
        .all(|p| p.title != "edited"));
    posts[4].fail_at = None;
    Post::update_all(&mut posts, &db.pool).await.unwrap();
    assert!(Post::all(&db.pool)
        .await
        .unwrap()
        .iter()
        .all(|p| p.title == "edited" && p.updated_at.is_some()));

    Post::delete_all(&posts, &db.pool).await.unwrap();
    assert_eq!(db.count("posts").await, 0);
    assert_eq!(db.count("audit").await, 5 + 5 + 5);
}

/// The manifest is a constant of the model: no database, so a plain test, not one per backend.
/// What each event says of itself: which run after the commit, and which once the
/// transaction has ended (they take no connection and cannot veto).
#[test]
fn events_say_when_their_listeners_run() {
    let after_commit: Vec<Event> = Event::ALL
        .into_iter()
        .filter(|e| e.is_after_commit())
        .collect();
    assert_eq!(
        after_commit,
        [
            Event::AfterInsertCommit,
            Event::AfterUpdateCommit,
            Event::AfterDeleteCommit
        ]
    );
    let after_transaction: Vec<Event> = Event::ALL
        .into_iter()
        .filter(|e| e.is_after_transaction())
        .collect();
    assert_eq!(
        after_transaction,
        [
            Event::AfterInsertCommit,
            Event::AfterUpdateCommit,
            Event::AfterDeleteCommit,
            Event::AfterRollback
        ]
    );
    let mutable: Vec<Event> = Event::ALL.into_iter().filter(|e| e.is_mutable()).collect();
    assert_eq!(
        mutable,
        [Event::BeforeInsert, Event::BeforeUpdate, Event::Load]
    );
}

#[test]
fn manifest_lists_listeners_in_declaration_order() {
    let before: Vec<&ListenerInfo> = Post::listeners(Event::BeforeInsert).collect();
    assert_eq!(
        before
            .iter()
            .map(|l| (l.listener, l.order))
            .collect::<Vec<_>>(),
        [("first", 0), ("second", 1), ("audit_before_insert", 2)]
    );
    assert_eq!(Post::LISTENERS.len(), 10);
    assert_eq!(
        Post::LISTENERS[9],
        ListenerInfo {
            event: Event::Load,
            listener: "mark_loaded",
            order: 0
        }
    );
}

per_backend!(
    insert_runs_listeners_in_order_and_writes_their_changes,
    veto_before_insert_writes_nothing,
    veto_after_insert_rolls_back_the_row_and_earlier_listener_sql,
    update_runs_listeners_and_writes_before_update_edits,
    delete_can_be_vetoed_and_after_delete_commits_with_it,
    missing_and_unsaved_rows_are_typed_errors,
    load_listeners_run_on_every_read,
    caller_transaction_commits_and_rolls_back_all_writes_together,
    failed_write_in_caller_transaction_keeps_the_callers_other_writes,
    bulk_writes_run_every_listener_and_a_veto_writes_none,
);
