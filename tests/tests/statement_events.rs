//! Statement events and `tracing` spans (issue 27): every statement a write or read sends is
//! reported to statement listeners (`model_core::on_statement`) before and after, with its
//! SQL, model and operation, in order, the statements of a listener's own writes included;
//! and each write, read and listener call is a `tracing` span, captured here by a layer of
//! the test's own (one global subscriber for this binary: see `capture`).
//!
//! Statement listeners are global and the three backends' tests run at once: each test
//! keeps only the statements of its own models on its own backend.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use model_core::{on_statement, Backend, Conn, Error, Listening, Model, Operation, StatementPhase};
use model_tests::{per_backend, TestBackend, TestDb};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// In the rows written; never in a statement's SQL, a span or an event.
const SECRET: &str = "s3cret-value";

#[derive(Debug, Clone, Model)]
#[model(table = "ledgers")]
#[listens_for(after_insert, record_entry)]
struct Ledger {
    id: Option<i64>,
    title: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "ledger_entries")]
struct LedgerEntry {
    id: Option<i64>,
    ledger_id: i64,
    note: String,
}

/// A listener that writes through model-core: its statements are reported inside the
/// ledger's.
async fn record_entry<DB: Backend>(ledger: &Ledger, conn: &mut Conn<DB>) -> Result<(), Error> {
    let ledger_id = ledger.id.expect("after_insert: the key is set");
    LedgerEntry {
        id: None,
        ledger_id,
        note: SECRET.to_owned(),
    }
    .insert(conn)
    .await
}

#[derive(Debug, Clone, Model)]
#[model(table = "badges")]
struct Badge {
    id: i64,
    label: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "memos")]
struct Memo {
    id: Option<i64>,
    text: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "invoices")]
#[listens_for(after_insert, add_line)]
struct Invoice {
    id: Option<i64>,
    customer: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "invoice_lines")]
struct InvoiceLine {
    id: Option<i64>,
    invoice_id: i64,
    item: String,
}

async fn add_line<DB: Backend>(invoice: &Invoice, conn: &mut Conn<DB>) -> Result<(), Error> {
    InvoiceLine {
        id: None,
        invoice_id: invoice.id.expect("after_insert: the key is set"),
        item: SECRET.to_owned(),
    }
    .insert(conn)
    .await
}

#[derive(Debug, Clone, Model)]
#[model(table = "folders")]
struct Folder {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "folder_files")]
#[listens_for(before_delete, deleting)]
struct FolderFile {
    id: Option<i64>,
    #[model(references = Folder, on_delete = "cascade")]
    folder_id: i64,
    name: String,
}

/// A delete listener: a folder's delete deletes its files through the listener path.
fn deleting(_file: &FolderFile) {}

#[derive(Debug, Clone, Model)]
#[model(table = "stamps")]
#[listens_for(after_insert, stamp)]
struct Stamp {
    id: Option<i64>,
    seen: i64,
}

