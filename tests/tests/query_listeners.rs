//! `before_query` listeners (issue 27, SQLAlchemy's `before_compile` with `retval=True` and
//! the `do_orm_execute` options), and the run-time listener options `first` (`insert=True`)
//! and `key` (one function listened twice is listened once).
//!
//! A query listener narrows every read and set-based write of its model: `Select`'s reads
//! (a stream past its first chunk included), `get`, `find`, `all`, `page`, set-based
//! `update` and `delete`. `Select::option` reaches it. A listener that returns `Err` fails
//! the query, which sends nothing.
//!
//! Run-time listeners are global and the three backends' tests run at once: the tests that
//! register them take [`RUNTIME`] first.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use model_core::{
    listen, listen_with, on, on_statement, Error, Event, ListenOptions, Model, Page, Select,
    StatementPhase,
};
use model_tests::{per_backend, TestBackend, TestDb};

/// Counts the statements sent for `model` while the returned handle is kept.
fn statements_of(model: &'static str) -> (Arc<AtomicUsize>, model_core::Listening) {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let watching = on_statement(move |s| {
        if s.model == Some(model) && matches!(s.phase, StatementPhase::Before) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (sent, watching)
}

/// Held by the tests that register run-time listeners.
static RUNTIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Soft-deleted rows are hidden by a struct-side query listener.
#[derive(Debug, Clone, Model)]
#[model(table = "ql_notes")]
#[listens_for(before_query, hide_deleted)]
struct Note {
    id: Option<i64>,
    body: String,
    deleted: bool,
}

fn hide_deleted(query: Select<Note>) -> Select<Note> {
    if query.has_option("with_deleted") {
        query
    } else {
        query.filter(|n| n.deleted.eq(false))
    }
}

fn note(body: &str, deleted: bool) -> Note {
    Note {
        id: None,
        body: body.to_owned(),
        deleted,
    }
}

async fn every_read_and_set_based_write_sees_the_filter<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    Note::create_table(pool).await.unwrap();
    let mut kept = note("kept", false);
    kept.insert(pool).await.unwrap();
    let mut gone = note("gone", true);
    gone.insert(pool).await.unwrap();
    let gone_id = gone.id.unwrap();

    assert_eq!(Note::query().count(pool).await.unwrap(), 1);
    assert_eq!(Note::all(pool).await.unwrap().len(), 1);
    assert_eq!(Note::page(pool, Page::first(10)).await.unwrap().len(), 1);
    assert!(Note::find(pool, gone_id).await.unwrap().is_none());
    assert!(matches!(
        Note::get(pool, gone_id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(Note::get(pool, kept.id.unwrap()).await.is_ok());
    assert!(!Note::filter(|n| n.body.eq("gone"))
        .exists(pool)
        .await
        .unwrap());
    assert_eq!(Note::query().one(pool).await.unwrap().body, "kept");
    assert_eq!(
        Note::query().first(pool).await.unwrap().unwrap().body,
        "kept"
    );

    // The option reaches the listener.
    let all = Note::query().option("with_deleted");
    assert!(all.has_option("with_deleted"));
    assert_eq!(all.clone().count(pool).await.unwrap(), 2);
    assert_eq!(
        Note::filter(|n| n.id.eq(gone_id))
            .option("with_deleted")
            .one(pool)
            .await
            .unwrap()
            .body,
        "gone"
    );

    // Set-based writes change only the rows the listener lets through.
    let updated = Note::query()
        .update(|n| n.body.set("edited".to_owned()), pool)
        .await
        .unwrap();
    assert_eq!(updated, 1);
    let stored = Note::filter(|n| n.id.eq(gone_id))
        .option("with_deleted")
        .one(pool)
        .await
        .unwrap();
    assert_eq!(stored.body, "gone", "a hidden row is not updated");
    assert_eq!(Note::query().delete(pool).await.unwrap(), 1);
    assert_eq!(
        Note::query()
            .option("with_deleted")
            .count(pool)
            .await
            .unwrap(),
        1,
        "a hidden row is not deleted"
    );
}

async fn a_stream_past_its_first_chunk_sees_the_filter<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    Note::create_table(pool).await.unwrap();
    let mut rows: Vec<Note> = (0..2_500)
        .map(|i| note(&format!("n{i}"), i % 2 == 1))
        .collect();
    Note::insert_all(&mut rows, pool).await.unwrap();
    let mut stream = Note::query().stream(pool);
    let mut seen = 0;
    let mut last = 0;
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        assert!(!row.deleted);
        let id = row.id.unwrap();
        assert!(id > last, "no row twice, in key order");
        last = id;
        seen += 1;
    }
    assert_eq!(seen, 1_250);
    // Descending, with an `or` and a `not` of the caller's beside the listener's filter:
    // the listener's condition holds for the whole of the caller's, chunk after chunk.
    let mut stream = Note::filter(|n| n.body.eq("n0".to_owned()).or(!n.body.eq("n2".to_owned())))
        .order_by(|n| n.id.desc())
        .stream(pool);
    let (mut seen, mut last) = (0, i64::MAX);
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        assert!(!row.deleted, "{row:?}");
        assert_ne!(row.body, "n2");
        let id = row.id.unwrap();
        assert!(id < last, "no row twice, in descending key order");
        last = id;
        seen += 1;
    }
    assert_eq!(seen, 1_249);
    let mut every = Note::query().option("with_deleted").stream(pool);
    let mut all = 0;
    while let Some(row) = every.next().await {
        row.unwrap();
        all += 1;
    }
    assert_eq!(all, 2_500);
}

