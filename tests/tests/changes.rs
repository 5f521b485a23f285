//! Issue 14: updates that write only what changed (never the key), update listeners that
//! get the change set, and optimistic locking with a `#[model(version)]` column. Each test
//! runs on SQLite, PostgreSQL and MySQL/MariaDB.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use model_core::schema::Schema;
use model_core::{Backend, ChangeSet, Changed, Conn, Error, Model, TrackChanges, Tracked};
use model_tests::{per_backend, MysqlCounters, TestBackend, TestDb};

// ---------------------------------------------------------------------------------------
// Models

/// A stock item: the issue's two stale copies, one changing the count, one the name.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "items", track_changes)]
struct Item {
    id: Option<i64>,
    name: String,
    stock: i64,
    price: f64,
}

/// The same table, without change tracking: its update writes every column but the key.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "items")]
struct PlainItem {
    id: Option<i64>,
    name: String,
    stock: i64,
    price: f64,
}

async fn items<DB: TestBackend>(db: &TestDb<DB>) {
    Item::create_table(&db.pool).await.unwrap();
}

async fn new_item<DB: TestBackend>(db: &TestDb<DB>) -> i64 {
    let mut item = Item {
        id: None,
        name: "widget".into(),
        stock: 77,
        price: 2.5,
    };
    item.insert(&db.pool).await.unwrap();
    item.id.unwrap()
}

/// Every stored item, tracked.
async fn tracked_items<DB: TestBackend>(db: &TestDb<DB>) -> Vec<Tracked<Item>> {
    Item::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(Item::track)
        .collect()
}

/// What the listeners of a [`Post`] saw, in order; shared by the clones of one post.
#[derive(Debug, Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A post whose slug follows its title, with an audit trail of both: the README's example.
/// `touch` is a listener of the shape every model has (no change set), beside the others.
#[derive(Debug, Clone, Model)]
#[model(table = "posts", track_changes)]
#[listens_for(before_update, touch, reslug, record_before)]
#[listens_for(after_update, record_after, audit)]
struct Post {
    id: Option<i64>,
    title: String,
    slug: String,
    body: String,
    #[model(skip)]
    seen: Seen,
}

fn touch(post: &mut Post) {
    post.seen.push("touch".into());
}

/// Re-slugs the post only when its title changed.
fn reslug(post: &mut Post, changes: &PostChanges) {
    if let Some(title) = changes.title() {
        post.slug = title.new.to_lowercase().replace(' ', "-");
    }
}

fn record_before(post: &mut Post, changes: &PostChanges) {
    post.seen.push(format!("before {:?}", changes.columns()));
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}
impl std::error::Error for Refused {}

/// Sees the change set `before_update` listeners left; vetoes a body of "refuse".
fn record_after(post: &Post, changes: &PostChanges) -> Result<(), Refused> {
    post.seen.push(format!("after {:?}", changes.columns()));
    if post.body == "refuse" {
        return Err(Refused);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "audit")]
struct AuditRow {
    id: Option<i64>,
    post_id: i64,
    field: String,
    old: String,
    new: String,
}

/// Records old and new title and slug, in the update's transaction; nothing for a change
/// to anything else.
async fn audit<DB: Backend>(
    post: &Post,
    changes: &PostChanges,
    conn: &mut Conn<DB>,
) -> Result<(), Error> {
    let post_id = post.id.expect("a stored post");
    for (field, change) in [("title", changes.title()), ("slug", changes.slug())] {
        if let Some(Changed { old, new }) = change {
            let mut row = AuditRow {
                id: None,
                post_id,
                field: field.into(),
                old: old.clone(),
                new: new.clone(),
            };
            row.insert(&mut *conn).await?;
        }
    }
    Ok(())
}

async fn posts<DB: TestBackend>(db: &TestDb<DB>) -> i64 {
    Schema::new()
        .model::<Post>()
        .model::<AuditRow>()
        .create_all(&db.pool)
        .await
        .unwrap();
    let mut post = Post {
        id: None,
        title: "Hello".into(),
        slug: "hello".into(),
        body: "first".into(),
        seen: Seen::default(),
    };
    post.insert(&db.pool).await.unwrap();
    post.id.unwrap()
}

