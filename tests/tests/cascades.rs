//! Cascades that run every listener (issue 25): deleting a parent deletes the rows that
//! reference it with `on_delete = "cascade"` (or sets their key to NULL, `"set_null"`)
//! through their listeners, in the parent's transaction, children before parents; where no
//! child listens, the database's `ON DELETE` does it; `"cascade_in_database"` and
//! `"set_null_in_database"` are the one bypass, by name.
//!
//! Cascaded children are read from the database, so a listener cannot reach a test's state
//! through the model: every row carries its test's `tag`, and listeners note what they saw
//! in one process-wide trace, which each test reads for its own tag.

use std::sync::{Mutex, OnceLock};

use model_core::schema::Schema;
use model_core::{listen, on, transaction, Backend, Conn, Dialect, Error, Model};
use model_tests::{per_backend, MysqlCounters, TestBackend, TestDb};

static TRACE: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn note(tag: &str, entry: String) {
    TRACE.lock().unwrap().push((tag.to_owned(), entry));
}

/// What listeners noted for rows tagged `tag`, in order.
fn trace(tag: &str) -> Vec<String> {
    let trace = TRACE.lock().unwrap();
    trace
        .iter()
        .filter(|(t, _)| t == tag)
        .map(|(_, e)| e.clone())
        .collect()
}

/// A tag of its own for each test and backend: they run at once in one process.
fn tag<DB: Backend>(test: &str) -> String {
    format!("{test}-{:?}", DB::DIALECT)
}

#[derive(Debug)]
struct Refused;
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}
impl std::error::Error for Refused {}

#[derive(Debug, Clone, Model)]
#[model(table = "customers")]
struct Customer {
    id: Option<i64>,
    tag: String,
    name: String,
}

/// The first reproduction: every listener of a deleted order, the audit row its
/// `after_delete` writes in the delete's transaction, the after-commit call.
#[derive(Debug, Clone, Model)]
#[model(table = "orders")]
#[listens_for(before_delete, order_before_delete)]
#[listens_for(after_delete, order_after_delete)]
#[listens_for(after_delete_commit, order_deleted)]
#[listens_for(after_rollback, order_rolled_back)]
struct Order {
    id: Option<i64>,
    #[model(references = Customer, on_delete = "cascade")]
    customer_id: i64,
    tag: String,
    name: String,
}

fn order_before_delete(order: &Order) {
    note(&order.tag, format!("before_delete {}", order.name));
}

async fn order_after_delete<DB: Backend>(order: &Order, conn: &mut Conn<DB>) -> Result<(), Error> {
    note(&order.tag, format!("after_delete {}", order.name));
    Audit {
        id: None,
        tag: order.tag.clone(),
        entry: format!("deleted {}", order.name),
    }
    .insert(conn)
    .await
}

fn order_deleted(order: &Order) {
    note(&order.tag, format!("after_delete_commit {}", order.name));
}

fn order_rolled_back(order: &Order) {
    note(&order.tag, format!("after_rollback {}", order.name));
}

#[derive(Debug, Clone, Model)]
#[model(table = "audit")]
struct Audit {
    id: Option<i64>,
    tag: String,
    entry: String,
}

/// The second level below a customer.
#[derive(Debug, Clone, Model)]
#[model(table = "lines")]
#[listens_for(before_delete, line_before_delete)]
#[listens_for(after_delete, line_after_delete)]
#[listens_for(after_delete_commit, line_deleted)]
#[listens_for(after_rollback, line_rolled_back)]
struct Line {
    id: Option<i64>,
    #[model(references = Order, on_delete = "cascade")]
    order_id: i64,
    tag: String,
    name: String,
}

fn line_before_delete(line: &Line) {
    note(&line.tag, format!("before_delete {}", line.name));
}
fn line_after_delete(line: &Line) {
    note(&line.tag, format!("after_delete {}", line.name));
}
fn line_deleted(line: &Line) {
    note(&line.tag, format!("after_delete_commit {}", line.name));
}
fn line_rolled_back(line: &Line) {
    note(&line.tag, format!("after_rollback {}", line.name));
}