/// A tenant filter declared on the function, which refuses a query without a tenant.
#[derive(Debug, Clone, Model)]
#[model(table = "ql_docs")]
struct Doc {
    id: Option<i64>,
    tenant: i64,
    title: String,
}

#[derive(Debug)]
struct NoTenant;

impl std::fmt::Display for NoTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no tenant set for this query")
    }
}

impl std::error::Error for NoTenant {}

tokio::task_local! {
    static TENANT: i64;
}

#[model_core::listens_for(before_query)]
fn tenant_only(query: Select<Doc>) -> Result<Select<Doc>, NoTenant> {
    let tenant = TENANT.try_with(|t| *t).map_err(|_| NoTenant)?;
    Ok(query.filter(|d| d.tenant.eq(tenant)))
}

async fn a_function_side_listener_filters_and_refuses<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    let _guard = RUNTIME.lock().await;
    let pool2 = pool.clone();
    TENANT
        .scope(0, async move {
            let pool = &pool2;
            Doc::create_table(pool).await.unwrap();
            for (tenant, title) in [(1, "a"), (1, "b"), (2, "c")] {
                Doc {
                    id: None,
                    tenant,
                    title: title.to_owned(),
                }
                .insert(pool)
                .await
                .unwrap();
            }
        })
        .await;
    let p = pool.clone();
    let one = TENANT
        .scope(1, async move { Doc::query().count(&p).await.unwrap() })
        .await;
    assert_eq!(one, 2);
    let p = pool.clone();
    let two = TENANT
        .scope(2, async move { Doc::all(&p).await.unwrap() })
        .await;
    assert_eq!(two.len(), 1);
    assert_eq!(two[0].title, "c");

    // Without a tenant the listener refuses, and nothing is sent.
    let (sent, watching) = statements_of("Doc");
    let before = sent.load(Ordering::SeqCst);
    match Doc::query().count(pool).await {
        Err(Error::Listener {
            model,
            event,
            listener,
            source,
        }) => {
            assert_eq!(model, "Doc");
            assert_eq!(event, Event::BeforeQuery);
            assert!(listener.ends_with("tenant_only"), "{listener}");
            assert!(source.downcast_ref::<NoTenant>().is_some());
        }
        other => panic!("expected the listener's refusal, got {other:?}"),
    }
    assert!(matches!(
        Doc::query().delete(pool).await,
        Err(Error::Listener { .. })
    ));
    assert_eq!(
        sent.load(Ordering::SeqCst),
        before,
        "a refused query sends nothing"
    );
    drop(watching);
    let p = pool.clone();
    let left = TENANT
        .scope(0, async move { Doc::query().count(&p).await.unwrap() })
        .await;
    assert_eq!(left, 0, "tenant 0 has no documents");
    let p = pool.clone();
    let all = TENANT
        .scope(1, async move { Doc::query().count(&p).await.unwrap() })
        .await;
    assert_eq!(all, 2, "the refused delete deleted nothing");
}