async fn audit_rows<DB: TestBackend>(db: &TestDb<DB>) -> Vec<(String, String, String)> {
    AuditRow::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.field, a.old, a.new))
        .collect()
}

fn audit_row(field: &str, old: &str, new: &str) -> (String, String, String) {
    (field.into(), old.into(), new.into())
}

/// A change-tracking model whose listeners are all declared on functions: whether they run
/// depends on the update reading the model's listener state (a struct-side listener is a
/// constant the update sees without it).
#[derive(Debug, Clone, Model)]
#[model(table = "ledger", track_changes)]
struct Ledger {
    id: Option<i64>,
    name: String,
    #[model(skip)]
    seen: Seen,
}

#[model_core::listens_for(before_update)]
fn ledger_before(ledger: &mut Ledger) {
    ledger.seen.push(format!("before {}", ledger.name));
}

#[model_core::listens_for(after_update_commit)]
fn ledger_committed(ledger: &Ledger) {
    ledger.seen.push(format!("committed {}", ledger.name));
}

/// A versioned row, updated without change tracking.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "stock")]
struct Stock {
    id: Option<i64>,
    name: String,
    count: i64,
    #[model(version)]
    version: i32,
}

/// The same table, with change tracking.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "stock", track_changes)]
struct TrackedStock {
    id: Option<i64>,
    name: String,
    count: i64,
    #[model(version)]
    version: i32,
}

async fn stock<DB: TestBackend>(db: &TestDb<DB>, rows: usize) -> Vec<i64> {
    Stock::create_table(&db.pool).await.unwrap();
    let mut all: Vec<Stock> = (0..rows)
        .map(|i| Stock {
            id: None,
            name: format!("row {i}"),
            count: 77,
            version: 1,
        })
        .collect();
    Stock::insert_all(&mut all, &db.pool).await.unwrap();
    all.iter().map(|s| s.id.unwrap()).collect()
}

fn expect_conflict(error: &Error, model: &str, key: i64) {
    match error {
        Error::Conflict { model: m, key: k } => {
            assert_eq!(
                (*m, k.as_str()),
                (model, key.to_string().as_str()),
                "{error}"
            );
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Updates write only what changed

/// The issue's lost update: two copies loaded at the same time, each changing a different
/// field. Tracked, both changes survive, as does a column changed meanwhile by another
/// connection. Guards `update_tracked`'s `update_columns(&columns)`: writing every column,
/// the second update would put the count back to 77 and the price back to 2.5.
async fn two_stale_copies_each_keep_their_change<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let id = new_item(db).await;
    let mut sold = Item::get(&db.pool, id).await.unwrap().track();
    let mut renamed = Item::get(&db.pool, id).await.unwrap().track();
    // Another connection changes the price meanwhile, by hand.
    db.exec(&format!("UPDATE items SET price = 9.5 WHERE id = {id}"))
        .await;

    sold.stock -= 1;
    sold.update(&db.pool).await.unwrap();
    renamed.name = "gadget".into();
    renamed.update(&db.pool).await.unwrap();

    let stored = Item::get(&db.pool, id).await.unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.stock, stored.price),
        ("gadget", 76, 9.5)
    );
    // What each wrote is now its original value; what it did not write is not.
    assert_eq!(sold.original().stock, 76);
    assert_eq!(renamed.original().stock, 77);
    assert!(renamed.changes().is_empty());
}

/// The contrast, and what a model without `track_changes` still does: its update writes
/// every column but the key, so the second stale copy undoes the first one's change.
async fn a_plain_update_writes_every_column<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let id = new_item(db).await;
    let mut sold = PlainItem::get(&db.pool, id).await.unwrap();
    let mut renamed = PlainItem::get(&db.pool, id).await.unwrap();
    sold.stock -= 1;
    sold.update(&db.pool).await.unwrap();
    renamed.name = "gadget".into();
    renamed.update(&db.pool).await.unwrap();
    let stored = PlainItem::get(&db.pool, id).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.stock), ("gadget", 77));
}