/// The third level below a customer, whose listeners veto by name.
#[derive(Debug, Clone, Model)]
#[model(table = "parts")]
#[listens_for(before_delete, part_before_delete)]
#[listens_for(after_delete, part_after_delete)]
#[listens_for(after_delete_commit, part_deleted)]
#[listens_for(after_rollback, part_rolled_back)]
struct Part {
    id: Option<i64>,
    #[model(references = Line, on_delete = "cascade")]
    line_id: i64,
    tag: String,
    name: String,
}

fn part_before_delete(part: &Part) -> Result<(), Refused> {
    note(&part.tag, format!("before_delete {}", part.name));
    match part.name.as_str() {
        "veto-before" => Err(Refused),
        _ => Ok(()),
    }
}
fn part_after_delete(part: &Part) -> Result<(), Refused> {
    note(&part.tag, format!("after_delete {}", part.name));
    match part.name.as_str() {
        "veto-after" => Err(Refused),
        _ => Ok(()),
    }
}
fn part_deleted(part: &Part) {
    note(&part.tag, format!("after_delete_commit {}", part.name));
}
fn part_rolled_back(part: &Part) {
    note(&part.tag, format!("after_rollback {}", part.name));
}

/// The second reproduction: a run-time `before_update` listener
/// ([`ticket_listener`]) sees the NULL its order's delete gives it.
#[derive(Debug, Clone, Model)]
#[model(table = "tickets")]
struct Ticket {
    id: Option<i64>,
    #[model(references = Order, on_delete = "set_null")]
    order_id: Option<i64>,
    tag: String,
    name: String,
}

/// Registered once for the whole process: every test's tickets go through it.
fn ticket_listener() {
    static LISTENING: OnceLock<()> = OnceLock::new();
    LISTENING.get_or_init(|| {
        listen(on::BeforeUpdate, |ticket: &mut Ticket| {
            note(
                &ticket.tag,
                format!(
                    "before_update {} order_id={:?}",
                    ticket.name, ticket.order_id
                ),
            );
        })
        .keep();
    });
}

/// A tree: a category's children are categories.
#[derive(Debug, Clone, Model)]
#[model(table = "categories")]
#[listens_for(before_delete, category_before_delete)]
#[listens_for(after_delete, category_after_delete)]
struct Category {
    id: Option<i64>,
    #[model(references = Self, on_delete = "cascade")]
    parent_id: Option<i64>,
    tag: String,
    name: String,
}

fn category_before_delete(category: &Category) {
    note(&category.tag, format!("before_delete {}", category.name));
}
fn category_after_delete(category: &Category) {
    note(&category.tag, format!("after_delete {}", category.name));
}

/// A parent whose children have no listeners (the database cascades), and one whose
/// children opt out by name.
#[derive(Debug, Clone, Model)]
#[model(table = "folders")]
struct Folder {
    id: Option<i64>,
    tag: String,
}

/// No listener at all: the database deletes these.
#[derive(Debug, Clone, Model)]
#[model(table = "files")]
struct File {
    id: Option<i64>,
    #[model(references = Folder, on_delete = "cascade")]
    folder_id: i64,
    tag: String,
}

/// No listener at all: the database lets go of these.
#[derive(Debug, Clone, Model)]
#[model(table = "labels")]
struct Label {
    id: Option<i64>,
    #[model(references = Folder, on_delete = "set_null")]
    folder_id: Option<i64>,
    tag: String,
}

/// Listeners, and the named bypass: the database deletes these without them.
#[derive(Debug, Clone, Model)]
#[model(table = "drafts")]
#[listens_for(before_delete, draft_before_delete)]
#[listens_for(after_delete, draft_after_delete)]
struct Draft {
    id: Option<i64>,
    #[model(references = Folder, on_delete = "cascade_in_database")]
    folder_id: i64,
    tag: String,
}

