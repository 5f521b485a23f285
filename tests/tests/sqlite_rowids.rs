//! SQLite's `insert_all` of generated keys without `RETURNING` (issue 28): the keys of a
//! multi-row `INSERT` taken from `last_insert_rowid()`, where the rowids the rows will take
//! are known before it is sent (`db::rowids`), and read back otherwise. SQLite only: the
//! rule is SQLite's rowid rule (`AUTOINCREMENT`'s `sqlite_sequence`, triggers, random
//! rowids past `i64::MAX`); the other backends' keys are tested in `batch.rs`.
//!
//! Each test checks every model's key against its own row (a distinct title per row), and
//! which way the keys came (the statements' SQL, seen by a statement listener), so that a
//! test passing by falling back to `RETURNING` cannot hide a broken rule.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use model_core::{on_statement, Error, Listening, Model, StatementPhase};
use model_tests::{per_backend, TestBackend, TestDb};

/// The `INSERT`s sent for `model` (by name) while the returned guard lives. Statement
/// listeners are global and this binary's tests run at once: each test has a model of its
/// own.
fn inserts_of(model: &'static str) -> (Arc<Mutex<Vec<String>>>, Listening) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let listening = on_statement(move |statement| {
        if statement.model == Some(model)
            && matches!(statement.phase, StatementPhase::Before)
            && statement.sql.starts_with("INSERT")
        {
            kept.lock().unwrap().push(statement.sql.to_owned());
        }
    });
    (seen, listening)
}

/// Asserts that each of `models` (its key and title, as `parts` reads them) has a key of
/// its own naming the stored row of its title, and that `M`'s table holds `stored` rows.
async fn assert_own_rows<'m, M, DB>(
    db: &TestDb<DB>,
    models: impl IntoIterator<Item = &'m M>,
    parts: fn(&M) -> (Option<i64>, String),
    stored: usize,
) where
    M: Model + 'm,
    DB: TestBackend,
{
    let models: Vec<(i64, String)> = models
        .into_iter()
        .map(|m| match parts(m) {
            (Some(key), title) => (key, title),
            (None, title) => panic!("{title} has no key"),
        })
        .collect();
    let rows: HashMap<i64, String> = M::all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|m| match parts(m) {
            (Some(key), title) => (key, title),
            (None, title) => panic!("the stored {title} has no key"),
        })
        .collect();
    assert_eq!(rows.len(), stored);
    let mut keys: Vec<i64> = models.iter().map(|(key, _)| *key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), models.len(), "every model has a key of its own");
    for (key, title) in &models {
        assert_eq!(
            rows.get(key),
            Some(title),
            "the key {key} of {title} names another row"
        );
    }
}

/// Asserts that `INSERT`s were sent, each with `RETURNING` (`returning`) or none without.
fn assert_inserts(inserts: &Mutex<Vec<String>>, returning: bool) {
    let inserts = inserts.lock().unwrap();
    assert!(
        !inserts.is_empty()
            && inserts
                .iter()
                .all(|sql| sql.contains("RETURNING") == returning),
        "RETURNING expected: {returning}; sent: {inserts:?}"
    );
}

/// A table whose key is its rowid, without `AUTOINCREMENT`; a `before_insert` listener.
#[derive(Debug, Clone, Model)]
#[model(table = "notes")]
#[listens_for(before_insert, shout)]
struct Note {
    id: Option<i64>,
    title: String,
}

fn shout(note: &mut Note) {
    note.title.push('!');
}

