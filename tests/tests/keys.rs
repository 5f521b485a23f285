//! Primary keys beyond one generated integer: composite keys (`#[model(primary_key)]` on
//! several fields), tables in another schema (`#[model(schema = "...")]`), and PostgreSQL's
//! `GENERATED ALWAYS AS IDENTITY` keys, through every write and read model-core has.

use std::sync::{Arc, Mutex};

use model_core::{AnyModel, ConstraintKind, Dialect, Error, Model, Page, Tracked, Value};
use model_tests::{per_backend, TestBackend, TestDb};

type Trace = Arc<Mutex<Vec<String>>>;

// ---------------------------------------------------------------------------------------
// Composite keys

/// An association row, keyed by both ends; the key's fields are not next to each other,
/// and a skipped field sits between columns, so that key positions are not field positions.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "post_tag", track_changes)]
#[listens_for(before_insert, on_before_insert)]
#[listens_for(after_insert, on_after_insert)]
#[listens_for(before_update, on_before_update)]
#[listens_for(after_update, on_after_update)]
#[listens_for(before_delete, on_before_delete)]
#[listens_for(after_delete, on_after_delete)]
struct PostTag {
    #[model(primary_key)]
    post_id: i64,
    note: String,
    #[model(skip)]
    trace: Trace,
    #[model(primary_key)]
    tag: String,
    #[model(version)]
    version: i32,
}

fn record(row: &PostTag, event: &str) {
    let line = format!("{event} ({}, {})", row.post_id, row.tag);
    row.trace.lock().unwrap().push(line);
}

fn on_before_insert(row: &mut PostTag) {
    record(row, "before_insert");
}
fn on_after_insert(row: &PostTag) {
    record(row, "after_insert");
}
fn on_before_update(row: &mut PostTag) -> Result<(), String> {
    record(row, "before_update");
    if row.note == "move me" {
        // A listener that changes the key is refused: the key names the row.
        row.tag.push_str("-moved");
    }
    if row.note == "veto" {
        return Err("vetoed".into());
    }
    Ok(())
}
fn on_after_update(row: &PostTag) {
    record(row, "after_update");
}
fn on_before_delete(row: &PostTag) {
    record(row, "before_delete");
}
fn on_after_delete(row: &PostTag) {
    record(row, "after_delete");
}

/// The same table without listeners, change tracking or version checks: its set-based
/// writes are single statements.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "post_tag")]
struct PlainPostTag {
    #[model(primary_key)]
    post_id: i64,
    note: String,
    #[model(primary_key)]
    tag: String,
    version: i32,
}

fn tag(post_id: i64, tag: &str, note: &str, trace: &Trace) -> PostTag {
    PostTag {
        post_id,
        note: note.into(),
        trace: trace.clone(),
        tag: tag.into(),
        version: 0,
    }
}

fn plain(post_id: i64, tag: &str, note: &str) -> PlainPostTag {
    PlainPostTag {
        post_id,
        note: note.into(),
        tag: tag.into(),
        version: 0,
    }
}

async fn post_tag_table<DB: TestBackend>(db: &TestDb<DB>) {
    // MySQL indexes text only of a bounded length.
    let text = match db.dialect() {
        Dialect::MySql => "VARCHAR(64) NOT NULL",
        _ => "TEXT NOT NULL",
    };
    let q = |ident: &str| db.quote(ident);
    db.exec(&format!(
        "CREATE TABLE {} ({} BIGINT NOT NULL, {} {text}, {} {text}, {} INTEGER NOT NULL, \
         PRIMARY KEY ({}, {}))",
        q("post_tag"),
        q("post_id"),
        q("note"),
        q("tag"),
        q("version"),
        q("post_id"),
        q("tag"),
    ))
    .await;
}

fn take(trace: &Trace) -> Vec<String> {
    std::mem::take(&mut *trace.lock().unwrap())
}

fn key_of(row: &PostTag) -> (i64, String) {
    (row.post_id, row.tag.clone())
}