/// A listener that sends SQL of its own through its `Conn`: `Raw`, of the stamp's write.
async fn stamp<DB: Backend>(_stamp: &Stamp, conn: &mut Conn<DB>) -> Result<(), Error> {
    let dialect = conn.dialect();
    let sql = format!(
        "UPDATE {} SET {} = {} + 1",
        dialect.quote("stamps"),
        dialect.quote("seen"),
        dialect.quote("seen")
    );
    conn.execute(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .await
        .map_err(|e| Error::from_sqlx("Stamp", e))?;
    Ok(())
}

/// One statement event, as a test keeps it.
#[derive(Debug, Clone)]
struct Seen {
    sql: String,
    model: &'static str,
    operation: Operation,
    /// `None` before the statement; after it, the rows or the error's text.
    after: Option<Result<u64, String>>,
    elapsed: Option<Duration>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Records the statement events of `models` on `DB`'s backend until the handle is dropped.
fn record<DB: Backend>(models: &'static [&'static str]) -> (Log, Listening) {
    let log: Log = Arc::default();
    let kept = Arc::clone(&log);
    let listening = on_statement(move |statement| {
        let Some(model) = statement.model else { return };
        if statement.dialect != DB::DIALECT || !models.contains(&model) {
            return;
        }
        let (after, elapsed) = match statement.phase {
            StatementPhase::Before => (None, None),
            StatementPhase::After { elapsed, result } => {
                (Some(result.map_err(|e| e.to_string())), Some(elapsed))
            }
        };
        kept.lock().unwrap().push(Seen {
            sql: statement.sql.to_owned(),
            model,
            operation: statement.operation,
            after,
            elapsed,
        });
    });
    (log, listening)
}

/// The statements recorded since the last call, each checked to be a `Before` followed at
/// once by its `After` (same SQL, model and operation; a duration), and to hold no value.
fn statements(log: &Log) -> Vec<Seen> {
    let events = std::mem::take(&mut *log.lock().unwrap());
    events
        .chunks(2)
        .map(|pair| {
            let [before, after] = pair else {
                panic!("a before without its after: {events:#?}")
            };
            assert!(before.after.is_none(), "not a before: {before:?}");
            assert!(after.after.is_some(), "not an after: {after:?}");
            assert_eq!(
                (&before.sql, before.model, before.operation),
                (&after.sql, after.model, after.operation),
                "an after that is not its before's"
            );
            assert!(after.elapsed.is_some_and(|d| d > Duration::ZERO));
            assert!(
                !after.sql.contains(SECRET),
                "a bound value in the SQL: {}",
                after.sql
            );
            after.clone()
        })
        .collect()
}

/// (model, operation, rows) of each statement, to compare at a glance.
fn shape(statements: &[Seen]) -> Vec<(&'static str, Operation, Result<u64, String>)> {
    statements
        .iter()
        .map(|s| (s.model, s.operation, s.after.clone().unwrap()))
        .collect()
}

async fn every_statement_of_writes_and_reads_is_reported_in_order<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    capture(); // Before any statement: see `capture`.
    let pool = &db.pool;
    Ledger::create_table(pool).await.unwrap();
    LedgerEntry::create_table(pool).await.unwrap();
    let (log, listening) = record::<DB>(&["Ledger", "LedgerEntry"]);

    // An insert, then the insert its async listener makes, inside it.
    let mut ledger = Ledger {
        id: None,
        title: SECRET.to_owned(),
    };
    ledger.insert(pool).await.unwrap();
    let sent = statements(&log);
    assert_eq!(
        shape(&sent),
        [
            ("Ledger", Operation::Insert, Ok(1)),
            ("LedgerEntry", Operation::Insert, Ok(1)),
        ]
    );
    assert!(sent[0].sql.starts_with("INSERT INTO") && sent[0].sql.contains("ledgers"));
    assert!(sent[1].sql.starts_with("INSERT INTO") && sent[1].sql.contains("ledger_entries"));

    ledger.title = format!("{SECRET}-2");
    ledger.update(pool).await.unwrap();
    let sent = statements(&log);
    assert_eq!(shape(&sent), [("Ledger", Operation::Update, Ok(1))]);
    assert!(sent[0].sql.starts_with("UPDATE"), "{}", sent[0].sql);

    // Reads: the filter's value is bound, not written into the SQL.
    let found = Ledger::filter(|l| l.title.eq(format!("{SECRET}-2")))
        .all(pool)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(Ledger::query().count(pool).await.unwrap(), 1);
    let got = Ledger::get(pool, ledger.id.unwrap()).await.unwrap();
    assert_eq!(got.title, ledger.title);
    let sent = statements(&log);
    assert_eq!(
        shape(&sent),
        [
            ("Ledger", Operation::Select, Ok(1)),
            ("Ledger", Operation::Count, Ok(1)),
            ("Ledger", Operation::Select, Ok(1)),
        ]
    );
    assert!(sent.iter().all(|s| s.sql.starts_with("SELECT")));

    ledger.delete(pool).await.unwrap();
    let sent = statements(&log);
    assert_eq!(shape(&sent), [("Ledger", Operation::Delete, Ok(1))]);
    assert!(sent[0].sql.starts_with("DELETE"), "{}", sent[0].sql);

    // A batch: the ledgers' statements (on MySQL, after the read of the server's key
    // settings; one multi-row INSERT, or one a row where keys are not consecutive), then,
    // in flush order, each row's `after_insert` listener's insert.
    let mut batch: Vec<Ledger> = (0..3)
        .map(|i| Ledger {
            id: None,
            title: format!("{SECRET}-{i}"),
        })
        .collect();
    Ledger::insert_all(&mut batch, pool).await.unwrap();
    let sent = statements(&log);
    let ledgers = sent.iter().take_while(|s| s.model == "Ledger").count();
    assert!(ledgers >= 1, "{sent:#?}");
    assert_eq!(
        shape(&sent[ledgers..]),
        vec![("LedgerEntry", Operation::Insert, Ok(1)); 3]
    );
    assert!(sent.iter().all(|s| s.operation == Operation::Insert));
    let inserted: u64 = sent[..ledgers]
        .iter()
        .filter(|s| s.sql.starts_with("INSERT"))
        .map(|s| s.after.clone().unwrap().unwrap())
        .sum();
    assert_eq!(inserted, 3, "{sent:#?}");

    // A set-based update (one statement: no update listener), and a stream (one statement a
    // chunk of 1,000 rows).
    let retitled = format!("{SECRET}-all");
    let changed = Ledger::query()
        .update(|l| l.title.set(retitled), pool)
        .await
        .unwrap();
    assert_eq!(changed, 3);
    let mut stream = Ledger::query().stream(pool);
    let mut streamed = 0;
    while let Some(ledger) = stream.next().await {
        ledger.unwrap();
        streamed += 1;
    }
    drop(stream);
    assert_eq!(streamed, 3);
    let sent = statements(&log);
    assert_eq!(
        shape(&sent),
        [
            ("Ledger", Operation::Update, Ok(3)),
            ("Ledger", Operation::Select, Ok(3)),
        ]
    );

    drop(listening);
}

