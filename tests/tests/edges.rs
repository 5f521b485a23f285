//! Issue 23: the edges where an answer was wrong or misleading, each on all three backends.
//! - an `in_` list past the bind limit is refused before anything is sent, typed, on every
//!   read and write path (not a raw driver error, not `OutcomeUnknown`);
//! - a `like` pattern ending in a lone `\` is refused alike everywhere; `contains`,
//!   `starts_with`, `ends_with` escape the user's text and are case-sensitive everywhere;
//!   the `i` forms ignore case everywhere;
//! - one listener function reached by two paths runs once;
//! - `update_all` and set-based `update` run in flush order, as `insert_all`/`delete_all`;
//! - a `before_commit` listener that writes a row on every call is stopped, typed, and
//!   nothing is committed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use model_core::{Backend, Conn, Error, Event, Model, RunawayBeforeCommit};
use model_tests::{per_backend, TestBackend, TestDb};

type Trace = Arc<Mutex<Vec<String>>>;

fn push(trace: &Trace, entry: String) {
    trace.lock().unwrap().push(entry);
}

// ----- in_ past the bind limit -------------------------------------------------------

#[derive(Debug, Clone, Model)]
#[model(table = "tags")]
struct Tag {
    id: Option<i64>,
    hits: i64,
    name: String,
}

/// The same table, with an update and a delete listener: the per-row path.
#[derive(Debug, Clone, Model)]
#[model(table = "tags")]
#[listens_for(before_update, never_update)]
#[listens_for(before_delete, never_delete)]
struct ListenedTag {
    id: Option<i64>,
    hits: i64,
    name: String,
}

static LISTENED_CALLS: AtomicUsize = AtomicUsize::new(0);

fn never_update(_: &mut ListenedTag) {
    LISTENED_CALLS.fetch_add(1, Ordering::SeqCst);
}

fn never_delete(_: &ListenedTag) {
    LISTENED_CALLS.fetch_add(1, Ordering::SeqCst);
}

fn too_many(error: &Error, values: usize) {
    match error {
        Error::TooManyValues {
            model,
            values: sent,
            limit,
        } => {
            assert!(*model == "Tag" || *model == "ListenedTag", "{model}");
            assert_eq!(*sent, values);
            assert!(*limit == 32_766 || *limit == 65_535, "{limit}");
            assert!(!error.is_outcome_unknown());
            let text = error.to_string();
            assert!(text.contains(&limit.to_string()), "{text}");
        }
        other => panic!("expected TooManyValues, got {other:?}"),
    }
}

async fn in_past_the_bind_limit_is_refused_before_sending<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    let mut tags: Vec<Tag> = (0..10)
        .map(|n| Tag {
            id: None,
            hits: n,
            name: format!("t{n}"),
        })
        .collect();
    Tag::insert_all(&mut tags, &db.pool).await.unwrap();
    let ids: Vec<i64> = (1..=70_000).collect();

    let e = Tag::filter(|t| t.id.in_(ids.clone()))
        .count(&db.pool)
        .await
        .unwrap_err();
    too_many(&e, 70_000);
    let e = Tag::filter(|t| t.id.in_(ids.clone()))
        .all(&db.pool)
        .await
        .unwrap_err();
    too_many(&e, 70_000);
    // Inside `or`, `not` and beside other conditions it counts the same.
    let e = Tag::filter(|t| !t.hits.gt(3).or(t.id.in_(ids.clone())))
        .first(&db.pool)
        .await
        .unwrap_err();
    too_many(&e, 70_001);
    let e = Tag::filter(|t| t.id.in_(ids.clone()))
        .update(|t| t.hits.set(0), &db.pool)
        .await
        .unwrap_err();
    too_many(&e, 70_000);
    let e = Tag::filter(|t| t.id.in_(ids.clone()))
        .delete(&db.pool)
        .await
        .unwrap_err();
    too_many(&e, 70_000);
    // The listener path reads the rows first: refused before that read too.
    let e = ListenedTag::filter(|t| t.id.in_(ids.clone()))
        .update(|t| t.hits.set(0), &db.pool)
        .await
        .unwrap_err();
    too_many(&e, 70_000);
    let e = ListenedTag::filter(|t| t.id.in_(ids.clone()))
        .delete(&db.pool)
        .await
        .unwrap_err();
    too_many(&e, 70_000);
    // A stream too.
    let mut stream = Tag::filter(|t| t.id.in_(ids.clone())).stream(&db.pool);
    too_many(&stream.next().await.unwrap().unwrap_err(), 70_000);
    assert!(stream.next().await.is_none());
    drop(stream);

    assert_eq!(LISTENED_CALLS.load(Ordering::SeqCst), 0);
    let stored = Tag::query().all(&db.pool).await.unwrap();
    assert_eq!(stored.len(), 10);
    // Nothing changed: every row as inserted (keys as the database gave them; on a Galera
    // cluster they are not 1..n).
    assert_eq!(
        stored.iter().map(|t| (t.id, t.hits)).collect::<Vec<_>>(),
        tags.iter().map(|t| (t.id, t.hits)).collect::<Vec<_>>()
    );
    // Just under the limit works: the limit is the backend's, not a smaller one of ours.
    let limit = match DB::DIALECT {
        model_core::Dialect::Sqlite => 32_766,
        _ => 65_535,
    };
    let under: Vec<i64> = (1..=(limit - 2)).collect();
    let n = Tag::filter(|t| t.id.in_(under))
        .count(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 10);
}

