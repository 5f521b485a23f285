//! `Model::refresh` (issue 27): a model reloaded from its row sees what the database changed
//! since it was written, with `load` listeners, and keeps its `#[model(skip)]` fields.

use std::sync::atomic::{AtomicUsize, Ordering};

use model_core::{Backend, Error, Model};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, Default, Model)]
#[model(table = "gauges")]
#[listens_for(load, loaded)]
struct Gauge {
    id: Option<i64>,
    label: String,
    reading: i64,
    /// Not a column: kept by `refresh`.
    #[model(skip)]
    note: String,
}

/// Loads per backend: the three backends' tests run at once.
static LOADS: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

fn loaded(gauge: &mut Gauge) {
    // Which backend read it is not known here; the label carries it.
    let slot = match gauge.label.as_str() {
        "sqlite" => 0,
        "postgres" => 1,
        _ => 2,
    };
    LOADS[slot].fetch_add(1, Ordering::SeqCst);
}

fn label<DB: Backend>() -> &'static str {
    match DB::DIALECT {
        model_core::Dialect::Sqlite => "sqlite",
        model_core::Dialect::Postgres => "postgres",
        model_core::Dialect::MySql => "mysql",
    }
}

async fn refresh_reads_what_the_database_changed<DB: TestBackend>(db: &TestDb<DB>) {
    Gauge::create_table(&db.pool).await.unwrap();
    let slot = DB::DIALECT as usize;
    let mut gauge = Gauge {
        id: None,
        label: label::<DB>().to_owned(),
        reading: 1,
        note: "kept".to_owned(),
    };
    gauge.insert(&db.pool).await.unwrap();
    // Another writer (raw SQL, no model) changes the row.
    let sql = format!(
        "UPDATE {} SET {} = {} + 41 WHERE {} = {}",
        db.quote("gauges"),
        db.quote("reading"),
        db.quote("reading"),
        db.quote("id"),
        gauge.id.unwrap()
    );
    db.exec(&sql).await;
    let before = LOADS[slot].load(Ordering::SeqCst);
    gauge.refresh(&db.pool).await.unwrap();
    assert_eq!(gauge.reading, 42, "the database's value");
    assert_eq!(gauge.note, "kept", "a skipped field keeps its value");
    assert_eq!(
        LOADS[slot].load(Ordering::SeqCst),
        before + 1,
        "load ran once"
    );

    // A row that is gone, and a model never inserted.
    gauge.delete(&db.pool).await.unwrap();
    let gone = gauge.refresh(&db.pool).await.unwrap_err();
    assert!(
        matches!(gone, Error::NotFound { model: "Gauge", .. }),
        "{gone:?}"
    );
    assert_eq!(gauge.reading, 42, "a failed refresh changes nothing");
    let mut unsaved = Gauge::default();
    let error = unsaved.refresh(&db.pool).await.unwrap_err();
    assert!(
        matches!(error, Error::Unsaved { model: "Gauge" }),
        "{error:?}"
    );
}

per_backend!(refresh_reads_what_the_database_changed);