fn draft_before_delete(draft: &Draft) {
    note(&draft.tag, "before_delete draft".to_owned());
}
fn draft_after_delete(draft: &Draft) {
    note(&draft.tag, "after_delete draft".to_owned());
}

/// Listeners, and the named bypass of `set_null`.
#[derive(Debug, Clone, Model)]
#[model(table = "stickers")]
#[listens_for(before_update, sticker_before_update)]
struct Sticker {
    id: Option<i64>,
    #[model(references = Folder, on_delete = "set_null_in_database")]
    folder_id: Option<i64>,
    tag: String,
}

fn sticker_before_update(sticker: &mut Sticker) {
    note(&sticker.tag, "before_update sticker".to_owned());
}

/// Many children with delete listeners.
#[derive(Debug, Clone, Model)]
#[model(table = "shelves")]
struct Shelf {
    id: Option<i64>,
    tag: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "items")]
#[listens_for(before_delete, item_before_delete)]
#[listens_for(after_delete, item_after_delete)]
struct Item {
    id: Option<i64>,
    #[model(references = Shelf, on_delete = "cascade")]
    shelf_id: i64,
    tag: String,
}

fn item_before_delete(item: &Item) {
    if item.tag.is_empty() {
        unreachable!("every item is tagged");
    }
}
fn item_after_delete(item: &Item) {
    note(&item.tag, "after_delete".to_owned());
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Customer>()
        .model::<Order>()
        .model::<Audit>()
        .model::<Line>()
        .model::<Part>()
        .model::<Ticket>()
        .model::<Category>()
        .model::<Folder>()
        .model::<File>()
        .model::<Label>()
        .model::<Draft>()
        .model::<Sticker>()
        .model::<Shelf>()
        .model::<Item>()
        .create_all(&db.pool)
        .await
        .unwrap();
}

async fn customer<DB: TestBackend>(db: &TestDb<DB>, tag: &str, name: &str) -> Customer {
    let mut customer = Customer {
        id: None,
        tag: tag.to_owned(),
        name: name.to_owned(),
    };
    customer.insert(&db.pool).await.unwrap();
    customer
}

async fn order<DB: TestBackend>(db: &TestDb<DB>, of: &Customer, name: &str) -> Order {
    let mut order = Order {
        id: None,
        customer_id: of.id.unwrap(),
        tag: of.tag.clone(),
        name: name.to_owned(),
    };
    order.insert(&db.pool).await.unwrap();
    order
}

async fn line<DB: TestBackend>(db: &TestDb<DB>, of: &Order, name: &str) -> Line {
    let mut line = Line {
        id: None,
        order_id: of.id.unwrap(),
        tag: of.tag.clone(),
        name: name.to_owned(),
    };
    line.insert(&db.pool).await.unwrap();
    line
}

async fn part<DB: TestBackend>(db: &TestDb<DB>, of: &Line, name: &str) -> Part {
    let mut part = Part {
        id: None,
        line_id: of.id.unwrap(),
        tag: of.tag.clone(),
        name: name.to_owned(),
    };
    part.insert(&db.pool).await.unwrap();
    part
}