/// An update that writes the values a row already has still finds it: MySQL counts the
/// rows an `UPDATE` matched (sqlx connects with `CLIENT_FOUND_ROWS`), not the ones it
/// changed, which the not-found and version checks rely on.
async fn an_update_of_unchanged_values_finds_its_row<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let id = new_item(db).await;
    let mut item = PlainItem::get(&db.pool, id).await.unwrap();
    item.update(&db.pool).await.unwrap();
    item.update(&db.pool).await.unwrap();
    let ids = stock(db, 1).await;
    let mut versioned = Stock::get(&db.pool, ids[0]).await.unwrap();
    versioned.update(&db.pool).await.unwrap();
    assert_eq!(versioned.version, 2);
}

/// No changes, no statement: a tracked update of an unchanged model succeeds even though its
/// row is gone (the statement would have said `NotFound`), and bumps no version. Its
/// listeners still run, with an empty change set; a change made by one of them is written.
async fn an_update_without_changes_sends_no_statement<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let id = new_item(db).await;
    let mut item = Item::get(&db.pool, id).await.unwrap().track();
    db.exec(&format!("DELETE FROM items WHERE id = {id}")).await;
    item.update(&db.pool).await.unwrap();
    item.stock = 1;
    let error = item.update(&db.pool).await.unwrap_err();
    assert!(
        matches!(error, Error::NotFound { model: "Item", .. }),
        "{error:?}"
    );

    let ids = stock(db, 1).await;
    let mut row = TrackedStock::get(&db.pool, ids[0]).await.unwrap().track();
    row.update(&db.pool).await.unwrap();
    assert_eq!(
        (
            row.version,
            Stock::get(&db.pool, ids[0]).await.unwrap().version
        ),
        (1, 1)
    );

    let post_id = posts(db).await;
    let mut post = Post::get(&db.pool, post_id).await.unwrap().track();
    post.update(&db.pool).await.unwrap();
    assert_eq!(post.seen.take(), ["touch", "before []", "after []"]);
    assert!(audit_rows(db).await.is_empty());
}

// ---------------------------------------------------------------------------------------
// Listeners get the change set