/// A model for the run-time listener tests.
#[derive(Debug, Clone, Model)]
#[model(table = "ql_items")]
#[listens_for(before_insert, mark_struct)]
struct Item {
    id: Option<i64>,
    trail: String,
    hidden: bool,
}

fn mark_struct(item: &mut Item) {
    item.trail.push_str("struct,");
}

async fn run_time_query_listeners_come_and_go<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    let _guard = RUNTIME.lock().await;
    Item::create_table(pool).await.unwrap();
    for hidden in [false, true, true] {
        Item {
            id: None,
            trail: String::new(),
            hidden,
        }
        .insert(pool)
        .await
        .unwrap();
    }
    assert_eq!(Item::query().count(pool).await.unwrap(), 3);
    let listening = listen(on::BeforeQuery, |q: Select<Item>| {
        q.filter(|i| i.hidden.eq(false))
    });
    assert_eq!(Item::query().count(pool).await.unwrap(), 1);
    assert_eq!(Item::all(pool).await.unwrap().len(), 1);
    drop(listening);
    assert_eq!(Item::query().count(pool).await.unwrap(), 3);
}

async fn first_runs_before_the_declared_listeners<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    let _guard = RUNTIME.lock().await;
    Item::create_table(pool).await.unwrap();
    let _last = listen(on::BeforeInsert, |i: &mut Item| i.trail.push_str("last,"));
    let _one = listen_with(
        on::BeforeInsert,
        |i: &mut Item| i.trail.push_str("first1,"),
        ListenOptions::new().first(),
    );
    let _two = listen_with(
        on::BeforeInsert,
        |i: &mut Item| i.trail.push_str("first2,"),
        ListenOptions::new().first(),
    );
    let mut item = Item {
        id: None,
        trail: String::new(),
        hidden: false,
    };
    item.insert(pool).await.unwrap();
    // SQLAlchemy's `insert=True`: the one inserted last runs first.
    assert_eq!(item.trail, "first2,first1,struct,last,");
    let stored = Item::get(pool, item.id.unwrap()).await.unwrap();
    assert_eq!(stored.trail, item.trail);
}

async fn a_key_registers_a_listener_once<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    let _guard = RUNTIME.lock().await;
    Item::create_table(pool).await.unwrap();
    let calls = Arc::new(Mutex::new(0));
    let register = || {
        let calls = Arc::clone(&calls);
        listen_with(
            on::AfterInsert,
            move |_: &Item| *calls.lock().unwrap() += 1,
            ListenOptions::new().key("count-inserts"),
        )
    };
    let first = register();
    let second = register();
    let mut item = Item {
        id: None,
        trail: String::new(),
        hidden: false,
    };
    item.insert(pool).await.unwrap();
    assert_eq!(*calls.lock().unwrap(), 1, "listened twice, called once");
    // One removal undoes it, whichever handle.
    second.remove();
    item.id = None;
    item.insert(pool).await.unwrap();
    assert_eq!(*calls.lock().unwrap(), 1, "removed by either handle");
    drop(first);
    // After removal the key is free again.
    let again = register();
    item.id = None;
    item.insert(pool).await.unwrap();
    assert_eq!(*calls.lock().unwrap(), 2);
    drop(again);
    let once_ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&once_ran);
    let _once = listen_with(
        on::AfterInsert,
        move |_: &Item| {
            assert!(
                !flag.swap(true, Ordering::SeqCst),
                "a once listener runs once"
            );
        },
        ListenOptions::new().once(),
    );
    for _ in 0..2 {
        item.id = None;
        item.insert(pool).await.unwrap();
    }
    assert!(once_ran.load(Ordering::SeqCst));
}