/// The first reproduction: 3 of 3 orders' listeners run, 3 audit rows, 3
/// after-commit calls.
async fn cascade_runs_every_childs_delete_listeners<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("repro-cascade");
    let ada = customer(db, &tag, "ada").await;
    let bob = customer(db, &tag, "bob").await;
    for name in ["o1", "o2", "o3"] {
        order(db, &ada, name).await;
    }
    order(db, &bob, "bob's").await;

    ada.delete(&db.pool).await.unwrap();

    assert_eq!(
        trace(&tag),
        [
            "before_delete o1",
            "before_delete o2",
            "before_delete o3",
            "after_delete o1",
            "after_delete o2",
            "after_delete o3",
            "after_delete_commit o1",
            "after_delete_commit o2",
            "after_delete_commit o3",
        ]
    );
    let left = Order::all(&db.pool).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "bob's");
    let audit = Audit::all(&db.pool).await.unwrap();
    let entries: Vec<&str> = audit.iter().map(|a| a.entry.as_str()).collect();
    assert_eq!(entries, ["deleted o1", "deleted o2", "deleted o3"]);
    assert_eq!(Customer::all(&db.pool).await.unwrap().len(), 1);
}

/// `delete_all` and a set-based delete of parents cascade the same way.
async fn delete_all_and_set_based_deletes_cascade<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("batch-cascade");
    let a = customer(db, &tag, "a").await;
    let b = customer(db, &tag, "b").await;
    let c = customer(db, &tag, "c").await;
    order(db, &a, "a1").await;
    order(db, &b, "b1").await;
    order(db, &c, "c1").await;

    Customer::delete_all(&[a, b], &db.pool).await.unwrap();
    assert_eq!(
        trace(&tag),
        [
            "before_delete a1",
            "before_delete b1",
            "after_delete a1",
            "after_delete b1",
            "after_delete_commit a1",
            "after_delete_commit b1",
        ]
    );

    // No listener of `Customer`'s own: without the cascade this would be one DELETE.
    let deleted = Customer::filter(|x| x.name.eq("c"))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(
        trace(&tag)[6..],
        [
            "before_delete c1",
            "after_delete c1",
            "after_delete_commit c1"
        ]
    );
    assert!(Order::all(&db.pool).await.unwrap().is_empty());
    assert_eq!(db.count("audit").await, 3);
}

/// The second reproduction: deleting the order sets both tickets' `order_id` to
/// NULL through the update path, whose run-time `before_update` listener sees the NULL.
async fn set_null_runs_every_childs_update_listeners<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    ticket_listener();
    let tag = tag::<DB>("repro-set-null");
    let ada = customer(db, &tag, "ada").await;
    let first = order(db, &ada, "o1").await;
    let second = order(db, &ada, "o2").await;
    for (name, of) in [("t1", &first), ("t2", &first), ("t3", &second)] {
        let mut ticket = Ticket {
            id: None,
            order_id: of.id,
            tag: tag.clone(),
            name: name.to_owned(),
        };
        ticket.insert(&db.pool).await.unwrap();
    }

    first.delete(&db.pool).await.unwrap();

    assert_eq!(
        trace(&tag),
        [
            "before_delete o1",
            "before_update t1 order_id=None",
            "before_update t2 order_id=None",
            "after_delete o1",
            "after_delete_commit o1",
        ]
    );
    let tickets = Ticket::all(&db.pool).await.unwrap();
    let orders: Vec<Option<i64>> = tickets.iter().map(|t| t.order_id).collect();
    assert_eq!(orders, [None, None, second.id]);
}

/// Customer -> order -> line -> part: every level's listeners, the deepest rows deleted
/// first, every after-commit call once the whole delete committed.
async fn cascade_three_levels_deep_deletes_children_first<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("three-levels");
    let ada = customer(db, &tag, "ada").await;
    let o1 = order(db, &ada, "o1").await;
    let l1 = line(db, &o1, "l1").await;
    let l2 = line(db, &o1, "l2").await;
    part(db, &l1, "p1").await;
    part(db, &l2, "p2").await;

    ada.delete(&db.pool).await.unwrap();

    assert_eq!(
        trace(&tag),
        [
            "before_delete o1",
            "before_delete l1",
            "before_delete l2",
            "before_delete p1",
            "before_delete p2",
            "after_delete p1",
            "after_delete p2",
            "after_delete l1",
            "after_delete l2",
            "after_delete o1",
            // Queued as each level's delete succeeded: the deepest first.
            "after_delete_commit p1",
            "after_delete_commit p2",
            "after_delete_commit l1",
            "after_delete_commit l2",
            "after_delete_commit o1",
        ]
    );
    for table in ["customers", "orders", "lines", "parts"] {
        assert_eq!(db.count(table).await, 0, "{table}");
    }
}