async fn composite_key_insert_find_update_delete<DB: TestBackend>(db: &TestDb<DB>) {
    post_tag_table(db).await;
    let trace = Trace::default();
    let mut row = tag(1, "rust", "first", &trace);
    row.insert(&db.pool).await.unwrap();
    assert_eq!(
        take(&trace),
        ["before_insert (1, rust)", "after_insert (1, rust)"]
    );
    // A row with the same first part and another second part is another row.
    tag(1, "sql", "second", &trace)
        .insert(&db.pool)
        .await
        .unwrap();
    tag(2, "rust", "third", &trace)
        .insert(&db.pool)
        .await
        .unwrap();
    take(&trace);

    let found = PostTag::find(&db.pool, (1, "rust".to_owned()))
        .await
        .unwrap()
        .expect("the row is found by both parts");
    assert_eq!(
        (found.post_id, found.tag.as_str(), found.note.as_str()),
        (1, "rust", "first")
    );
    assert!(PostTag::find(&db.pool, (1, "go".to_owned()))
        .await
        .unwrap()
        .is_none());
    let missing = PostTag::get(&db.pool, (3, "rust".to_owned()))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, Error::NotFound { key, .. } if key == "(3, \"rust\")"),
        "{missing:?}"
    );

    // The update's WHERE names both parts: only this row changes.
    row.note = "changed".into();
    row.update(&db.pool).await.unwrap();
    assert_eq!(
        take(&trace),
        ["before_update (1, rust)", "after_update (1, rust)"]
    );
    assert_eq!(row.version, 1, "the version was bumped");
    let notes: Vec<(i64, String, String)> = PlainPostTag::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.post_id, r.tag, r.note))
        .collect();
    assert_eq!(
        notes,
        [
            (1, "rust".into(), "changed".into()),
            (1, "sql".into(), "second".into()),
            (2, "rust".into(), "third".into()),
        ],
        "all() orders by the key's parts in field order"
    );

    // The key is never written: a listener that changes it is refused, nothing is written.
    row.note = "move me".into();
    let error = row.update(&db.pool).await.unwrap_err();
    assert!(matches!(error, Error::Unsupported { .. }), "{error:?}");
    row.tag = "rust".into();
    assert_eq!(
        PlainPostTag::get(&db.pool, (1, "rust".into()))
            .await
            .unwrap()
            .note,
        "changed"
    );

    // An update of a row that is not there (on a plain model: no version to tell apart).
    let mut ghost = plain(9, "rust", "x");
    let error = ghost.update(&db.pool).await.unwrap_err();
    assert!(
        matches!(&error, Error::NotFound { key, .. } if key == "(9, \"rust\")"),
        "{error:?}"
    );

    take(&trace);
    row.delete(&db.pool).await.unwrap();
    assert_eq!(
        take(&trace),
        ["before_delete (1, rust)", "after_delete (1, rust)"]
    );
    assert_eq!(db.count("post_tag").await, 2);
    assert!(PostTag::find(&db.pool, (1, "rust".into()))
        .await
        .unwrap()
        .is_none());
    let error = plain(1, "rust", "").delete(&db.pool).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert_eq!(
        db.count("post_tag").await,
        2,
        "the other rows are untouched"
    );
}