async fn a_cascade_reports_the_childrens_statements_as_the_childs<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    capture(); // Before any statement: see `capture`.
    let pool = &db.pool;
    Folder::create_table(pool).await.unwrap();
    FolderFile::create_table(pool).await.unwrap();
    let mut folder = Folder {
        id: None,
        name: SECRET.to_owned(),
    };
    folder.insert(pool).await.unwrap();
    let folder_id = folder.id.unwrap();
    let mut files: Vec<FolderFile> = (0..2)
        .map(|i| FolderFile {
            id: None,
            folder_id,
            name: format!("{SECRET}-{i}"),
        })
        .collect();
    FolderFile::insert_all(&mut files, pool).await.unwrap();
    let (log, _listening) = record::<DB>(&["Folder", "FolderFile"]);
    folder.delete(pool).await.unwrap();
    // The files read (locked) and deleted as a cascade, then the folder.
    let sent = statements(&log);
    let (folder, files) = sent.split_last().unwrap();
    assert_eq!(
        shape(std::slice::from_ref(folder)),
        [("Folder", Operation::Delete, Ok(1))]
    );
    assert!(
        files
            .iter()
            .all(|s| (s.model, s.operation) == ("FolderFile", Operation::Cascade)),
        "{sent:#?}"
    );
    assert!(files[0].sql.starts_with("SELECT"), "{sent:#?}");
    let deleted = files.iter().find(|s| s.sql.starts_with("DELETE"));
    assert_eq!(
        deleted.and_then(|s| s.after.clone()),
        Some(Ok(2)),
        "{sent:#?}"
    );
}

async fn a_listeners_own_sql_is_raw_of_the_write_it_runs_in<DB: TestBackend>(db: &TestDb<DB>) {
    capture(); // Before any statement: see `capture`.
    let pool = &db.pool;
    Stamp::create_table(pool).await.unwrap();
    let (log, _listening) = record::<DB>(&["Stamp"]);
    Stamp { id: None, seen: 0 }.insert(pool).await.unwrap();
    let sent = statements(&log);
    assert_eq!(
        shape(&sent),
        [
            ("Stamp", Operation::Insert, Ok(1)),
            ("Stamp", Operation::Raw, Ok(1)),
        ]
    );
    assert!(sent[1].sql.starts_with("UPDATE"), "{}", sent[1].sql);
}

async fn a_failed_statement_is_reported_with_its_error<DB: TestBackend>(db: &TestDb<DB>) {
    capture(); // Before any statement: see `capture`.
    let pool = &db.pool;
    Badge::create_table(pool).await.unwrap();
    let (log, _listening) = record::<DB>(&["Badge"]);
    let mut badge = Badge {
        id: 1,
        label: SECRET.to_owned(),
    };
    badge.insert(pool).await.unwrap();
    // The same key again: the database refuses the statement.
    let error = badge.clone().insert(pool).await.unwrap_err();
    assert!(
        matches!(error, Error::Constraint { .. } | Error::Database { .. }),
        "{error:?}"
    );
    let sent = statements(&log);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(sent[0].after, Some(Ok(1)));
    let failed = &sent[1];
    assert_eq!(
        (failed.model, failed.operation),
        ("Badge", Operation::Insert)
    );
    let reported = failed.after.clone().unwrap().unwrap_err();
    assert!(!reported.is_empty());
}