/// One query listener reached three ways: twice on the struct (`counted`,
/// `self::counted`) and by its own `#[listens_for]`. It runs once per query.
#[derive(Debug, Clone, Model)]
#[model(table = "ql_counted")]
#[listens_for(before_query, counted, self::counted)]
struct Counted {
    id: Option<i64>,
    note: String,
}

static COUNTED: AtomicUsize = AtomicUsize::new(0);

#[model_core::listens_for(before_query)]
fn counted(query: Select<Counted>) -> Select<Counted> {
    COUNTED.fetch_add(1, Ordering::SeqCst);
    query
}

async fn a_listener_reached_three_ways_runs_once<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    let _guard = RUNTIME.lock().await;
    Counted::create_table(pool).await.unwrap();
    assert_eq!(Counted::listeners(Event::BeforeQuery).count(), 1);
    let before = COUNTED.load(Ordering::SeqCst);
    Counted::query().count(pool).await.unwrap();
    assert_eq!(COUNTED.load(Ordering::SeqCst) - before, 1);
    // A stream of several chunks is one query.
    let mut rows: Vec<Counted> = (0..1_500)
        .map(|i| Counted {
            id: None,
            note: format!("{i}"),
        })
        .collect();
    Counted::insert_all(&mut rows, pool).await.unwrap();
    let before = COUNTED.load(Ordering::SeqCst);
    let mut stream = Counted::query().stream(pool);
    let mut n = 0;
    while let Some(row) = stream.next().await {
        row.unwrap();
        n += 1;
    }
    assert_eq!(n, 1_500);
    assert_eq!(COUNTED.load(Ordering::SeqCst) - before, 1);
}

/// Eager loading reads a model's rows through its query listeners too.
#[derive(Debug, Clone, Model)]
#[model(table = "ql_threads")]
struct Thread {
    id: Option<i64>,
    title: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "ql_replies")]
#[listens_for(before_query, visible_replies)]
#[listens_for(before_delete, count_reply_delete)]
struct Reply {
    id: Option<i64>,
    #[model(references = Thread, on_delete = "cascade")]
    thread_id: i64,
    deleted: bool,
}

/// The same table, without the listener.
#[derive(Debug, Clone, Model)]
#[model(table = "ql_replies")]
struct RawReply {
    id: Option<i64>,
    thread_id: i64,
    deleted: bool,
}

fn visible_replies(query: Select<Reply>) -> Select<Reply> {
    query.filter(|r| r.deleted.eq(false))
}

static REPLY_DELETES: AtomicUsize = AtomicUsize::new(0);

fn count_reply_delete(_: &Reply) {
    REPLY_DELETES.fetch_add(1, Ordering::SeqCst);
}

async fn eager_loading_and_cascades<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    let _guard = RUNTIME.lock().await;
    Thread::create_table(pool).await.unwrap();
    Reply::create_table(pool).await.unwrap();
    let mut threads: Vec<Thread> = ["a", "b"]
        .iter()
        .map(|t| Thread {
            id: None,
            title: (*t).to_owned(),
        })
        .collect();
    Thread::insert_all(&mut threads, pool).await.unwrap();
    for (thread, deleted) in [(0, false), (0, true), (1, true)] {
        Reply {
            id: None,
            thread_id: threads[thread].id.unwrap(),
            deleted,
        }
        .insert(pool)
        .await
        .unwrap();
    }
    let replies: Vec<Vec<Reply>> = Thread::load_children(&threads, pool).await.unwrap();
    assert_eq!(
        replies.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 0],
        "hidden replies are not loaded"
    );
    assert_eq!(threads[0].children::<Reply>().count(pool).await.unwrap(), 1);
    // A cascade deletes every child the foreign key names through its listeners, hidden
    // or not.
    let before = REPLY_DELETES.load(Ordering::SeqCst);
    threads[0].clone().delete(pool).await.unwrap();
    assert_eq!(REPLY_DELETES.load(Ordering::SeqCst) - before, 2);
    assert_eq!(
        Reply::query().option("all").count(pool).await.unwrap(),
        0,
        "the listener hides deleted replies from every query, options or not"
    );
    let left = RawReply::query().count(pool).await.unwrap();
    assert_eq!(left, 1, "only thread b's hidden reply is left");
}