/// `before_update` sees what the caller changed; what it changes itself (the slug) shows in
/// the change set `after_update` gets, and is written; an audit listener records old and new
/// values in the update's transaction, and skips a change it does not care about.
async fn listeners_see_the_change_set_with_before_update_changes<DB: TestBackend>(db: &TestDb<DB>) {
    let id = posts(db).await;
    let mut post = Post::get(&db.pool, id).await.unwrap().track();
    assert!(post.changes().is_empty());
    assert_eq!(post.changes().len(), 0);
    post.title = "Hello World".into();
    assert_eq!(post.changes().columns(), ["title"]);
    assert!(!post.changes().is_empty());
    assert_eq!(post.changes().len(), 1);
    post.slug = "draft".into();
    assert_eq!(post.changes().len(), 2);
    post.slug = post.original().slug.clone();
    assert_eq!(post.changes().len(), 1);
    post.update(&db.pool).await.unwrap();
    assert_eq!(
        post.seen.take(),
        ["touch", r#"before ["title"]"#, r#"after ["title", "slug"]"#]
    );
    assert_eq!(post.slug, "hello-world");
    let stored = Post::get(&db.pool, id).await.unwrap();
    assert_eq!(
        (stored.title.as_str(), stored.slug.as_str()),
        ("Hello World", "hello-world")
    );
    assert_eq!(
        audit_rows(db).await,
        [
            audit_row("title", "Hello", "Hello World"),
            audit_row("slug", "hello", "hello-world"),
        ]
    );

    // A change the audit does not care about: no audit row, no re-slug.
    post.body = "second".into();
    post.update(&db.pool).await.unwrap();
    assert_eq!(
        post.seen.take(),
        ["touch", r#"before ["body"]"#, r#"after ["body"]"#]
    );
    assert_eq!(audit_rows(db).await.len(), 2);
}

/// A veto in `after_update` writes nothing, and leaves the tracked model's original values
/// as they were: the retry writes the same change set.
async fn a_vetoed_tracked_update_keeps_its_changes_for_the_retry<DB: TestBackend>(db: &TestDb<DB>) {
    let id = posts(db).await;
    let mut post = Post::get(&db.pool, id).await.unwrap().track();
    post.title = "Vetoed".into();
    post.body = "refuse".into();
    let error = post.update(&db.pool).await.unwrap_err();
    assert!(error.listener_error::<Refused>().is_some(), "{error:?}");
    let stored = Post::get(&db.pool, id).await.unwrap();
    assert_eq!(
        (stored.title.as_str(), stored.slug.as_str()),
        ("Hello", "hello")
    );
    assert!(audit_rows(db).await.is_empty());

    // As after any failed write, the model keeps what the listeners changed (the slug).
    post.body = "fine".into();
    post.seen.take();
    post.update(&db.pool).await.unwrap();
    assert_eq!(
        post.seen.take(),
        [
            "touch",
            r#"before ["title", "slug", "body"]"#,
            r#"after ["title", "slug", "body"]"#
        ]
    );
    assert_eq!(Post::get(&db.pool, id).await.unwrap().title, "Vetoed");
}

/// A change-tracking model updated without `track()`: the update reads the stored row
/// first (locked, in its transaction) and compares against it.
async fn a_bare_update_compares_with_the_stored_row<DB: TestBackend>(db: &TestDb<DB>) {
    let id = posts(db).await;
    let mut post = Post::get(&db.pool, id).await.unwrap();
    post.title = "Bare".into();
    post.update(&db.pool).await.unwrap();
    assert_eq!(
        post.seen.take(),
        ["touch", r#"before ["title"]"#, r#"after ["title", "slug"]"#]
    );
    assert_eq!(Post::get(&db.pool, id).await.unwrap().slug, "bare");

    let mut gone = Post {
        id: Some(id + 1000),
        ..post.clone()
    };
    let error = gone.update(&db.pool).await.unwrap_err();
    assert!(
        matches!(error, Error::NotFound { model: "Post", .. }),
        "{error:?}"
    );
    assert!(
        gone.seen.take().is_empty(),
        "no listener runs for a missing row"
    );
}

/// A set-based update of a model with update listeners runs them per row, and a
/// change-tracking model's get that row's change set: the assignments, and what
/// `before_update` changed in turn.
async fn a_set_based_update_gives_each_row_its_change_set<DB: TestBackend>(db: &TestDb<DB>) {
    let id = posts(db).await;
    let updated = Post::filter(|p| p.id.eq(id))
        .update(|p| p.title.set("Set Based"), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 1);
    let stored = Post::get(&db.pool, id).await.unwrap();
    assert_eq!(stored.slug, "set-based");
    assert_eq!(
        audit_rows(db).await,
        [
            audit_row("title", "Hello", "Set Based"),
            audit_row("slug", "hello", "set-based"),
        ]
    );
}

/// `update_all` of tracked rows: one transaction, each row's own change set.
async fn update_all_writes_each_rows_own_changes<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let first = new_item(db).await;
    let second = new_item(db).await;
    let mut rows = tracked_items(db).await;
    rows[0].stock = 1;
    rows[1].name = "second".into();
    db.exec(&format!(
        "UPDATE items SET name = 'meanwhile' WHERE id = {first}"
    ))
    .await;
    db.exec(&format!("UPDATE items SET stock = 5 WHERE id = {second}"))
        .await;
    Tracked::update_all(&mut rows, &db.pool).await.unwrap();
    let stored = Item::all(&db.pool).await.unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|i| (i.name.as_str(), i.stock))
            .collect::<Vec<_>>(),
        [("meanwhile", 1), ("second", 5)]
    );
}