async fn a_removed_statement_listener_hears_nothing_more<DB: TestBackend>(db: &TestDb<DB>) {
    capture(); // Before any statement: see `capture`.
    let pool = &db.pool;
    Memo::create_table(pool).await.unwrap();
    let (log, listening) = record::<DB>(&["Memo"]);
    let mut memo = Memo {
        id: None,
        text: "one".to_owned(),
    };
    memo.insert(pool).await.unwrap();
    assert_eq!(statements(&log).len(), 1);
    listening.remove();
    memo.text = "two".to_owned();
    memo.update(pool).await.unwrap();
    Memo::all(pool).await.unwrap();
    assert!(log.lock().unwrap().is_empty(), "{:#?}", log.lock().unwrap());
}

/// A span or an event the capture layer saw.
#[derive(Debug, Clone, Default)]
struct Recorded {
    name: &'static str,
    target: String,
    fields: HashMap<String, String>,
    /// The position of its parent span in the list of spans.
    parent: Option<usize>,
}

impl Recorded {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

impl tracing::field::Visit for Recorded {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.fields
            .insert(field.name().to_owned(), value.to_owned());
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.fields
            .insert(field.name().to_owned(), value.to_string());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.fields
            .insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// What the capture layer saw: spans in the order they began (span ids are reused once a
/// span closes, so the live ones are mapped to their place), and events.
#[derive(Default)]
struct Captured {
    spans: Vec<Recorded>,
    live: HashMap<u64, usize>,
    events: Vec<Recorded>,
}

/// A `tracing` layer that keeps every span and event, with their fields and parents.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Captured>>);

impl<S> tracing_subscriber::Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut captured = self.0.lock().unwrap();
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .and_then(|parent| captured.live.get(&parent.id().into_u64()).copied());
        let mut span = Recorded {
            name: attrs.metadata().name(),
            target: attrs.metadata().target().to_owned(),
            parent,
            ..Recorded::default()
        };
        attrs.record(&mut span);
        let at = captured.spans.len();
        captured.spans.push(span);
        captured.live.insert(id.into_u64(), at);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut captured = self.0.lock().unwrap();
        if let Some(&at) = captured.live.get(&id.into_u64()) {
            values.record(&mut captured.spans[at]);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut captured = self.0.lock().unwrap();
        let parent = ctx
            .event_span(event)
            .and_then(|span| captured.live.get(&span.id().into_u64()).copied());
        let mut recorded = Recorded {
            name: event.metadata().name(),
            target: event.metadata().target().to_owned(),
            parent,
            ..Recorded::default()
        };
        event.record(&mut recorded);
        captured.events.push(recorded);
    }

    fn on_close(&self, id: tracing::span::Id, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        self.0.lock().unwrap().live.remove(&id.into_u64());
    }
}

/// What the test binary's one subscriber captures: installed globally by the first test
/// to start, before it does anything, while the others wait. A subscriber of each test's
/// own would not do: `tracing` caches per call site whether any subscriber wants it, and a
/// call site first reached by another thread while only a thread's own subscriber exists
/// is cached as unwanted by all.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(capture.clone()),
        )
        .expect("the only subscriber of this test binary");
        capture
    })
}