async fn composite_key_batches<DB: TestBackend>(db: &TestDb<DB>) {
    post_tag_table(db).await;
    let trace = Trace::default();
    let mut rows: Vec<PostTag> = (0..5)
        .flat_map(|post| {
            let trace = &trace;
            ["a", "b"].map(move |t| tag(post, t, "new", trace))
        })
        .collect();
    PostTag::insert_all(&mut rows, &db.pool).await.unwrap();
    assert_eq!(db.count("post_tag").await, 10);
    let events = take(&trace);
    assert_eq!(events.len(), 20);
    assert_eq!(events[0], "before_insert (0, a)");
    assert_eq!(events[10], "after_insert (0, a)");

    // update_all: every row's listeners, each row's own statement.
    for row in rows.iter_mut() {
        row.note = format!("note {} {}", row.post_id, row.tag);
    }
    PostTag::update_all(&mut rows, &db.pool).await.unwrap();
    assert_eq!(take(&trace).len(), 20);
    for row in &rows {
        let stored = PlainPostTag::get(&db.pool, key_of(row)).await.unwrap();
        assert_eq!(stored.note, row.note);
        assert_eq!(stored.version, 1);
    }

    // A veto in any row writes none of them.
    rows[3].note = "veto".into();
    rows[0].note = "not written".into();
    let error = PostTag::update_all(&mut rows, &db.pool).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "before_update listener `on_before_update` of PostTag failed"
    );
    assert_eq!(
        PlainPostTag::get(&db.pool, key_of(&rows[0]))
            .await
            .unwrap()
            .note,
        "note 0 a"
    );
    assert_eq!(
        rows[0].version, 1,
        "a failed update gives the versions back"
    );

    // delete_all (versioned: a statement per row) of some rows.
    take(&trace);
    PostTag::delete_all(&rows[..4], &db.pool).await.unwrap();
    assert_eq!(db.count("post_tag").await, 6);
    assert_eq!(take(&trace).len(), 8);

    // The plain model's delete_all is one `(post_id, tag) IN ((?, ?), ...)` statement; a
    // missing row deletes nothing and is named.
    let mut plain_rows = PlainPostTag::all(&db.pool).await.unwrap();
    plain_rows.push(plain(0, "a", "gone already"));
    let error = PlainPostTag::delete_all(&plain_rows, &db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotFound { key, .. } if key == "(0, \"a\")"),
        "{error:?}"
    );
    assert_eq!(db.count("post_tag").await, 6, "nothing was deleted");
    plain_rows.pop();
    PlainPostTag::delete_all(&plain_rows[..3], &db.pool)
        .await
        .unwrap();
    assert_eq!(db.count("post_tag").await, 3);
    let left: Vec<(i64, String)> = PlainPostTag::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.post_id, r.tag))
        .collect();
    assert_eq!(left, [(3, "b".into()), (4, "a".into()), (4, "b".into())]);

    // Plain rows in a multi-row INSERT, and update_all without listeners.
    let mut more: Vec<PlainPostTag> = (10..13).map(|p| plain(p, "x", "plain")).collect();
    PlainPostTag::insert_all(&mut more, &db.pool).await.unwrap();
    for row in more.iter_mut() {
        row.note = "plain, updated".into();
    }
    PlainPostTag::update_all(&mut more, &db.pool).await.unwrap();
    assert_eq!(
        PlainPostTag::filter(|t| t.note.eq("plain, updated"))
            .count(&db.pool)
            .await
            .unwrap(),
        3
    );
}

async fn a_duplicate_composite_key_is_an_error_and_writes_nothing<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    post_tag_table(db).await;
    let trace = Trace::default();
    tag(1, "rust", "first", &trace)
        .insert(&db.pool)
        .await
        .unwrap();
    take(&trace);

    let error = tag(1, "rust", "again", &trace)
        .insert(&db.pool)
        .await
        .unwrap_err();
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
    assert_eq!(
        take(&trace),
        ["before_insert (1, rust)"],
        "after_insert does not run for a failed insert"
    );

    // A batch whose last row repeats a key: none of it is written.
    let mut batch = vec![
        tag(2, "rust", "", &trace),
        tag(3, "rust", "", &trace),
        tag(2, "rust", "", &trace),
    ];
    let error = PostTag::insert_all(&mut batch, &db.pool).await.unwrap_err();
    assert!(matches!(error, Error::Constraint { .. }), "{error:?}");
    assert_eq!(db.count("post_tag").await, 1);
    assert!(!take(&trace).iter().any(|e| e.starts_with("after_insert")));
    // The first part alone is no key: another tag of post 1 is a new row.
    tag(1, "sql", "", &trace).insert(&db.pool).await.unwrap();
    assert_eq!(db.count("post_tag").await, 2);
}

async fn composite_key_queries<DB: TestBackend>(db: &TestDb<DB>) {
    post_tag_table(db).await;
    let mut rows: Vec<PlainPostTag> = (1..=3)
        .flat_map(|post| ["a", "b", "c"].map(move |t| plain(post, t, "")))
        .collect();
    PlainPostTag::insert_all(&mut rows, &db.pool).await.unwrap();

    let of_two = PlainPostTag::filter(|t| t.post_id.eq(2))
        .all(&db.pool)
        .await
        .unwrap();
    let tags: Vec<&str> = of_two.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["a", "b", "c"], "ties are broken by the whole key");
    assert_eq!(
        PlainPostTag::filter(|t| t.tag.eq("b"))
            .count(&db.pool)
            .await
            .unwrap(),
        3
    );
    let page = PlainPostTag::page(&db.pool, Page::newest(2)).await.unwrap();
    let keys: Vec<(i64, &str)> = page.iter().map(|r| (r.post_id, r.tag.as_str())).collect();
    assert_eq!(keys, [(3, "c"), (3, "b")]);

    // Set-based writes: one statement for the plain model ...
    let updated = PlainPostTag::filter(|t| t.post_id.eq(1))
        .update(|t| t.note.set("one"), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 3);
    // ... per row, with listeners, for the tracked one (ordered: the per-row path).
    let trace = Trace::default();
    let listened = PostTag::filter(|t| t.post_id.eq(2).and(t.tag.ne("c")))
        .update(|t| t.note.set("two"), &db.pool)
        .await
        .unwrap();
    assert_eq!(listened, 2);
    let notes: Vec<String> = PlainPostTag::query()
        .order_by(|t| t.post_id)
        .all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.note)
        .collect();
    assert_eq!(notes, ["one", "one", "one", "two", "two", "", "", "", ""]);
    drop(trace);

    // A set-based update may not set a key part.
    let error = PlainPostTag::query()
        .update(|t| t.tag.set("z"), &db.pool)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unsupported { .. }), "{error:?}");

    let deleted = PostTag::filter(|t| t.post_id.eq(2))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    let deleted = PlainPostTag::filter(|t| t.tag.eq("c"))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(db.count("post_tag").await, 4);
}