/// A listener that answers queries from a cache (SQLAlchemy's `do_orm_execute` returning
/// a result): nothing is sent, and no `load` listener runs again.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "ql_countries")]
#[listens_for(before_query, from_cache)]
#[listens_for(load, count_country_load)]
struct Country {
    #[model(primary_key)]
    code: String,
    name: String,
}

tokio::task_local! {
    static CACHED: Vec<Country>;
}

fn from_cache(query: Select<Country>) -> Select<Country> {
    match CACHED.try_with(Clone::clone) {
        Ok(rows) => query.answer(rows),
        Err(_) => query,
    }
}

static COUNTRY_LOADS: AtomicUsize = AtomicUsize::new(0);

fn count_country_load(_: &mut Country) {
    COUNTRY_LOADS.fetch_add(1, Ordering::SeqCst);
}

fn country(code: &str, name: &str) -> Country {
    Country {
        code: code.to_owned(),
        name: name.to_owned(),
    }
}

async fn a_listener_answers_from_a_cache<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    // The load counter and the statement counter are the process's: one backend at a time.
    let _guard = RUNTIME.lock().await;
    Country::create_table(pool).await.unwrap();
    for (code, name) in [("de", "Germany"), ("fr", "France")] {
        country(code, name).insert(pool).await.unwrap();
    }
    assert_eq!(Country::query().count(pool).await.unwrap(), 2);

    let (sent, watching) = statements_of("Country");
    let loads = COUNTRY_LOADS.load(Ordering::SeqCst);
    let cached = vec![
        country("it", "Italy (cached)"),
        country("es", "Spain (cached)"),
    ];
    let p = pool.clone();
    CACHED
        .scope(cached.clone(), async move {
            let pool = &p;
            assert_eq!(Country::query().all(pool).await.unwrap(), cached);
            assert_eq!(Country::all(pool).await.unwrap(), cached);
            // The first of the answer, not its last.
            assert_eq!(
                Country::query().first(pool).await.unwrap(),
                Some(cached[0].clone())
            );
            assert!(matches!(
                Country::query().one(pool).await,
                Err(Error::TooManyRows { model: "Country" })
            ));
            assert_eq!(Country::query().count(pool).await.unwrap(), 2);
            assert!(Country::filter(|c| c.code.eq("none"))
                .exists(pool)
                .await
                .unwrap());
            assert_eq!(
                Country::find(pool, "it".to_owned()).await.unwrap(),
                Some(cached[0].clone())
            );
            let mut stream = Country::query().stream(pool);
            let mut streamed = Vec::new();
            while let Some(c) = stream.next().await {
                streamed.push(c.unwrap());
            }
            assert_eq!(streamed, cached);
            // A set-based write reads its rows from the database, never from a copy.
            for refused in [
                Country::query().update(|c| [c.name.set("x")], pool).await,
                Country::query().delete(pool).await,
            ] {
                assert!(
                    matches!(
                        refused,
                        Err(Error::Unsupported {
                            model: "Country",
                            ..
                        })
                    ),
                    "{refused:?}"
                );
            }
        })
        .await;
    CACHED
        .scope(vec![country("pt", "Portugal")], async {
            assert_eq!(Country::query().one(pool).await.unwrap().code, "pt");
        })
        .await;
    CACHED
        .scope(Vec::new(), async {
            assert!(matches!(
                Country::query().one(pool).await,
                Err(Error::NoRows { .. })
            ));
        })
        .await;
    assert_eq!(
        sent.load(Ordering::SeqCst),
        0,
        "an answered query sends nothing"
    );
    assert_eq!(
        COUNTRY_LOADS.load(Ordering::SeqCst),
        loads,
        "answered rows are not loaded again"
    );
    drop(watching);
    // Without the answer the database is read, with its `load` listeners, and the refused
    // writes changed nothing.
    let stored = Country::query().all(pool).await.unwrap();
    assert_eq!(
        stored,
        vec![country("de", "Germany"), country("fr", "France")]
    );
    assert_eq!(COUNTRY_LOADS.load(Ordering::SeqCst), loads + 2);
}