async fn writes_reads_and_listener_calls_are_tracing_spans<DB: TestBackend>(db: &TestDb<DB>) {
    let capture = capture();
    let pool = &db.pool;
    Invoice::create_table(pool).await.unwrap();
    InvoiceLine::create_table(pool).await.unwrap();
    // An insert (with the listener's own), a read of every invoice, a failed update; inside
    // a span of the test's own, to tell them from the other tests' spans.
    let backend = format!("{:?}", DB::DIALECT);
    let root = tracing::info_span!("statement_events_test", backend = backend.as_str());
    async {
        let mut invoice = Invoice {
            id: None,
            customer: SECRET.to_owned(),
        };
        invoice.insert(pool).await.unwrap();
        let all = Invoice::query().all(pool).await.unwrap();
        assert_eq!(all.len(), 1);
        let missing = Invoice {
            id: Some(invoice.id.unwrap() + 1000),
            customer: SECRET.to_owned(),
        };
        let error = missing.clone().update(pool).await.unwrap_err();
        assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    }
    .instrument(root)
    .await;

    let captured = capture.0.lock().unwrap();
    let all = &captured.spans;
    let root = all
        .iter()
        .position(|s| s.name == "statement_events_test" && s.field("backend") == Some(&backend))
        .expect("the test's own span");
    let inside = |mut at: Option<usize>| {
        while let Some(span) = at {
            if span == root {
                return true;
            }
            at = all[span].parent;
        }
        false
    };
    // This test's spans, by their place in `all`.
    let mine: HashMap<usize, &Recorded> = (0..all.len())
        .filter(|&at| at != root && inside(Some(at)))
        .map(|at| (at, &all[at]))
        .collect();
    let position = |matches: &dyn Fn(&Recorded) -> bool, what: &str| {
        let mut found: Vec<usize> = mine
            .iter()
            .filter(|(_, s)| matches(s))
            .map(|(&at, _)| at)
            .collect();
        assert_eq!(found.len(), 1, "{what}: {mine:#?}");
        found.pop().unwrap()
    };
    let find = |name: &str, model: &str, operation: &str| {
        position(
            &|s| {
                s.name == name
                    && s.field("model") == Some(model)
                    && s.field("operation") == Some(operation)
            },
            &format!("one {name} span of {model} {operation}"),
        )
    };

    // The insert: its span, the listener's inside it, the listener's write inside that.
    let insert = find("write", "Invoice", "insert");
    assert_eq!(all[insert].target, "model_core");
    assert_eq!(all[insert].field("rows"), Some("1"));
    assert_eq!(all[insert].field("outcome"), Some("ok"));
    let listener = position(
        &|s| s.name == "listener" && s.field("model") == Some("Invoice"),
        "one listener span",
    );
    assert_eq!(all[listener].parent, Some(insert));
    assert_eq!(all[listener].field("event"), Some("after_insert"));
    assert!(
        all[listener]
            .field("listener")
            .is_some_and(|name| name.ends_with("add_line")),
        "{:?}",
        all[listener]
    );
    let line = find("write", "InvoiceLine", "insert");
    assert_eq!(all[line].parent, Some(listener));
    assert_eq!(all[line].field("outcome"), Some("ok"));

    // Each statement: a debug event inside the span of the write that sent it.
    let statements: Vec<&Recorded> = captured
        .events
        .iter()
        .filter(|e| e.target == "model_core::statement" && inside(e.parent))
        .collect();
    let of = |span: usize| {
        statements
            .iter()
            .filter(|e| e.parent == Some(span))
            .collect::<Vec<_>>()
    };
    let invoice_statements = of(insert);
    assert_eq!(invoice_statements.len(), 1, "{statements:#?}");
    let sql = invoice_statements[0].field("sql").unwrap();
    assert!(
        sql.starts_with("INSERT INTO") && sql.contains("invoices"),
        "{sql}"
    );
    assert_eq!(invoice_statements[0].field("rows"), Some("1"));
    assert_eq!(invoice_statements[0].field("outcome"), Some("ok"));
    assert!(invoice_statements[0].field("elapsed_us").is_some());
    assert_eq!(of(line).len(), 1, "{statements:#?}");

    // The read, and the failed update.
    let read = find("query", "Invoice", "select");
    assert_eq!(all[read].field("rows"), Some("1"));
    assert_eq!(all[read].field("outcome"), Some("ok"));
    assert_eq!(of(read).len(), 1);
    let failed = find("write", "Invoice", "update");
    assert_eq!(all[failed].field("outcome"), Some("error"));
    assert_eq!(all[failed].field("rows"), None);

    // No value anywhere, in any test's spans.
    for recorded in all.iter().chain(&captured.events) {
        for value in recorded.fields.values() {
            assert!(!value.contains(SECRET), "a value in {recorded:?}");
        }
    }
}

per_backend!(
    every_statement_of_writes_and_reads_is_reported_in_order,
    a_cascade_reports_the_childrens_statements_as_the_childs,
    a_listeners_own_sql_is_raw_of_the_write_it_runs_in,
    a_failed_statement_is_reported_with_its_error,
    a_removed_statement_listener_hears_nothing_more,
    writes_reads_and_listener_calls_are_tracing_spans,
);