/// A tracked update runs the function-side listeners of every row, the after-commit ones
/// included (after the commit, in row order), and is refused, as any write with
/// after-commit listeners is, in a transaction whose end model-core cannot see; a tracked
/// model without them is not.
async fn a_tracked_update_runs_function_side_listeners<DB: TestBackend>(db: &TestDb<DB>) {
    Ledger::create_table(&db.pool).await.unwrap();
    items(db).await;
    let seen = Seen::default();
    let mut rows: Vec<Ledger> = ["a", "b"]
        .map(|name| Ledger {
            id: None,
            name: name.into(),
            seen: seen.clone(),
        })
        .into();
    Ledger::insert_all(&mut rows, &db.pool).await.unwrap();
    let mut tracked: Vec<Tracked<Ledger>> = rows.into_iter().map(Ledger::track).collect();
    tracked[0].name = "a2".into();
    tracked[1].name = "b2".into();
    Tracked::update_all(&mut tracked, &db.pool).await.unwrap();
    assert_eq!(
        seen.take(),
        ["before a2", "before b2", "committed a2", "committed b2"]
    );
    tracked[0].name = "a3".into();
    tracked[0].update(&db.pool).await.unwrap();
    assert_eq!(seen.take(), ["before a3", "committed a3"]);

    let id = new_item(db).await;
    let mut item = Item::get(&db.pool, id).await.unwrap().track();
    let mut tx = db.pool.begin().await.unwrap();
    tracked[0].name = "a4".into();
    let error = tracked[0]
        .update(Conn::<DB>::from_mut(&mut *tx))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::CommitScope { model: "Ledger" }),
        "{error:?}"
    );
    assert_eq!(seen.take(), Vec::<String>::new());
    item.stock = 1;
    item.update(Conn::<DB>::from_mut(&mut *tx)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(Item::get(&db.pool, id).await.unwrap().stock, 1);
    let stored: Vec<String> = Ledger::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(stored, ["a3", "b2"]);
}

/// `update_all` of tracked rows without listeners is still one transaction: the second
/// row's refusal (its key changed) writes neither, and both keep their original values for
/// the retry.
async fn a_tracked_update_all_that_fails_writes_no_row<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    new_item(db).await;
    new_item(db).await;
    let mut rows = tracked_items(db).await;
    rows[0].stock = 1;
    rows[1].price = 3.0;
    let key = rows[1].id;
    rows[1].id = Some(1_000);
    let error = Tracked::update_all(&mut rows, &db.pool).await.unwrap_err();
    assert!(
        matches!(error, Error::Unsupported { model: "Item", .. }),
        "{error:?}"
    );
    let stocks: Vec<i64> = Item::all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|i| i.stock)
        .collect();
    assert_eq!(stocks, [77, 77]);
    assert_eq!(rows[0].original().stock, 77);
    rows[1].id = key;
    Tracked::update_all(&mut rows, &db.pool).await.unwrap();
    let stored: Vec<(i64, f64)> = Item::all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|i| (i.stock, i.price))
        .collect();
    assert_eq!(stored, [(1, 2.5), (77, 3.0)]);
}

// ---------------------------------------------------------------------------------------
// The key is never written

#[derive(Debug, Clone, Model)]
#[model(table = "keyed")]
#[listens_for(before_update, rekey)]
struct Keyed {
    id: Option<i64>,
    name: String,
}

/// Moves the row to another key when asked: not something an update does.
fn rekey(row: &mut Keyed) {
    if row.name == "rekey" {
        row.id = row.id.map(|id| id + 1000);
    }
}

