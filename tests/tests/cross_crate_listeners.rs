//! Listeners declared in another crate (`tests/audit-listeners`) are gathered with this
//! crate's: its listener of every model runs for a model of this crate, its listener of its
//! own model runs beside one declared here for that model.
//!
//! The crate is named below (`audit_listeners::...`), which links it. A crate that only
//! registers listeners needs `use audit_listeners as _;` somewhere in the binary: rustc links
//! only the crates the code names.

use audit_listeners::{Badge, INSERTS};
use model_core::schema::Schema;
use model_core::{Event, Model};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, Model)]
#[model(table = "notes")]
struct Note {
    id: Option<i64>,
    label: String,
}

/// A listener of the other crate's model, declared in this one.
#[model_core::listens_for(before_insert)]
fn shout(badge: &mut Badge) {
    badge.label.push('!');
}

/// This backend's entries of `INSERTS` (the three backends' tests run at once).
fn inserts(tag: &str) -> Vec<String> {
    let mut all = INSERTS.lock().unwrap();
    let (mine, others): (Vec<String>, Vec<String>) = all.drain(..).partition(|e| e.contains(tag));
    *all = others;
    mine.into_iter().map(|e| e.replace(tag, "")).collect()
}

async fn listeners_of_another_crate_run_for_this_crates_models<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Note>()
        .model::<Badge>()
        .create_all(&db.pool)
        .await
        .unwrap();
    let tag = format!("-{:?}", DB::DIALECT);
    let mut note = Note {
        id: None,
        label: format!("cross-crate{tag}-note"),
    };
    note.insert(&db.pool).await.unwrap();
    let mut badge = Badge {
        id: None,
        label: format!("cross-crate{tag}-badge"),
        stamped: false,
    };
    badge.insert(&db.pool).await.unwrap();
    assert!(badge.stamped, "the other crate's listener of its model");
    let stored = Badge::get(&db.pool, badge.id.unwrap()).await.unwrap();
    assert_eq!(stored.label, format!("cross-crate{tag}-badge!"));
    assert!(stored.stamped);
    assert_eq!(
        inserts(&tag),
        [
            format!("Note:cross-crate-note:{}", note.id.unwrap()),
            format!("Badge:cross-crate-badge!:{}", badge.id.unwrap()),
        ],
        "the other crate's listener of every model, for both"
    );
    let names = |event| -> Vec<&str> { Badge::listeners(event).map(|l| l.listener).collect() };
    assert_eq!(
        names(Event::BeforeInsert),
        ["audit_listeners::stamp", "cross_crate_listeners::shout"]
    );
    assert_eq!(
        names(Event::AfterInsert),
        ["audit_listeners::record_insert"]
    );
}

per_backend!(listeners_of_another_crate_run_for_this_crates_models);