/// A listener that replaces a value the caller's filter compares (SQLAlchemy's
/// `do_orm_execute` changing the statement's parameters).
#[derive(Debug, Clone, Model)]
#[model(table = "ql_tickets")]
#[listens_for(before_query, own_tickets)]
struct Ticket {
    id: Option<i64>,
    owner: i64,
    title: String,
    note: Option<String>,
}

tokio::task_local! {
    static OWNER: i64;
}

fn own_tickets(query: Select<Ticket>) -> Select<Ticket> {
    let query = match OWNER.try_with(|o| *o) {
        Ok(owner) => query.rebind(|t| t.owner, owner),
        Err(_) => query,
    };
    if query.has_option("without_note") {
        query.rebind(|t| t.note, None::<String>)
    } else {
        query
    }
}

async fn a_listener_replaces_a_bound_value<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    Ticket::create_table(pool).await.unwrap();
    for (owner, title, note) in [(1, "a", Some("n")), (1, "b", None), (2, "c", None)] {
        Ticket {
            id: None,
            owner,
            title: title.to_owned(),
            note: note.map(str::to_owned),
        }
        .insert(pool)
        .await
        .unwrap();
    }
    let titles = |tickets: Vec<Ticket>| -> Vec<String> {
        let mut titles: Vec<String> = tickets.into_iter().map(|t| t.title).collect();
        titles.sort();
        titles
    };
    // Without an owner in scope the caller's values stand.
    let ones = Ticket::filter(|t| t.owner.eq(1)).all(pool).await.unwrap();
    assert_eq!(titles(ones), ["a", "b"]);

    let p = pool.clone();
    OWNER
        .scope(2, async move {
            let pool = &p;
            let asked_one = Ticket::filter(|t| t.owner.eq(1)).all(pool).await.unwrap();
            assert_eq!(titles(asked_one), ["c"], "`= 1` now binds 2");
            let listed = Ticket::filter(|t| t.owner.in_([1, 3]))
                .all(pool)
                .await
                .unwrap();
            assert_eq!(titles(listed), ["c"], "an IN list becomes the one value");
            let either = Ticket::filter(|t| t.owner.eq(1).or(t.title.eq("a")))
                .all(pool)
                .await
                .unwrap();
            assert_eq!(
                titles(either),
                ["a", "c"],
                "only the owner's value is replaced"
            );
            let negated = Ticket::filter(|t| !t.owner.ne(1)).all(pool).await.unwrap();
            assert_eq!(titles(negated), ["c"], "inside a `not` too");
            let updated = Ticket::filter(|t| t.owner.eq(1))
                .update(|t| [t.title.set("c2")], pool)
                .await
                .unwrap();
            assert_eq!(updated, 1, "a set-based write is rewritten as a read is");
        })
        .await;
    let ones = Ticket::filter(|t| t.owner.eq(1)).all(pool).await.unwrap();
    assert_eq!(
        titles(ones),
        ["a", "b"],
        "owner 1's tickets were not updated"
    );
    // An `Option` column rebound to `None` compares as `IS NULL`.
    let without = Ticket::filter(|t| t.note.eq("n").and(t.owner.eq(1)))
        .option("without_note")
        .all(pool)
        .await
        .unwrap();
    assert_eq!(titles(without), ["b"]);
}

per_backend!(
    a_listener_answers_from_a_cache,
    a_listener_replaces_a_bound_value,
    eager_loading_and_cascades,
    a_listener_reached_three_ways_runs_once,
    every_read_and_set_based_write_sees_the_filter,
    a_stream_past_its_first_chunk_sees_the_filter,
    a_function_side_listener_filters_and_refuses,
    run_time_query_listeners_come_and_go,
    first_runs_before_the_declared_listeners,
    a_key_registers_a_listener_once,
);