/// Neither a plain nor a tracked update sets the key; a `before_update` listener that
/// changes it is refused, and nothing is written (it used to move the row).
async fn an_update_never_writes_the_key<DB: TestBackend>(db: &TestDb<DB>) {
    Keyed::create_table(&db.pool).await.unwrap();
    let mut row = Keyed {
        id: None,
        name: "a".into(),
    };
    row.insert(&db.pool).await.unwrap();
    let id = row.id.unwrap();
    row.name = "rekey".into();
    let error = row.update(&db.pool).await.unwrap_err();
    assert!(
        matches!(error, Error::Unsupported { model: "Keyed", .. }),
        "{error:?}"
    );
    let stored = Keyed::get(&db.pool, id).await.unwrap();
    assert_eq!(stored.name, "a");
    assert_eq!(db.count("keyed").await, 1);

    // A tracked model whose key changed since it was read is refused too.
    items(db).await;
    let item_id = new_item(db).await;
    let mut item = Item::get(&db.pool, item_id).await.unwrap().track();
    item.id = Some(item_id + 1);
    item.stock = 0;
    let error = item.update(&db.pool).await.unwrap_err();
    assert!(
        matches!(error, Error::Unsupported { model: "Item", .. }),
        "{error:?}"
    );
    assert_eq!(Item::get(&db.pool, item_id).await.unwrap().stock, 77);
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "tags")]
struct Tag {
    id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "tags", track_changes)]
struct TrackedTag {
    id: Option<i64>,
}

/// A table of just its key has nothing to set: an update still says whether the row is
/// there, and a tracked one, never changed, sends nothing.
async fn a_key_only_model_updates_nothing_but_finds_its_row<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    let mut tag = Tag { id: None };
    tag.insert(&db.pool).await.unwrap();
    tag.update(&db.pool).await.unwrap();
    let mut tracked = TrackedTag::get(&db.pool, tag.id.unwrap())
        .await
        .unwrap()
        .track();
    tracked.update(&db.pool).await.unwrap();
    let mut missing = Tag {
        id: Some(tag.id.unwrap() + 1),
    };
    let error = missing.update(&db.pool).await.unwrap_err();
    assert!(
        matches!(error, Error::NotFound { model: "Tag", .. }),
        "{error:?}"
    );
}

/// PostgreSQL's `GENERATED ALWAYS` key refuses any value but `DEFAULT` in an `UPDATE`'s
/// `SET`: plain and tracked updates of such a table work because the key is not in it.
async fn a_generated_always_key_updates_fine<DB: TestBackend>(db: &TestDb<DB>) {
    db.exec(
        "CREATE TABLE items (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         name TEXT NOT NULL, stock BIGINT NOT NULL, price DOUBLE PRECISION)",
    )
    .await;
    let id = new_item(db).await;
    let mut plain = PlainItem::get(&db.pool, id).await.unwrap();
    plain.stock = 3;
    plain.update(&db.pool).await.unwrap();
    let mut tracked = Item::get(&db.pool, id).await.unwrap().track();
    tracked.name = "renamed".into();
    tracked.update(&db.pool).await.unwrap();
    let stored = Item::get(&db.pool, id).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.stock), ("renamed", 3));
}

// ---------------------------------------------------------------------------------------
// Optimistic locking