async fn composite_key_streams_in_key_order<DB: TestBackend>(db: &TestDb<DB>) {
    post_tag_table(db).await;
    // More than one chunk of 1,000, with a key whose first part repeats across a chunk's
    // end: the next chunk starts after the whole key, not after its first part.
    let mut rows: Vec<PlainPostTag> = (0..1_100)
        .map(|n| plain(n / 3, &format!("t{:04}", n % 3), ""))
        .collect();
    PlainPostTag::insert_all(&mut rows, &db.pool).await.unwrap();
    let mut expected: Vec<(i64, String)> =
        rows.iter().map(|r| (r.post_id, r.tag.clone())).collect();
    expected.sort();

    let mut stream = PlainPostTag::query().stream(&db.pool);
    let mut seen = Vec::new();
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        seen.push((row.post_id, row.tag));
    }
    assert_eq!(seen, expected);

    let mut stream = PlainPostTag::query()
        .order_by(|t| t.post_id.desc())
        .stream(&db.pool);
    let mut seen = Vec::new();
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        seen.push((row.post_id, row.tag));
    }
    expected.reverse();
    assert_eq!(seen, expected);

    // Ordered by the second part first, the rows could not continue after a key.
    let mut stream = PlainPostTag::query().order_by(|t| t.tag).stream(&db.pool);
    let error = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(error, Error::Unsupported { .. }), "{error:?}");
}

async fn composite_key_tracked_and_any_model<DB: TestBackend>(db: &TestDb<DB>) {
    post_tag_table(db).await;
    let trace = Trace::default();
    let mut row = Tracked::new(tag(7, "rust", "tracked", &trace));
    row.insert(&db.pool).await.unwrap();
    row.note = "tracked, changed".into();
    row.update(&db.pool).await.unwrap();
    let stored = PlainPostTag::get(&db.pool, (7, "rust".into()))
        .await
        .unwrap();
    assert_eq!(
        (stored.note.as_str(), stored.version),
        ("tracked, changed", 1)
    );

    let any: &dyn AnyModel = &*row;
    assert_eq!(
        any.key_value(),
        Value::Tuple(vec![Value::Int(7), Value::Text("rust".into())])
    );
    assert_eq!(any.key_value().to_string(), "(7, rust)");
}

mod composite {
    use super::*;
    per_backend!(
        composite_key_insert_find_update_delete,
        composite_key_batches,
        a_duplicate_composite_key_is_an_error_and_writes_nothing,
        composite_key_queries,
        composite_key_streams_in_key_order,
        composite_key_tracked_and_any_model,
    );
}

// ---------------------------------------------------------------------------------------
// Tables in another schema

/// The schema (PostgreSQL), database (MySQL) or attached database (SQLite) of the models
/// below. A constant of the models, so it cannot be named per test: one test per server
/// uses it, and drops it before and after.
const LIBRARY: &str = "model_tests_keys_library";

#[derive(Debug, Clone, PartialEq, Model)]
#[model(schema = "model_tests_keys_library", table = "books", track_changes)]
#[listens_for(before_update, touch)]
struct Book {
    id: Option<i64>,
    title: String,
    #[model(version)]
    version: i64,
}

fn touch(book: &mut Book) {
    book.title = book.title.trim().to_owned();
}