// ----- patterns ------------------------------------------------------------------------

async fn names<DB: TestBackend>(
    db: &TestDb<DB>,
    filter: impl FnOnce(&<Tag as Model>::Columns) -> model_core::Filter<Tag>,
) -> Vec<String> {
    Tag::filter(filter)
        .all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect()
}

async fn patterns_mean_the_same_everywhere<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    let texts = [
        r"50% off",
        r"500 off",
        r"a_b",
        r"axb",
        r"back\slash",
        r"Rust",
        r"rust",
        r"café",
        r"cafe",
        r"star*glob?[x]",
        r"ends\",
    ];
    let mut tags: Vec<Tag> = texts
        .iter()
        .zip(0..)
        .map(|(name, hits)| Tag {
            id: None,
            hits,
            name: (*name).to_owned(),
        })
        .collect();
    Tag::insert_all(&mut tags, &db.pool).await.unwrap();

    // The user's text is never a pattern.
    assert_eq!(names(db, |t| t.name.contains("0%")).await, [r"50% off"]);
    assert_eq!(names(db, |t| t.name.contains("_")).await, [r"a_b"]);
    assert_eq!(
        names(db, |t| t.name.contains(r"\")).await,
        [r"back\slash", r"ends\"]
    );
    assert_eq!(names(db, |t| t.name.ends_with(r"\")).await, [r"ends\"]);
    assert_eq!(names(db, |t| t.name.starts_with("50%")).await, [r"50% off"]);
    assert_eq!(
        names(db, |t| t.name.contains("*glob?[")).await,
        [r"star*glob?[x]"]
    );
    assert_eq!(
        names(db, |t| t.name.contains("[x]")).await,
        [r"star*glob?[x]"]
    );
    // Case-sensitive everywhere (SQLite's and MariaDB's LIKE are not).
    assert_eq!(names(db, |t| t.name.starts_with("Ru")).await, ["Rust"]);
    assert_eq!(
        names(db, |t| t.name.ends_with("ust")).await,
        ["Rust", "rust"]
    );
    // Accents count everywhere (MariaDB's default collation ignores them).
    assert_eq!(names(db, |t| t.name.ends_with("fe")).await, ["cafe"]);
    // The `i` forms ignore case everywhere, and still not accents.
    assert_eq!(
        names(db, |t| t.name.icontains("RUS")).await,
        ["Rust", "rust"]
    );
    assert_eq!(
        names(db, |t| t.name.istarts_with("rU")).await,
        ["Rust", "rust"]
    );
    assert_eq!(names(db, |t| t.name.iends_with("FE")).await, ["cafe"]);
    assert_eq!(names(db, |t| t.name.icontains("A_")).await, ["a_b"]);
    assert_eq!(names(db, |t| t.name.ilike("R%T")).await, ["Rust", "rust"]);
    assert_eq!(names(db, |t| t.name.ilike(r"A\_B")).await, ["a_b"]);
    // Composed with other conditions.
    assert_eq!(
        names(db, |t| t.name.icontains("rust").and(t.hits.gt(5))).await,
        ["rust"]
    );
    // Three texts hold an `o`.
    assert_eq!(
        names(db, |t| !t.name.contains("o")).await.len(),
        texts.len() - 3
    );

    // A pattern ending in a lone `\` is refused alike on every backend, before sending.
    for pattern in [r"ends\", r"%\"] {
        for error in [
            Tag::filter(|t| t.name.like(pattern))
                .all(&db.pool)
                .await
                .unwrap_err(),
            Tag::filter(|t| t.name.ilike(pattern))
                .count(&db.pool)
                .await
                .unwrap_err(),
            Tag::filter(|t| t.name.like(pattern))
                .delete(&db.pool)
                .await
                .unwrap_err(),
        ] {
            match error {
                Error::Value {
                    model,
                    column,
                    reason,
                } => {
                    assert_eq!((model, column), ("Tag", "name"));
                    assert!(reason.contains("lone"), "{reason}");
                }
                other => panic!("expected Error::Value, got {other:?}"),
            }
        }
    }
    // Escaped, it is a backslash.
    assert_eq!(names(db, |t| t.name.like(r"%\\")).await, [r"ends\"]);
    assert_eq!(
        Tag::query().count(&db.pool).await.unwrap(),
        texts.len() as u64
    );
}

// ----- one function, one call ----------------------------------------------------------

#[derive(Debug, Clone, Default, Model)]
#[model(table = "twice")]
#[listens_for(before_insert, stamp, self::stamp, crate::stamp)]
#[listens_for(after_insert, noted, self::noted)]
#[listens_for(before_delete, both_sides)]
#[listens_for(after_insert_commit, committed, self::committed, commit_both_sides)]
struct Twice {
    id: Option<i64>,
    stamps: i64,
    #[model(skip)]
    trace: Trace,
}

fn stamp(row: &mut Twice) {
    row.stamps += 1;
}

fn noted(row: &Twice) {
    push(&row.trace, "after_insert".into());
}

/// Named on the struct and listening on the function too: it runs once, in the struct's
/// place.
#[model_core::listens_for(before_delete)]
fn both_sides(row: &Twice) {
    push(&row.trace, "before_delete".into());
}

fn committed(row: &Twice) {
    push(&row.trace, "committed".into());
}

#[model_core::listens_for(after_insert_commit)]
fn commit_both_sides(row: &Twice) {
    push(&row.trace, "committed (both sides)".into());
}

/// An async listener generic over the backend, reached by two paths.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "twice_async")]
#[listens_for(after_insert, audit_twice, self::audit_twice)]
struct TwiceAsync {
    id: Option<i64>,
    label: String,
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "twice_audit")]
struct TwiceAudit {
    id: Option<i64>,
    label: String,
}

async fn audit_twice<DB: Backend>(row: &TwiceAsync, conn: &mut Conn<DB>) -> Result<(), Error> {
    let mut audit = TwiceAudit {
        id: None,
        label: row.label.clone(),
    };
    audit.insert(conn).await
}

async fn a_function_reached_by_two_paths_runs_once<DB: TestBackend>(db: &TestDb<DB>) {
    Twice::create_table(&db.pool).await.unwrap();
    TwiceAsync::create_table(&db.pool).await.unwrap();
    TwiceAudit::create_table(&db.pool).await.unwrap();
    let trace = Trace::default();
    let mut row = Twice {
        trace: trace.clone(),
        ..Twice::default()
    };
    row.insert(&db.pool).await.unwrap();
    assert_eq!(row.stamps, 1);
    assert_eq!(
        Twice::get(&db.pool, row.id.unwrap()).await.unwrap().stamps,
        1
    );
    row.delete(&db.pool).await.unwrap();
    assert_eq!(
        *trace.lock().unwrap(),
        [
            "after_insert",
            "committed",
            "committed (both sides)",
            "before_delete"
        ]
    );
    // In a batch too.
    let trace = Trace::default();
    let mut rows = vec![
        Twice {
            trace: trace.clone(),
            ..Twice::default()
        },
        Twice {
            trace: trace.clone(),
            ..Twice::default()
        },
    ];
    Twice::insert_all(&mut rows, &db.pool).await.unwrap();
    assert!(rows.iter().all(|r| r.stamps == 1));
    assert_eq!(trace.lock().unwrap().len(), 6);

    let mut row = TwiceAsync {
        id: None,
        label: "once".into(),
    };
    row.insert(&db.pool).await.unwrap();
    assert_eq!(TwiceAudit::query().count(&db.pool).await.unwrap(), 1);
}

/// Written only by the test below: run-time listeners are process-wide.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "listened_twice")]
struct ListenedTwice {
    id: Option<i64>,
    #[model(skip)]
    trace: Trace,
}

/// Each `listen` is a registration of its own: the same function listened twice runs
/// twice, and removing one registration leaves the other. The registry is the same for
/// every backend, so this runs on SQLite alone.
#[tokio::test]
async fn the_same_function_listened_twice_runs_once_per_registration() {
    fn heard(row: &ListenedTwice) {
        push(&row.trace, "heard".into());
    }
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    ListenedTwice::create_table(&pool).await.unwrap();
    let first = model_core::listen(model_core::on::AfterInsert, heard);
    let second = model_core::listen(model_core::on::AfterInsert, heard);
    let trace = Trace::default();
    let mut row = ListenedTwice {
        id: None,
        trace: trace.clone(),
    };
    row.insert(&pool).await.unwrap();
    assert_eq!(trace.lock().unwrap().len(), 2);
    first.remove();
    let mut row = ListenedTwice {
        id: None,
        trace: trace.clone(),
    };
    row.insert(&pool).await.unwrap();
    assert_eq!(trace.lock().unwrap().len(), 3);
    drop(second);
    let mut row = ListenedTwice {
        id: None,
        trace: trace.clone(),
    };
    row.insert(&pool).await.unwrap();
    assert_eq!(trace.lock().unwrap().len(), 3);
}

// ----- flush order ---------------------------------------------------------------------

#[derive(Debug, Clone, Default, Model)]
#[model(table = "flushed")]
#[listens_for(before_update, updating)]
#[listens_for(after_update, updated)]
struct Flushed {
    id: Option<i64>,
    n: i64,
    #[model(skip)]
    trace: Trace,
}

fn updating(row: &mut Flushed) {
    push(&row.trace, format!("before {}", row.n));
}

fn updated(row: &Flushed) {
    push(&row.trace, format!("after {}", row.n));
}

/// The same table, change-tracking: its update listeners take the change set.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "flushed", track_changes)]
#[listens_for(before_update, tracked_before)]
#[listens_for(after_update, tracked_after)]
struct TrackedFlushed {
    id: Option<i64>,
    n: i64,
    #[model(skip)]
    trace: Trace,
}

fn tracked_before(row: &mut TrackedFlushed) {
    push(&row.trace, format!("before {}", row.n));
}

fn tracked_after(row: &TrackedFlushed) {
    push(&row.trace, format!("after {}", row.n));
}

fn expected_flush_order(ns: &[i64]) -> Vec<String> {
    ns.iter()
        .map(|n| format!("before {n}"))
        .chain(ns.iter().map(|n| format!("after {n}")))
        .collect()
}

async fn every_batch_write_runs_in_flush_order<DB: TestBackend>(db: &TestDb<DB>) {
    Flushed::create_table(&db.pool).await.unwrap();
    let trace = Trace::default();
    let mut rows: Vec<Flushed> = (1..=3)
        .map(|n| Flushed {
            id: None,
            n,
            trace: trace.clone(),
        })
        .collect();
    Flushed::insert_all(&mut rows, &db.pool).await.unwrap();
    for row in &mut rows {
        row.n += 10;
    }
    Flushed::update_all(&mut rows, &db.pool).await.unwrap();
    assert_eq!(*trace.lock().unwrap(), expected_flush_order(&[11, 12, 13]));

    // A set-based update takes the same path: rows as read, changed, in flush order.
    let n = Flushed::filter(|f| f.n.gt(11))
        .update(|f| f.n.set(7), &db.pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
    // (Rows read by the query carry a fresh trace of their own: check the stored rows.)
    let stored: Vec<i64> = Flushed::query()
        .all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.n)
        .collect();
    assert_eq!(stored, [11, 7, 7]);

    // A change-tracking model's batch too.
    let trace = Trace::default();
    let mut rows: Vec<TrackedFlushed> = TrackedFlushed::query()
        .all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.trace = trace.clone();
            r.n += 100;
            r
        })
        .collect();
    TrackedFlushed::update_all(&mut rows, &db.pool)
        .await
        .unwrap();
    assert_eq!(
        *trace.lock().unwrap(),
        expected_flush_order(&[111, 107, 107])
    );
    let mut tracked: Vec<model_core::Tracked<TrackedFlushed>> = TrackedFlushed::query()
        .all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(model_core::Tracked::new)
        .collect();
    let trace = Trace::default();
    for row in &mut tracked {
        row.trace = trace.clone();
        row.n += 1;
    }
    model_core::Tracked::update_all(&mut tracked, &db.pool)
        .await
        .unwrap();
    assert_eq!(
        *trace.lock().unwrap(),
        expected_flush_order(&[112, 108, 108])
    );
}

// ----- a before_commit listener that never stops ---------------------------------------

#[derive(Debug, Clone, Default, Model)]
#[model(table = "echoes")]
#[listens_for(before_commit, echo)]
struct Echo {
    id: Option<i64>,
    generation: i64,
}

/// Calls per backend: the three backends' tests run at once.
static ECHO_CALLS: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

fn echo_calls<DB: Backend>() -> &'static AtomicUsize {
    &ECHO_CALLS[DB::DIALECT as usize]
}

/// Writes another row on every call: each row's own `before_commit` writes the next.
async fn echo<DB: Backend>(row: &Echo, conn: &mut Conn<DB>) -> Result<(), Error> {
    echo_calls::<DB>().fetch_add(1, Ordering::SeqCst);
    let mut next = Echo {
        id: None,
        generation: row.generation + 1,
    };
    next.insert(conn).await
}

async fn a_before_commit_listener_that_never_stops_is_stopped<DB: TestBackend>(db: &TestDb<DB>) {
    Echo::create_table(&db.pool).await.unwrap();
    echo_calls::<DB>().store(0, Ordering::SeqCst);
    let mut first = Echo::default();
    let error = first.insert(&db.pool).await.unwrap_err();
    match &error {
        Error::Listener {
            model,
            event,
            listener,
            source,
        } => {
            assert_eq!(*model, "Echo");
            assert_eq!(*event, Event::BeforeCommit);
            assert_eq!(*listener, "echo");
            let runaway = source.downcast_ref::<RunawayBeforeCommit>().unwrap();
            assert_eq!(runaway.rounds, 100);
        }
        other => panic!("expected a listener error, got {other:?}"),
    }
    assert_eq!(echo_calls::<DB>().load(Ordering::SeqCst), 100);
    assert!(
        first.id.is_none(),
        "a key that was not committed is cleared"
    );
    assert_eq!(Echo::query().count(&db.pool).await.unwrap(), 0);
}

// ----- generic code over the backend, in a caller's transaction ------------------------

/// Written once for every backend: the transaction is passed as `&mut tx`. (`&mut *tx`, the
/// connection inside it, is `Acquire` only for a concrete backend: sqlx implements it per
/// connection type, so generic code cannot name it.)
async fn insert_in_a_transaction<DB: Backend>(
    pool: &sqlx::Pool<DB>,
    name: &str,
) -> Result<Tag, Error> {
    let mut tx = pool.begin().await.map_err(|e| Error::from_sqlx("Tag", e))?;
    let mut tag = Tag {
        id: None,
        hits: 0,
        name: name.to_owned(),
    };
    tag.insert(&mut tx).await?;
    tag.hits = 1;
    tag.update(&mut tx).await?;
    tx.commit().await.map_err(|e| Error::from_sqlx("Tag", e))?;
    Ok(tag)
}

async fn generic_code_writes_in_a_callers_transaction<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    let tag = insert_in_a_transaction(&db.pool, "generic").await.unwrap();
    let stored = Tag::get(&db.pool, tag.id.unwrap()).await.unwrap();
    assert_eq!((stored.hits, stored.name.as_str()), (1, "generic"));
}

// ----- after_rollback for every row whose statement ran -------------------------------

#[derive(Debug, Clone, Default, Model)]
#[model(table = "undone")]
#[listens_for(after_insert, refuse_insert)]
#[listens_for(after_update, refuse_update)]
#[listens_for(after_delete, refuse_delete)]
#[listens_for(after_rollback, undone)]
struct Undone {
    id: Option<i64>,
    label: String,
    #[model(skip)]
    trace: Trace,
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}

impl std::error::Error for Refused {}

fn refuse_if(row: &Undone, label: &str) -> Result<(), Refused> {
    match row.label == label {
        true => Err(Refused),
        false => Ok(()),
    }
}

fn refuse_insert(row: &Undone) -> Result<(), Refused> {
    refuse_if(row, "veto-insert")
}

fn refuse_update(row: &Undone) -> Result<(), Refused> {
    refuse_if(row, "veto-update")
}

fn refuse_delete(row: &Undone) -> Result<(), Refused> {
    refuse_if(row, "veto-delete")
}

fn undone(row: &Undone) {
    push(&row.trace, row.label.clone());
}

fn undone_rows(labels: &[&str], trace: &Trace) -> Vec<Undone> {
    labels
        .iter()
        .map(|label| Undone {
            id: None,
            label: (*label).to_owned(),
            trace: trace.clone(),
        })
        .collect()
}

fn sorted(trace: &Trace) -> Vec<String> {
    let mut seen = trace.lock().unwrap().clone();
    seen.sort();
    seen
}

/// A batch whose second row's `after_*` listener vetoes: every row's statement ran before
/// any `after_*` listener (flush order), so every row is undone and gets `after_rollback`,
/// the rows after the vetoing one included.
async fn every_row_a_vetoed_batch_wrote_gets_after_rollback<DB: TestBackend>(db: &TestDb<DB>) {
    Undone::create_table(&db.pool).await.unwrap();
    let trace = Trace::default();
    let mut rows = undone_rows(&["a", "veto-insert", "c"], &trace);
    Undone::insert_all(&mut rows, &db.pool).await.unwrap_err();
    assert_eq!(sorted(&trace), ["a", "c", "veto-insert"]);
    assert_eq!(Undone::query().count(&db.pool).await.unwrap(), 0);

    let trace = Trace::default();
    let mut rows = undone_rows(&["a", "b", "c"], &trace);
    Undone::insert_all(&mut rows, &db.pool).await.unwrap();
    rows[1].label = "veto-update".into();
    Undone::update_all(&mut rows, &db.pool).await.unwrap_err();
    assert_eq!(sorted(&trace), ["a", "c", "veto-update"]);

    let trace = Trace::default();
    let mut rows: Vec<Undone> = Undone::query().all(&db.pool).await.unwrap();
    for row in &mut rows {
        row.trace = trace.clone();
    }
    rows[1].label = "veto-delete".into();
    Undone::delete_all(&rows, &db.pool).await.unwrap_err();
    assert_eq!(sorted(&trace), ["a", "c", "veto-delete"]);
    assert_eq!(Undone::query().count(&db.pool).await.unwrap(), 3);
}

per_backend!(
    every_row_a_vetoed_batch_wrote_gets_after_rollback,
    generic_code_writes_in_a_callers_transaction,
    in_past_the_bind_limit_is_refused_before_sending,
    patterns_mean_the_same_everywhere,
    a_function_reached_by_two_paths_runs_once,
    every_batch_write_runs_in_flush_order,
    a_before_commit_listener_that_never_stops_is_stopped,
);
