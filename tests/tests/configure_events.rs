//! The model registry and the configuration events (issue 27; SQLAlchemy's
//! `after_mapper_constructed`, `mapper_configured`, `before_configured` and
//! `after_configured`; `before_mapper_configured` and its `EXT_SKIP` as
//! `before_model_configured` and `Configure::Postpone`): `model_core::models()` lists every
//! model of the binary, and the configuration listeners run once per model, in order,
//! before the program's first read or write, on whichever backend that is; a postponed
//! model waits for a later run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use model_core::{Configure, Event, Model, ModelInfo};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, Model)]
#[model(table = "cfg_shelves")]
#[listens_for(before_insert, configured_first)]
struct Shelf {
    id: Option<i64>,
    label: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "cfg_books")]
struct Book {
    #[model(primary_key)]
    isbn: String,
    title: String,
    #[model(references = Shelf)]
    shelf_id: i64,
}

/// A model whose configuration waits until the program says it is ready (SQLAlchemy's
/// `before_mapper_configured` returning `EXT_SKIP`).
#[derive(Debug, Clone, Model)]
#[model(table = "cfg_drafts")]
struct Draft {
    id: Option<i64>,
    text: String,
}

/// Set by the test when `Draft` may be configured.
static READY: AtomicBool = AtomicBool::new(false);

#[model_core::listens_for(before_model_configured)]
fn drafts_when_ready(model: &ModelInfo) -> Configure {
    if model.is::<Draft>() && !READY.load(Ordering::SeqCst) {
        Configure::Postpone
    } else {
        Configure::Continue
    }
}

/// What the configuration listeners saw, in the order they ran.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Set by `after_configured`.
static CONFIGURED: AtomicBool = AtomicBool::new(false);

#[model_core::listens_for(before_configured)]
fn before(models: &[&ModelInfo]) {
    SEEN.lock()
        .unwrap()
        .push(format!("before:{}", models.len()));
}

#[model_core::listens_for(model_configured)]
fn each(model: &ModelInfo) {
    // A configuration listener may read a model's listeners (which would configure
    // first): it does not wait for itself.
    let _ = Shelf::listeners(Event::BeforeInsert).count();
    SEEN.lock().unwrap().push(format!("model:{}", model.name));
}

#[model_core::listens_for(after_configured)]
fn after(models: &[&ModelInfo]) {
    SEEN.lock().unwrap().push(format!("after:{}", models.len()));
    CONFIGURED.store(true, Ordering::SeqCst);
}

/// The first write of the program found the configuration done.
fn configured_first(_: &mut Shelf) {
    assert!(
        CONFIGURED.load(Ordering::SeqCst),
        "configured before the first write"
    );
}

#[test]
fn models_lists_every_model_with_its_table_and_listeners() {
    let models = model_core::models();
    let shelf = models
        .iter()
        .find(|m| m.is::<Shelf>())
        .expect("Shelf is listed");
    assert_eq!(shelf.name, "Shelf");
    assert_eq!(shelf.table(), "cfg_shelves");
    assert_eq!(shelf.columns(), &["id", "label"]);
    assert_eq!(shelf.primary_key(), &[0]);
    assert!(
        shelf.module.ends_with("configure_events"),
        "{}",
        shelf.module
    );
    assert!(shelf
        .listeners()
        .iter()
        .any(|l| l.event == Event::BeforeInsert && l.listener == "configured_first"));
    let book = models
        .iter()
        .find(|m| m.is::<Book>())
        .expect("Book is listed");
    assert_eq!(book.primary_key(), &[0]);
    assert!(!book.is::<Shelf>());
    let mut names: Vec<&str> = models.iter().map(|m| m.name).collect();
    let sorted = {
        let mut s = names.clone();
        s.sort_unstable();
        s
    };
    assert_eq!(names, sorted, "by name");
    names.dedup();
    assert!(names.contains(&"Shelf") && names.contains(&"Book"));
}

async fn configuration_runs_once_before_the_first_write<DB: TestBackend>(db: &TestDb<DB>) {
    let pool = &db.pool;
    Shelf::create_table(pool).await.unwrap();
    Book::create_table(pool).await.unwrap();
    let mut shelf = Shelf {
        id: None,
        label: "a".into(),
    };
    shelf.insert(pool).await.unwrap();
    Book {
        isbn: "978-0".into(),
        title: "t".into(),
        shelf_id: shelf.id.unwrap(),
    }
    .insert(pool)
    .await
    .unwrap();
    // A postponed model is read and written meanwhile.
    Draft::create_table(pool).await.unwrap();
    let mut draft = Draft {
        id: None,
        text: "d".into(),
    };
    draft.insert(pool).await.unwrap();
    assert_eq!(Draft::query().count(pool).await.unwrap(), 1);
    READY.store(true, Ordering::SeqCst);
    model_core::configure(); // configures `Draft`, in a second run
    model_core::configure(); // every model is configured: nothing runs
    let seen = SEEN.lock().unwrap().clone();
    let count = model_core::models().len();
    // The first run: every model but `Draft`; the second: `Draft` alone.
    let mut expected = vec![format!("before:{count}")];
    let mut names: Vec<&str> = model_core::models()
        .iter()
        .map(|m| m.name)
        .filter(|&n| n != "Draft")
        .collect();
    let first_run: Vec<&str> = seen[1..count].iter().map(String::as_str).collect();
    names.sort_unstable();
    let mut ran: Vec<&str> = first_run.iter().map(|s| &s["model:".len()..]).collect();
    ran.sort_unstable();
    assert_eq!(ran, names, "{seen:?}");
    expected.extend(first_run.iter().map(|s| (*s).to_owned()));
    expected.extend([
        format!("after:{count}"),
        format!("before:{count}"),
        "model:Draft".to_owned(),
        format!("after:{count}"),
    ]);
    assert_eq!(seen, expected);
    assert!(CONFIGURED.load(Ordering::SeqCst));
}

per_backend!(configuration_runs_once_before_the_first_write);