/// The same table, without listeners: its set-based writes are single statements.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(schema = "model_tests_keys_library", table = "books")]
struct PlainBook {
    id: Option<i64>,
    title: String,
    version: i64,
}

/// A table of the same name in the test's own (default) schema, which must stay untouched.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "books")]
struct LocalBook {
    id: Option<i64>,
    title: String,
    version: i64,
}

async fn create_library<DB: TestBackend>(db: &TestDb<DB>) {
    let library = db.quote(LIBRARY);
    match db.dialect() {
        Dialect::Sqlite => {
            db.exec(&format!("ATTACH DATABASE ':memory:' AS {library}"))
                .await
        }
        Dialect::Postgres => {
            db.exec(&format!("DROP SCHEMA IF EXISTS {library} CASCADE"))
                .await;
            db.exec(&format!("CREATE SCHEMA {library}")).await;
        }
        Dialect::MySql => {
            db.exec(&format!("DROP DATABASE IF EXISTS {library}")).await;
            db.exec(&format!("CREATE DATABASE {library}")).await;
        }
    }
    Book::create_table(&db.pool).await.unwrap();
}

async fn drop_library<DB: TestBackend>(db: &TestDb<DB>) {
    let library = db.quote(LIBRARY);
    match db.dialect() {
        Dialect::Sqlite => db.exec(&format!("DETACH DATABASE {library}")).await,
        Dialect::Postgres => db.exec(&format!("DROP SCHEMA {library} CASCADE")).await,
        Dialect::MySql => db.exec(&format!("DROP DATABASE {library}")).await,
    }
}

async fn every_statement_names_the_schema<DB: TestBackend>(db: &TestDb<DB>) {
    create_library(db).await;
    LocalBook::create_table(&db.pool).await.unwrap();
    let mut local = LocalBook {
        id: None,
        title: "local".into(),
        version: 0,
    };
    local.insert(&db.pool).await.unwrap();

    // insert, insert_all (a multi-row statement), find, get, all, page.
    let mut book = Book {
        id: None,
        title: "Dune".into(),
        version: 0,
    };
    book.insert(&db.pool).await.unwrap();
    let mut more: Vec<Book> = ["Emma", "Ulysses", "Beloved"]
        .into_iter()
        .map(|title| Book {
            id: None,
            title: title.into(),
            version: 0,
        })
        .collect();
    Book::insert_all(&mut more, &db.pool).await.unwrap();
    assert!(more.iter().all(|b| b.id.is_some()));
    assert_eq!(Book::get(&db.pool, book.id.unwrap()).await.unwrap(), book);
    assert_eq!(Book::all(&db.pool).await.unwrap().len(), 4);
    assert_eq!(
        Book::page(&db.pool, Page::newest(1)).await.unwrap()[0].title,
        "Beloved"
    );

    // update (tracked: a locked read, then only what changed), update_all, versions.
    book.title = "  Dune Messiah ".into();
    book.update(&db.pool).await.unwrap();
    assert_eq!((book.title.as_str(), book.version), ("Dune Messiah", 1));
    for b in more.iter_mut() {
        b.title.push('!');
    }
    Book::update_all(&mut more, &db.pool).await.unwrap();
    let mut tracked = Tracked::new(Book::get(&db.pool, more[0].id.unwrap()).await.unwrap());
    tracked.title = "Emma?".into();
    tracked.update(&db.pool).await.unwrap();

    // Query reads and set-based writes, per row (listeners) and as one statement.
    assert_eq!(
        Book::filter(|b| b.title.like("%!"))
            .count(&db.pool)
            .await
            .unwrap(),
        2
    );
    assert!(Book::filter(|b| b.title.eq("Emma?"))
        .exists(&db.pool)
        .await
        .unwrap());
    let per_row = Book::filter(|b| b.title.eq("Ulysses!"))
        .update(|b| b.title.set(" Ulysses "), &db.pool)
        .await
        .unwrap();
    assert_eq!(per_row, 1);
    let one_statement = PlainBook::filter(|b| b.title.eq("Beloved!"))
        .update(|b| b.title.set("Beloved"), &db.pool)
        .await
        .unwrap();
    assert_eq!(one_statement, 1);
    let mut stream = PlainBook::query().stream(&db.pool);
    let mut titles = Vec::new();
    while let Some(b) = stream.next().await {
        titles.push(b.unwrap().title);
    }
    assert_eq!(titles, ["Dune Messiah", "Emma?", "Ulysses", "Beloved"]);

    // delete, delete_all (versioned and plain), query deletes.
    Book::get(&db.pool, book.id.unwrap())
        .await
        .unwrap()
        .delete(&db.pool)
        .await
        .unwrap();
    let plain: Vec<PlainBook> = PlainBook::filter(|b| b.title.eq("Beloved"))
        .all(&db.pool)
        .await
        .unwrap();
    PlainBook::delete_all(&plain, &db.pool).await.unwrap();
    assert_eq!(
        Book::filter(|b| b.title.eq("Emma?"))
            .delete(&db.pool)
            .await
            .unwrap(),
        1
    );
    assert_eq!(PlainBook::query().delete(&db.pool).await.unwrap(), 1);
    assert!(Book::all(&db.pool).await.unwrap().is_empty());

    // The table of the same name in the default schema saw none of it.
    assert_eq!(LocalBook::all(&db.pool).await.unwrap(), [local]);
    drop_library(db).await;
}