/// A veto at the bottom rolls back the whole delete: nothing deleted, no after-commit
/// call, and no after-rollback call either, since no row's statement ran.
async fn veto_at_the_bottom_deletes_nothing<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("veto-before");
    let ada = customer(db, &tag, "ada").await;
    let o1 = order(db, &ada, "o1").await;
    let l1 = line(db, &o1, "l1").await;
    part(db, &l1, "p1").await;
    part(db, &l1, "veto-before").await;

    let error = ada.delete(&db.pool).await.unwrap_err();
    assert!(error.listener_error::<Refused>().is_some(), "{error}");
    assert_eq!(
        trace(&tag),
        [
            "before_delete o1",
            "before_delete l1",
            "before_delete p1",
            "before_delete veto-before",
        ]
    );
    for table in ["customers", "orders", "lines"] {
        assert_eq!(db.count(table).await, 1, "{table}");
    }
    assert_eq!(db.count("parts").await, 2);
}

/// A veto after the bottom level's `DELETE` rolls back everything, with after-rollback
/// calls for the rows whose statement ran.
async fn veto_after_the_bottom_delete_rolls_back_what_ran<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("veto-after");
    let ada = customer(db, &tag, "ada").await;
    let o1 = order(db, &ada, "o1").await;
    let l1 = line(db, &o1, "l1").await;
    part(db, &l1, "veto-after").await;

    let error = Customer::delete_all(&[ada], &db.pool).await.unwrap_err();
    assert!(error.listener_error::<Refused>().is_some(), "{error}");
    assert_eq!(
        trace(&tag),
        [
            "before_delete o1",
            "before_delete l1",
            "before_delete veto-after",
            "after_delete veto-after",
            "after_rollback veto-after",
        ]
    );
    for table in ["customers", "orders", "lines", "parts"] {
        assert_eq!(db.count(table).await, 1, "{table}");
    }
}

/// A tree of categories: the children, and theirs, are deleted first, through the
/// listeners; deleting a category together with one of its children deletes each once.
async fn a_self_referencing_tree_cascades_through_its_listeners<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("tree");
    let add = |name: &'static str, parent: Option<i64>| {
        let tag = tag.clone();
        async move {
            let mut category = Category {
                id: None,
                parent_id: parent,
                tag,
                name: name.to_owned(),
            };
            category.insert(&db.pool).await.unwrap();
            category
        }
    };
    let root = add("root", None).await;
    let a = add("a", root.id).await;
    let b = add("b", root.id).await;
    add("c", a.id).await;
    let other = add("other", None).await;
    add("d", other.id).await;
    let _ = b;

    root.delete(&db.pool).await.unwrap();
    assert_eq!(
        trace(&tag),
        [
            "before_delete root",
            "before_delete a",
            "before_delete b",
            "before_delete c",
            "after_delete c",
            "after_delete a",
            "after_delete b",
            "after_delete root",
        ]
    );
    let left = Category::all(&db.pool).await.unwrap();
    let names: Vec<&str> = left.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["other", "d"]);

    // A parent and its child in one batch: the child is deleted once, as one of the batch.
    let d = left.into_iter().find(|c| c.name == "d").unwrap();
    Category::delete_all(&[other, d], &db.pool).await.unwrap();
    assert_eq!(
        trace(&tag)[8..],
        [
            "before_delete other",
            "before_delete d",
            "after_delete other",
            "after_delete d",
        ]
    );
    assert_eq!(db.count("categories").await, 0);
}