/// Two copies read at version 1: the first update wins (version 2), the second is a
/// conflict naming the model and key, and writes nothing. The loser's version is given
/// back, so that re-reading and retrying works; a stale delete is a conflict too, and a
/// row that is gone is `NotFound`, not a conflict.
async fn a_stale_write_is_a_conflict_and_writes_nothing<DB: TestBackend>(db: &TestDb<DB>) {
    let id = stock(db, 1).await[0];
    let mut first = Stock::get(&db.pool, id).await.unwrap();
    let mut second = first.clone();
    first.count = 76;
    first.update(&db.pool).await.unwrap();
    assert_eq!(first.version, 2);

    second.name = "lost".into();
    let error = second.update(&db.pool).await.unwrap_err();
    expect_conflict(&error, "Stock", id);
    assert_eq!(second.version, 1, "the loser's version is given back");
    assert!(
        error.to_string().contains("Stock with primary key"),
        "{error}"
    );
    let stored = Stock::get(&db.pool, id).await.unwrap();
    assert_eq!(stored, first, "nothing of the stale write");

    let error = second.delete(&db.pool).await.unwrap_err();
    expect_conflict(&error, "Stock", id);
    assert_eq!(db.count("stock").await, 1);

    // Re-read, retry: fine.
    let mut retry = Stock::get(&db.pool, id).await.unwrap();
    retry.name = "kept".into();
    retry.update(&db.pool).await.unwrap();
    assert_eq!(Stock::get(&db.pool, id).await.unwrap().version, 3);
    // A loser read at another version than the first gets its own version back.
    first.name = "stale again".into();
    let error = first.update(&db.pool).await.unwrap_err();
    expect_conflict(&error, "Stock", id);
    assert_eq!(first.version, 2, "the loser's version is given back");
    retry.delete(&db.pool).await.unwrap();
    let error = retry.update(&db.pool).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    let error = retry.delete(&db.pool).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

/// The same with change tracking: the version checked is the one the model was read with.
async fn a_stale_tracked_update_is_a_conflict<DB: TestBackend>(db: &TestDb<DB>) {
    let id = stock(db, 1).await[0];
    let mut first = TrackedStock::get(&db.pool, id).await.unwrap().track();
    let mut second = first.clone();
    first.count = 76;
    first.update(&db.pool).await.unwrap();
    assert_eq!((first.version, first.original().version), (2, 2));

    second.name = "lost".into();
    let error = second.update(&db.pool).await.unwrap_err();
    expect_conflict(&error, "TrackedStock", id);
    let stored = TrackedStock::get(&db.pool, id).await.unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.count, stored.version),
        ("row 0", 76, 2)
    );

    // A bare (untracked) update of a stale copy: the stored row is read first, and its
    // version is not the copy's.
    let mut bare = second.clone().into_inner();
    let error = bare.update(&db.pool).await.unwrap_err();
    expect_conflict(&error, "TrackedStock", id);

    // A copy read at version 2 that loses too gets 2 back, as does its original.
    let mut late = first.clone();
    assert!(
        format!("{late:?}").starts_with("Tracked { model: TrackedStock {"),
        "{late:?}"
    );
    first.name = "won twice".into();
    first.update(&db.pool).await.unwrap();
    assert_eq!(TrackedStock::get(&db.pool, id).await.unwrap().version, 3);
    late.count = 0;
    let error = late.update(&db.pool).await.unwrap_err();
    expect_conflict(&error, "TrackedStock", id);
    assert_eq!((late.version, late.original().version), (2, 2));
}