mod schema {
    use super::*;
    per_backend!(every_statement_names_the_schema);
}

// ---------------------------------------------------------------------------------------
// PostgreSQL's GENERATED ALWAYS AS IDENTITY

/// A key PostgreSQL refuses to be given, on insert or update, unless told `OVERRIDING
/// SYSTEM VALUE`: every write must leave it out.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "ticket")]
#[listens_for(before_update, stamp)]
struct Ticket {
    id: Option<i64>,
    subject: String,
}

fn stamp(ticket: &mut Ticket) {
    ticket.subject.push('.');
}

/// The same table, tracked: its updates write only what changed.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "ticket", track_changes)]
struct TrackedTicket {
    id: Option<i64>,
    subject: String,
}

/// The same table, without listeners: its set-based update is one statement.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "ticket")]
struct PlainTicket {
    id: Option<i64>,
    subject: String,
}

async fn generated_always_identity_is_never_written<DB: TestBackend>(db: &TestDb<DB>) {
    db.exec(
        "CREATE TABLE ticket (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         subject TEXT NOT NULL)",
    )
    .await;
    let mut first = Ticket {
        id: None,
        subject: "a".into(),
    };
    first.insert(&db.pool).await.unwrap();
    let mut batch: Vec<Ticket> = ["b", "c", "d"]
        .into_iter()
        .map(|s| Ticket {
            id: None,
            subject: s.into(),
        })
        .collect();
    Ticket::insert_all(&mut batch, &db.pool).await.unwrap();
    let ids: Vec<i64> = batch.iter().map(|t| t.id.unwrap()).collect();
    assert_eq!(ids, [2, 3, 4]);

    first.subject = "a2".into();
    first.update(&db.pool).await.unwrap();
    Ticket::update_all(&mut batch, &db.pool).await.unwrap();
    let mut tracked = Tracked::new(TrackedTicket::get(&db.pool, 1).await.unwrap());
    tracked.subject = "a3".into();
    tracked.update(&db.pool).await.unwrap();
    let mut bare = TrackedTicket::get(&db.pool, 2).await.unwrap();
    bare.subject = "b3".into();
    bare.update(&db.pool).await.unwrap();
    assert_eq!(
        Ticket::filter(|t| t.id.eq(3))
            .update(|t| t.subject.set("c3"), &db.pool)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        PlainTicket::filter(|t| t.id.eq(4))
            .update(|t| t.subject.set("d3"), &db.pool)
            .await
            .unwrap(),
        1
    );
    let subjects: Vec<String> = PlainTicket::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.subject)
        .collect();
    assert_eq!(subjects, ["a3", "b3", "c3.", "d3"]);

    // Giving the key is PostgreSQL's error, and writes nothing.
    let mut given = PlainTicket {
        id: Some(99),
        subject: "given".into(),
    };
    let error = given.insert(&db.pool).await.unwrap_err();
    assert!(matches!(error, Error::Database { .. }), "{error:?}");
    assert_eq!(db.count("ticket").await, 4);

    Ticket::get(&db.pool, 1)
        .await
        .unwrap()
        .delete(&db.pool)
        .await
        .unwrap();
    assert!(Ticket::find(&db.pool, 1).await.unwrap().is_none());
    assert_eq!(db.count("ticket").await, 3);
}

mod identity {
    use super::*;
    per_backend!(@backend postgres, ::sqlx::Postgres, [generated_always_identity_is_never_written], []);
}