/// 70,000 rows of one bind each: three statements (SQLite binds at most 32,766 values),
/// after rows already in the table. Every key names its own row, and no statement returned
/// its keys.
async fn keys_of_several_statements_name_their_own_rows<DB: TestBackend>(db: &TestDb<DB>) {
    db.exec(r#"CREATE TABLE "notes" ("id" INTEGER PRIMARY KEY, "title" TEXT NOT NULL)"#)
        .await;
    db.exec(r#"INSERT INTO "notes" ("id", "title") VALUES (5, 'five'), (17, 'seventeen')"#)
        .await;
    let (inserts, _listening) = inserts_of("Note");
    let mut notes: Vec<Note> = (0..70_000)
        .map(|n| Note {
            id: None,
            title: format!("note {n}"),
        })
        .collect();
    Note::insert_all(&mut notes, &db.pool).await.unwrap();
    assert_own_rows(db, &notes, |m: &Note| (m.id, m.title.clone()), 70_002).await;
    assert!(notes[0].title.ends_with('!'), "before_insert ran");
    assert_eq!(notes[0].id, Some(18), "after the largest key");
    assert_eq!(inserts.lock().unwrap().len(), 3, "three statements");
    assert_inserts(&inserts, false);
}

/// The library's own table: `INTEGER PRIMARY KEY AUTOINCREMENT`.
#[derive(Debug, Clone, Model)]
#[model(table = "ledger")]
struct Entry {
    id: Option<i64>,
    title: String,
}

fn entries(from: usize, to: usize) -> Vec<Entry> {
    (from..to)
        .map(|n| Entry {
            id: None,
            title: format!("entry {n}"),
        })
        .collect()
}

/// `AUTOINCREMENT` never reuses a key: after the highest rows are deleted, new rows take
/// keys past `sqlite_sequence`'s, not past the largest key left.
async fn autoincrement_keys_follow_sqlite_sequence_past_deleted_rows<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    Entry::create_table(&db.pool).await.unwrap();
    let mut first = entries(0, 100);
    Entry::insert_all(&mut first, &db.pool).await.unwrap();
    Entry::delete_all(&first[50..], &db.pool).await.unwrap();
    let (inserts, _listening) = inserts_of("Entry");
    let mut more = entries(100, 20_000);
    Entry::insert_all(&mut more, &db.pool).await.unwrap();
    assert_eq!(
        more[0].id,
        Some(101),
        "past sqlite_sequence, not the largest key"
    );
    assert_own_rows(
        db,
        first[..50].iter().chain(&more),
        |e: &Entry| (e.id, e.title.clone()),
        50 + 19_900,
    )
    .await;
    assert_inserts(&inserts, false);
}

#[derive(Debug, Clone, Model)]
#[model(table = "echoed")]
struct Echoed {
    id: Option<i64>,
    title: String,
}

/// A trigger that inserts a row into the same table after each row: the rows' rowids are
/// not consecutive, so the statement returns its keys, and each names its own row.
async fn a_trigger_inserting_into_the_table_makes_the_keys_come_back<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    db.exec(r#"CREATE TABLE "echoed" ("id" INTEGER PRIMARY KEY, "title" TEXT NOT NULL)"#)
        .await;
    db.exec(
        r#"CREATE TRIGGER "echo" AFTER INSERT ON "echoed" WHEN NEW."title" NOT LIKE 'echo of %'
           BEGIN INSERT INTO "echoed" ("title") VALUES ('echo of ' || NEW."title"); END"#,
    )
    .await;
    let (inserts, _listening) = inserts_of("Echoed");
    let mut rows: Vec<Echoed> = (0..1_000)
        .map(|n| Echoed {
            id: None,
            title: format!("row {n}"),
        })
        .collect();
    Echoed::insert_all(&mut rows, &db.pool).await.unwrap();
    assert_own_rows(db, &rows, |m: &Echoed| (m.id, m.title.clone()), 2_000).await;
    assert_inserts(&inserts, true);
}

#[derive(Debug, Clone, Model)]
#[model(table = "edge")]
struct Edge {
    id: Option<i64>,
    title: String,
}

fn edges(n: usize) -> Vec<Edge> {
    (0..n)
        .map(|n| Edge {
            id: None,
            title: format!("edge {n}"),
        })
        .collect()
}

/// A table whose largest key is `i64::MAX - 2`: past `i64::MAX` SQLite picks random rowids,
/// in no order, so the rows go one a statement, each reading its own key. With
/// `AUTOINCREMENT` SQLite refuses the row past `i64::MAX`: an error, and nothing stored.
async fn keys_near_i64_max_name_their_own_rows_or_fail<DB: TestBackend>(db: &TestDb<DB>) {
    db.exec(r#"CREATE TABLE "edge" ("id" INTEGER PRIMARY KEY, "title" TEXT NOT NULL)"#)
        .await;
    let mut top = [Edge {
        id: Some(i64::MAX - 2),
        title: "top".into(),
    }];
    Edge::insert_all(&mut top, &db.pool).await.unwrap();
    let (inserts, _listening) = inserts_of("Edge");
    let mut rows = edges(5);
    Edge::insert_all(&mut rows, &db.pool).await.unwrap();
    assert_own_rows(db, &rows, |m: &Edge| (m.id, m.title.clone()), 6).await;
    assert_eq!(
        (rows[0].id, rows[1].id),
        (Some(i64::MAX - 1), Some(i64::MAX))
    );
    assert_eq!(inserts.lock().unwrap().len(), 5, "one statement a row");
    drop(inserts);

    db.exec(r#"DROP TABLE "edge""#).await;
    db.exec(
        r#"CREATE TABLE "edge" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "title" TEXT NOT NULL)"#,
    )
    .await;
    Edge::insert_all(&mut top, &db.pool).await.unwrap();
    let mut rows = edges(5);
    let error = Edge::insert_all(&mut rows, &db.pool).await.unwrap_err();
    assert!(matches!(error, Error::Database { .. }), "{error:?}");
    assert!(rows.iter().all(|e| e.id.is_none()), "no key set");
    assert_eq!(db.count("edge").await, 1, "nothing of the batch stored");
}

#[derive(Debug, Clone, Model)]
#[model(schema = "model_tests_rowids_aux", table = "shelves")]
struct Shelf {
    id: Option<i64>,
    title: String,
}

/// A table in an attached database, beside a table of the same name in `main` with larger
/// keys: the rowids are the attached table's, read from its own catalogue.
async fn an_attached_tables_keys_follow_its_own_rowids<DB: TestBackend>(db: &TestDb<DB>) {
    db.exec(r#"ATTACH DATABASE ':memory:' AS "model_tests_rowids_aux""#)
        .await;
    db.exec(r#"CREATE TABLE "shelves" ("id" INTEGER PRIMARY KEY, "title" TEXT NOT NULL)"#)
        .await;
    db.exec(r#"INSERT INTO "shelves" ("id", "title") VALUES (1000, 'main')"#)
        .await;
    Shelf::create_table(&db.pool).await.unwrap();
    let (inserts, _listening) = inserts_of("Shelf");
    let mut shelves: Vec<Shelf> = (0..100)
        .map(|n| Shelf {
            id: None,
            title: format!("shelf {n}"),
        })
        .collect();
    Shelf::insert_all(&mut shelves, &db.pool).await.unwrap();
    assert_own_rows(db, &shelves, |m: &Shelf| (m.id, m.title.clone()), 100).await;
    assert_eq!(shelves[0].id, Some(1));
    assert_inserts(&inserts, false);
    db.exec(r#"DETACH DATABASE "model_tests_rowids_aux""#).await;
}

/// A table and key whose names need quoting (a quote, a space, a keyword), made by the
/// library: the check binds the names and quotes them, and the keys come from the rowids.
#[derive(Debug, Clone, Model)]
#[model(table = "odd \"table\" name")]
struct Odd {
    #[model(column = "select")]
    id: Option<i64>,
    title: String,
}

async fn names_that_need_quoting_keep_the_rowid_rule<DB: TestBackend>(db: &TestDb<DB>) {
    Odd::create_table(&db.pool).await.unwrap();
    let (inserts, _listening) = inserts_of("Odd");
    let mut odd: Vec<Odd> = (0..500)
        .map(|n| Odd {
            id: None,
            title: format!("odd {n}"),
        })
        .collect();
    Odd::insert_all(&mut odd, &db.pool).await.unwrap();
    assert_own_rows(db, &odd, |m: &Odd| (m.id, m.title.clone()), 500).await;
    assert_inserts(&inserts, false);
}

per_backend!(@backend sqlite, ::sqlx::Sqlite, [
    keys_of_several_statements_name_their_own_rows,
    autoincrement_keys_follow_sqlite_sequence_past_deleted_rows,
    a_trigger_inserting_into_the_table_makes_the_keys_come_back,
    keys_near_i64_max_name_their_own_rows_or_fail,
    an_attached_tables_keys_follow_its_own_rowids,
    names_that_need_quoting_keep_the_rowid_rule,
], []);