/// Children without a listener are left to the database: nothing is read, and the rows
/// are gone (or let go of) all the same.
async fn children_without_listeners_are_left_to_the_database<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("fast-path");
    let mut folder = Folder {
        id: None,
        tag: tag.clone(),
    };
    folder.insert(&db.pool).await.unwrap();
    File {
        id: None,
        folder_id: folder.id.unwrap(),
        tag: tag.clone(),
    }
    .insert(&db.pool)
    .await
    .unwrap();
    Label {
        id: None,
        folder_id: folder.id,
        tag: tag.clone(),
    }
    .insert(&db.pool)
    .await
    .unwrap();

    let mut conn = db.pool.acquire().await.unwrap();
    let counters = match DB::DIALECT {
        Dialect::MySql => {
            let conn: &mut sqlx::MySqlConnection = (&mut *conn as &mut dyn std::any::Any)
                .downcast_mut()
                .expect("a MySQL connection");
            Some(MysqlCounters::read(conn, &["Com_select", "Com_update", "Com_delete"]).await)
        }
        _ => None,
    };
    folder.delete(&mut conn).await.unwrap();
    if let Some(counters) = counters {
        let conn: &mut sqlx::MySqlConnection = (&mut *conn as &mut dyn std::any::Any)
            .downcast_mut()
            .expect("a MySQL connection");
        assert_eq!(
            counters.since(conn).await,
            [("Com_select", 0), ("Com_update", 0), ("Com_delete", 1)]
        );
    }
    drop(conn);
    assert_eq!(db.count("files").await, 0);
    let labels = Label::all(&db.pool).await.unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].folder_id, None);
}

/// `"cascade_in_database"` and `"set_null_in_database"`: the database's action, without the
/// children's listeners, as their names say.
async fn in_database_actions_bypass_the_listeners_by_name<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("opt-out");
    let mut folder = Folder {
        id: None,
        tag: tag.clone(),
    };
    folder.insert(&db.pool).await.unwrap();
    Draft {
        id: None,
        folder_id: folder.id.unwrap(),
        tag: tag.clone(),
    }
    .insert(&db.pool)
    .await
    .unwrap();
    Sticker {
        id: None,
        folder_id: folder.id,
        tag: tag.clone(),
    }
    .insert(&db.pool)
    .await
    .unwrap();

    folder.delete(&db.pool).await.unwrap();
    assert_eq!(trace(&tag), Vec::<String>::new());
    assert_eq!(db.count("drafts").await, 0);
    let stickers = Sticker::all(&db.pool).await.unwrap();
    assert_eq!(stickers[0].folder_id, None);
}

/// 20,000 children with delete listeners: one transaction, every listener, in a few
/// statements (counted on MySQL below).
async fn twenty_thousand_children_in_one_transaction<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("twenty-thousand");
    let mut shelf = Shelf {
        id: None,
        tag: tag.clone(),
    };
    shelf.insert(&db.pool).await.unwrap();
    let mut items: Vec<Item> = (0..20_000)
        .map(|_| Item {
            id: None,
            shelf_id: shelf.id.unwrap(),
            tag: tag.clone(),
        })
        .collect();
    Item::insert_all(&mut items, &db.pool).await.unwrap();

    shelf.delete(&db.pool).await.unwrap();
    assert_eq!(trace(&tag).len(), 20_000);
    assert_eq!(db.count("items").await, 0);
    assert_eq!(db.count("shelves").await, 0);
}