/// Two writers at once: the first holds the row in its transaction; the second's update
/// waits for it (row lock on PostgreSQL and MySQL, the write lock on SQLite), then finds
/// the version changed: a conflict, and nothing of it is written.
async fn concurrent_writers_one_wins_one_conflicts<DB: TestBackend>(db: &TestDb<DB>) {
    let id = stock(db, 1).await[0];
    let mut winner = Stock::get(&db.pool, id).await.unwrap();
    let mut loser = winner.clone();

    let mut tx = db.pool.begin().await.unwrap();
    winner.count = 1;
    winner.update(&mut tx).await.unwrap();

    let pool = db.pool.clone();
    let waiting = tokio::spawn(async move {
        loser.name = "loser".into();
        let result = loser.update(&pool).await;
        (result, loser)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the second writer waits for the first"
    );
    tx.commit().await.unwrap();

    let (result, loser) = waiting.await.unwrap();
    expect_conflict(&result.unwrap_err(), "Stock", id);
    assert_eq!(loser.version, 1);
    let stored = Stock::get(&db.pool, id).await.unwrap();
    assert_eq!(stored, winner);
}

/// `update_all` and `delete_all` check every row's version: one stale row writes none of
/// them, and every row's version is given back.
async fn bulk_writes_check_every_version<DB: TestBackend>(db: &TestDb<DB>) {
    let ids = stock(db, 3).await;
    let mut rows = Stock::all(&db.pool).await.unwrap();
    let mut stale = Stock::get(&db.pool, ids[1]).await.unwrap();
    stale.count = 0;
    stale.update(&db.pool).await.unwrap();

    for row in &mut rows {
        row.count = 5;
    }
    let error = Stock::update_all(&mut rows, &db.pool).await.unwrap_err();
    expect_conflict(&error, "Stock", ids[1]);
    assert!(rows.iter().all(|r| r.version == 1), "{rows:?}");
    let stored = Stock::all(&db.pool).await.unwrap();
    assert_eq!(
        stored.iter().map(|s| s.count).collect::<Vec<_>>(),
        [77, 0, 77]
    );

    let error = Stock::delete_all(&rows, &db.pool).await.unwrap_err();
    expect_conflict(&error, "Stock", ids[1]);
    assert_eq!(db.count("stock").await, 3);

    let mut fresh = Stock::all(&db.pool).await.unwrap();
    Stock::update_all(&mut fresh, &db.pool).await.unwrap();
    Stock::delete_all(&fresh, &db.pool).await.unwrap();
    assert_eq!(db.count("stock").await, 0);
}

/// A set-based update bumps the version of every row it changes, so a copy read before it
/// is stale; with `before_update` listeners (the per-row path) the same.
async fn a_set_based_update_bumps_the_version<DB: TestBackend>(db: &TestDb<DB>) {
    let ids = stock(db, 2).await;
    let mut before = Stock::get(&db.pool, ids[0]).await.unwrap();
    let updated = Stock::filter(|s| s.count.eq(77))
        .update(|s| s.count.set(70), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 2);
    let stored = Stock::all(&db.pool).await.unwrap();
    assert!(
        stored.iter().all(|s| (s.count, s.version) == (70, 2)),
        "{stored:?}"
    );
    before.name = "stale".into();
    expect_conflict(&before.update(&db.pool).await.unwrap_err(), "Stock", ids[0]);
}

/// A tracked update of one row without listeners after its statement is one statement,
/// atomic on its own: no transaction around it; two rows are one transaction. Counted by
/// the server (MySQL only: the other servers keep no per-session count of statements).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_a_tracked_update_of_one_row_begins_no_transaction() {
    let Some(db) = <sqlx::MySql as TestBackend>::fresh(concat!(
        module_path!(),
        "::mysql_a_tracked_update_of_one_row_begins_no_transaction"
    ))
    .await
    else {
        return;
    };
    items(&db).await;
    new_item(&db).await;
    new_item(&db).await;
    let mut rows = tracked_items(&db).await;
    let mut conn = db.pool.acquire().await.unwrap();
    let counters = MysqlCounters::read(&mut conn, &["Com_begin", "Com_update"]).await;
    rows[0].stock = 1;
    rows[0].update(&mut *conn).await.unwrap();
    assert_eq!(
        counters.since(&mut conn).await,
        [("Com_begin", 0), ("Com_update", 1)]
    );
    rows[0].stock = 2;
    rows[1].stock = 2;
    Tracked::update_all(&mut rows, &mut *conn).await.unwrap();
    assert_eq!(
        counters.since(&mut conn).await,
        [("Com_begin", 1), ("Com_update", 3)]
    );
}

per_backend!(
    a_plain_update_writes_every_column,
    an_update_of_unchanged_values_finds_its_row,
    an_update_without_changes_sends_no_statement,
    listeners_see_the_change_set_with_before_update_changes,
    a_vetoed_tracked_update_keeps_its_changes_for_the_retry,
    a_bare_update_compares_with_the_stored_row,
    update_all_writes_each_rows_own_changes,
    a_tracked_update_runs_function_side_listeners,
    a_tracked_update_all_that_fails_writes_no_row,
    a_set_based_update_gives_each_row_its_change_set,
    an_update_never_writes_the_key,
    a_key_only_model_updates_nothing_but_finds_its_row,
    a_stale_write_is_a_conflict_and_writes_nothing,
    a_stale_tracked_update_is_a_conflict,
    bulk_writes_check_every_version,
    a_set_based_update_bumps_the_version;
    file: two_stale_copies_each_keep_their_change,
    concurrent_writers_one_wins_one_conflicts,
);

per_backend!(@backend postgres_only, ::sqlx::Postgres, [a_generated_always_key_updates_fine], []);