/// The statements of that cascade, counted by the server: a few, not one per child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_cascade_of_twenty_thousand_children_is_a_few_statements() {
    let Some(db) = <sqlx::MySql as TestBackend>::fresh(concat!(
        module_path!(),
        "::mysql_cascade_of_twenty_thousand_children_is_a_few_statements"
    ))
    .await
    else {
        return;
    };
    schema(&db).await;
    let tag = "counted".to_owned();
    let mut shelf = Shelf {
        id: None,
        tag: tag.clone(),
    };
    shelf.insert(&db.pool).await.unwrap();
    let mut items: Vec<Item> = (0..20_000)
        .map(|_| Item {
            id: None,
            shelf_id: shelf.id.unwrap(),
            tag: tag.clone(),
        })
        .collect();
    Item::insert_all(&mut items, &db.pool).await.unwrap();

    let mut conn = db.pool.acquire().await.unwrap();
    let counters = MysqlCounters::read(
        &mut conn,
        &["Com_select", "Com_delete", "Com_begin", "Com_commit"],
    )
    .await;
    shelf.delete(&mut *conn).await.unwrap();
    // One SELECT of the children (locked), one DELETE of them (20,000 keys bind in one),
    // one of the shelf; one transaction.
    assert_eq!(
        counters.since(&mut conn).await,
        [
            ("Com_select", 1),
            ("Com_delete", 2),
            ("Com_begin", 1),
            ("Com_commit", 1)
        ]
    );
    assert_eq!(trace(&tag).len(), 20_000);
    drop(conn);
    db.finish().await;
}

/// In a transaction model-core did not begin, children with commit listeners refuse the
/// cascade (nobody would run those listeners), and nothing is deleted.
async fn a_cascade_in_a_raw_transaction_refuses_commit_listeners<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let tag = tag::<DB>("raw-transaction");
    let ada = customer(db, &tag, "ada").await;
    order(db, &ada, "o1").await;
    let mut tx = db.pool.begin().await.unwrap();
    let error = ada.delete(&mut tx).await.unwrap_err();
    assert!(
        matches!(error, Error::CommitScope { model: "Order" }),
        "{error:?}"
    );
    tx.rollback().await.unwrap();
    assert_eq!(db.count("orders").await, 1);
    assert_eq!(trace(&tag), Vec::<String>::new());
}

/// Inside `model_core::transaction`, the children's after-commit listeners wait for its
/// commit; when it rolls back instead, they never run, and after-rollback ones do.
async fn a_cascade_in_a_transaction_commits_or_rolls_back_with_it<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let tag = tag::<DB>("in-transaction");
    let ada = customer(db, &tag, "ada").await;
    let bob = customer(db, &tag, "bob").await;
    order(db, &ada, "ada's").await;
    order(db, &bob, "bob's").await;

    let note_tag = tag.clone();
    transaction(&db.pool, move |conn| {
        Box::pin(async move {
            ada.delete(&mut *conn).await?;
            note(&note_tag, "body done".to_owned());
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        trace(&tag),
        [
            "before_delete ada's",
            "after_delete ada's",
            "body done",
            "after_delete_commit ada's",
        ]
    );

    let result = transaction(&db.pool, move |conn| {
        Box::pin(async move {
            bob.delete(&mut *conn).await?;
            Err::<(), _>(Error::Unsupported {
                model: "Customer",
                what: "the caller changed its mind",
            })
        })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(
        trace(&tag)[4..],
        [
            "before_delete bob's",
            "after_delete bob's",
            "after_rollback bob's"
        ]
    );
    assert_eq!(db.count("orders").await, 1);
    assert_eq!(db.count("customers").await, 1);
}

per_backend!(
    a_cascade_in_a_transaction_commits_or_rolls_back_with_it,
    cascade_runs_every_childs_delete_listeners,
    delete_all_and_set_based_deletes_cascade,
    set_null_runs_every_childs_update_listeners,
    cascade_three_levels_deep_deletes_children_first,
    veto_at_the_bottom_deletes_nothing,
    veto_after_the_bottom_delete_rolls_back_what_ran,
    a_self_referencing_tree_cascades_through_its_listeners,
    children_without_listeners_are_left_to_the_database,
    in_database_actions_bypass_the_listeners_by_name,
    twenty_thousand_children_in_one_transaction,
    a_cascade_in_a_raw_transaction_refuses_commit_listeners,
);
