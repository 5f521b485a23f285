//! Listeners of the transaction itself (issue 27): once per transaction, with the rows it
//! wrote in write order; savepoints reported as they begin, are released or roll back; a
//! `before_commit` veto rolls everything back; a listener's own SQL commits with the rows.
//!
//! Most tests switch their listeners on with `TransactionListeners::scope`, which is
//! task-local: the tests of this binary run at once and do not see each other's
//! transactions. `program_wide_listeners_see_every_transaction` uses `.listen()` and the
//! function-side listener, and looks only at its own model's rows.

use std::sync::{Arc, Mutex};

use model_core::{
    transaction, Backend, Conn, Error, Model, TransactionEvent, TransactionInfo,
    TransactionListeners, Value,
};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, Default, Model)]
#[model(table = "tx_posts")]
struct Post {
    id: Option<i64>,
    title: String,
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "tx_tags")]
struct Tag {
    id: Option<i64>,
    label: String,
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "tx_notes")]
struct Note {
    id: Option<i64>,
    body: String,
}

/// Written only by `program_wide_listeners_see_every_transaction`; its key says which
/// backend wrote it.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "tx_signals")]
struct Signal {
    #[model(primary_key)]
    name: String,
}

/// What a listener saw: the event, the depth, and the rows as `model event key`.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    event: TransactionEvent,
    depth: u32,
    written: Vec<String>,
    undone: Vec<String>,
}

fn rows(rows: &[model_core::WrittenRow]) -> Vec<String> {
    rows.iter()
        .map(|row| format!("{} {} {}", row.model, row.event, row.key))
        .collect()
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Listeners of every event that cannot veto, logging into one list.
fn logging(log: &Log) -> TransactionListeners {
    let mut listeners = TransactionListeners::new();
    for event in TransactionEvent::ALL {
        let log = log.clone();
        listeners = listeners.on(event, move |tx: &TransactionInfo| {
            log.lock().unwrap().push(Seen {
                event: tx.event(),
                depth: tx.depth(),
                written: rows(tx.written()),
                undone: rows(tx.undone()),
            });
        });
    }
    listeners
}

fn events(log: &Log) -> Vec<TransactionEvent> {
    log.lock().unwrap().iter().map(|seen| seen.event).collect()
}

fn last(log: &Log, event: TransactionEvent) -> Seen {
    log.lock()
        .unwrap()
        .iter()
        .rev()
        .find(|seen| seen.event == event)
        .cloned()
        .unwrap_or_else(|| panic!("no {event} in {:?}", events(log)))
}

async fn tables<DB: TestBackend>(db: &TestDb<DB>) {
    Post::create_table(&db.pool).await.unwrap();
    Tag::create_table(&db.pool).await.unwrap();
    Note::create_table(&db.pool).await.unwrap();
}

fn post(title: &str) -> Post {
    Post {
        id: None,
        title: title.to_owned(),
    }
}

/// One transaction writing three models: one `Begin`, one `BeforeCommit` and one
/// `AfterCommit`, each with every row in write order (updates and deletes included).
async fn after_commit_sees_every_row_of_three_models_in_write_order<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    tables(db).await;
    let log = Log::default();
    let keys = logging(&log)
        .scope(transaction(&db.pool, |conn| {
            Box::pin(async move {
                let mut a = post("a");
                a.insert(&mut *conn).await?;
                let mut tag = Tag {
                    id: None,
                    label: "t".into(),
                };
                tag.insert(&mut *conn).await?;
                let mut notes = vec![
                    Note {
                        id: None,
                        body: "n1".into(),
                    },
                    Note {
                        id: None,
                        body: "n2".into(),
                    },
                ];
                Note::insert_all(&mut notes, &mut *conn).await?;
                a.title = "a2".into();
                a.update(&mut *conn).await?;
                tag.delete(&mut *conn).await?;
                Ok::<_, Error>((
                    a.id.unwrap(),
                    tag.id.unwrap(),
                    notes[0].id.unwrap(),
                    notes[1].id.unwrap(),
                ))
            })
        }))
        .await
        .unwrap();
    let (a, tag, n1, n2) = keys;
    let expected = vec![
        format!("Post after_insert {a}"),
        format!("Tag after_insert {tag}"),
        format!("Note after_insert {n1}"),
        format!("Note after_insert {n2}"),
        format!("Post after_update {a}"),
        format!("Tag after_delete {tag}"),
    ];
    assert_eq!(
        events(&log),
        [
            TransactionEvent::Begin,
            TransactionEvent::BeforeCommit,
            TransactionEvent::AfterCommit
        ]
    );
    let committed = last(&log, TransactionEvent::AfterCommit);
    assert_eq!(committed.written, expected);
    assert!(committed.undone.is_empty());
    assert_eq!(last(&log, TransactionEvent::BeforeCommit).written, expected);
    assert_eq!(committed.depth, 0);
}

/// A savepoint rolled back inside a transaction that commits: its rows are reported undone,
/// by `SavepointRollback` and by `AfterCommit`, whose written rows are the others.
async fn a_rolled_back_savepoint_is_undone_and_not_in_after_commit<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    tables(db).await;
    let log = Log::default();
    let kept = logging(&log)
        .scope(transaction(&db.pool, |conn| {
            Box::pin(async move {
                let mut first = post("first");
                first.insert(&mut *conn).await?;
                // Rolled back: the body returns an error after writing.
                let undone = transaction(&mut *conn, |conn| {
                    Box::pin(async move {
                        let mut gone = post("gone");
                        gone.insert(&mut *conn).await?;
                        // Two deep: released into the savepoint that then rolls back.
                        transaction(&mut *conn, |conn| {
                            Box::pin(async move {
                                Note {
                                    id: None,
                                    body: "deep".into(),
                                }
                                .insert(conn)
                                .await?;
                                Ok::<_, Error>(())
                            })
                        })
                        .await?;
                        Err::<(), _>(Error::Unsupported {
                            model: "Post",
                            what: "rolled back on purpose",
                        })
                    })
                })
                .await;
                assert!(undone.is_err());
                let mut second = post("second");
                transaction(&mut *conn, |conn| {
                    Box::pin(async move {
                        second.insert(&mut *conn).await?;
                        Ok::<_, Error>(second.id.unwrap())
                    })
                })
                .await
                .map(|second| (first.id.unwrap(), second))
            })
        }))
        .await
        .unwrap();
    let (first, second) = kept;
    use TransactionEvent::*;
    assert_eq!(
        events(&log),
        [
            Begin,
            SavepointBegin,
            SavepointBegin,
            SavepointRelease,
            SavepointRollback,
            SavepointBegin,
            SavepointRelease,
            BeforeCommit,
            AfterCommit
        ]
    );
    let log_now = log.lock().unwrap().clone();
    assert_eq!(
        (log_now[1].depth, log_now[2].depth),
        (1, 2),
        "nested depths"
    );
    assert_eq!(log_now[3].written.len(), 1, "the inner savepoint's row");
    assert!(log_now[3].written[0].starts_with("Note after_insert"));
    let rolled_back = &log_now[4];
    assert_eq!(rolled_back.depth, 1);
    assert!(rolled_back.written.is_empty());
    assert_eq!(rolled_back.undone.len(), 2, "{rolled_back:?}");
    assert!(rolled_back.undone[0].starts_with("Post after_insert"));
    assert!(rolled_back.undone[1].starts_with("Note after_insert"));
    assert_eq!(log_now[6].written, [format!("Post after_insert {second}")]);
    let committed = last(&log, AfterCommit);
    assert_eq!(
        committed.written,
        [
            format!("Post after_insert {first}"),
            format!("Post after_insert {second}")
        ]
    );
    assert_eq!(committed.undone, rolled_back.undone);
    // What the database holds agrees.
    let titles: Vec<String> = Post::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.title)
        .collect();
    assert_eq!(titles, ["first", "second"]);
    assert_eq!(db.count("tx_notes").await, 0);
}

#[derive(Debug)]
struct Unbalanced;

impl std::fmt::Display for Unbalanced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the books do not balance")
    }
}

impl std::error::Error for Unbalanced {}

/// A `before_commit` veto rolls back every row, and the caller gets the listener's error;
/// `AfterRollback` reports every row undone, `AfterCommit` never runs.
async fn a_before_commit_veto_rolls_back_everything<DB: TestBackend>(db: &TestDb<DB>) {
    tables(db).await;
    let log = Log::default();
    let seen_before = Arc::new(Mutex::new(0usize));
    let counter = seen_before.clone();
    let listeners = logging(&log).before_commit(move |tx: &TransactionInfo| {
        *counter.lock().unwrap() = tx.written().len();
        match tx.written().len() > 1 {
            true => Err(Unbalanced),
            false => Ok(()),
        }
    });
    let error = listeners
        .scope(transaction(&db.pool, |conn| {
            Box::pin(async move {
                post("one").insert(&mut *conn).await?;
                Tag {
                    id: None,
                    label: "two".into(),
                }
                .insert(&mut *conn)
                .await?;
                Ok::<_, Error>(())
            })
        }))
        .await
        .unwrap_err();
    match &error {
        Error::TransactionListener {
            event: TransactionEvent::BeforeCommit,
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    assert!(error.listener_error::<Unbalanced>().is_some(), "{error:?}");
    assert_eq!(*seen_before.lock().unwrap(), 2);
    assert_eq!(db.count("tx_posts").await, 0, "nothing committed");
    assert_eq!(db.count("tx_tags").await, 0, "nothing committed");
    assert!(!events(&log).contains(&TransactionEvent::AfterCommit));
    let rolled_back = last(&log, TransactionEvent::AfterRollback);
    assert_eq!(rolled_back.undone.len(), 2);
    assert!(rolled_back.written.is_empty());

    // A single write owns its transaction: the veto holds there too.
    let error = listeners
        .scope(async {
            let mut lone = post("lone");
            lone.insert(&db.pool).await?;
            let mut more = [post("x"), post("y")];
            Post::insert_all(&mut more, &db.pool).await
        })
        .await
        .unwrap_err();
    assert!(error.listener_error::<Unbalanced>().is_some(), "{error:?}");
    assert_eq!(
        db.count("tx_posts").await,
        1,
        "the lone insert committed; the pair did not"
    );
}

/// A listener that writes in the transaction right before the commit: its row commits with
/// the others, gets reported, and a failing statement of its own vetoes.
async fn a_before_commit_listener_writes_in_the_transaction<DB: TestBackend>(db: &TestDb<DB>) {
    tables(db).await;
    let log = Log::default();
    let listeners =
        logging(&log).before_commit_with::<DB, _>(|conn: &mut Conn<DB>, tx: &TransactionInfo| {
            let count = tx.written().len();
            Box::pin(async move {
                Note {
                    id: None,
                    body: format!("{count} rows"),
                }
                .insert(conn)
                .await?;
                Ok(())
            })
        });
    listeners
        .scope(transaction(&db.pool, |conn| {
            Box::pin(async move {
                post("p").insert(&mut *conn).await?;
                Ok::<_, Error>(())
            })
        }))
        .await
        .unwrap();
    let notes = Note::all(&db.pool).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].body, "1 rows");
    let committed = last(&log, TransactionEvent::AfterCommit);
    assert_eq!(committed.written.len(), 2, "{committed:?}");
    assert!(committed.written[1].starts_with("Note after_insert"));

    // Its statement fails (no such table): the transaction rolls back, the error says who.
    db.exec(&format!("DROP TABLE {}", db.quote("tx_notes")))
        .await;
    let error = listeners
        .scope(async { post("q").insert(&db.pool).await })
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::TransactionListener { .. }),
        "{error:?}"
    );
    assert_eq!(db.count("tx_posts").await, 1, "q was rolled back");
}

/// Writes outside `transaction` are transactions too: a single insert, a batch, a
/// set-based update (whose rows are read so that each is reported), a failed insert.
async fn single_and_set_based_writes_are_reported<DB: TestBackend>(db: &TestDb<DB>) {
    tables(db).await;
    let log = Log::default();
    let listeners = logging(&log);
    let mut lone = post("lone");
    listeners.scope(lone.insert(&db.pool)).await.unwrap();
    let id = lone.id.unwrap();
    assert_eq!(
        last(&log, TransactionEvent::AfterCommit).written,
        [format!("Post after_insert {id}")]
    );
    let mut batch = [post("b1"), post("b2"), post("b3")];
    listeners
        .scope(Post::insert_all(&mut batch, &db.pool))
        .await
        .unwrap();
    assert_eq!(last(&log, TransactionEvent::AfterCommit).written.len(), 3);
    let updated = listeners
        .scope(
            Post::filter(|p| p.title.starts_with("b"))
                .update(|p| [p.title.set("renamed".to_owned())], &db.pool),
        )
        .await
        .unwrap();
    assert_eq!(updated, 3);
    let set_based = last(&log, TransactionEvent::AfterCommit).written;
    let expected: Vec<String> = batch
        .iter()
        .map(|p| format!("Post after_update {}", p.id.unwrap()))
        .collect();
    assert_eq!(set_based, expected);
    let deleted = listeners
        .scope(Post::filter(|p| p.title.eq("renamed")).delete(&db.pool))
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(last(&log, TransactionEvent::AfterCommit).written.len(), 3);

    // A failed insert (the key is taken): rolled back, nothing undone (its statement failed).
    let before = log.lock().unwrap().len();
    let mut clash = Post {
        id: Some(id),
        title: "clash".into(),
    };
    listeners.scope(clash.insert(&db.pool)).await.unwrap_err();
    let after: Vec<TransactionEvent> = log.lock().unwrap()[before..]
        .iter()
        .map(|s| s.event)
        .collect();
    assert_eq!(
        after,
        [TransactionEvent::Begin, TransactionEvent::AfterRollback]
    );
    assert!(last(&log, TransactionEvent::AfterRollback)
        .undone
        .is_empty());
    // Out of the scope: nothing more is reported.
    let before = log.lock().unwrap().len();
    post("unseen").insert(&db.pool).await.unwrap();
    assert_eq!(log.lock().unwrap().len(), before);
}

/// A transaction that writes nothing still begins and commits, and says so with no rows.
async fn a_transaction_that_writes_nothing_is_reported<DB: TestBackend>(db: &TestDb<DB>) {
    tables(db).await;
    let log = Log::default();
    logging(&log)
        .scope(transaction(&db.pool, |conn| {
            Box::pin(async move {
                Post::all(&mut *conn).await?;
                Ok::<_, Error>(())
            })
        }))
        .await
        .unwrap();
    assert_eq!(
        events(&log),
        [
            TransactionEvent::Begin,
            TransactionEvent::BeforeCommit,
            TransactionEvent::AfterCommit
        ]
    );
    assert!(last(&log, TransactionEvent::AfterCommit).written.is_empty());
    logging(&log)
        .scope(transaction(&db.pool, |_conn| {
            Box::pin(async move {
                Err::<(), _>(Error::NotFound {
                    model: "Post",
                    key: "0".into(),
                })
            })
        }))
        .await
        .unwrap_err();
    assert_eq!(events(&log).last(), Some(&TransactionEvent::AfterRollback));
}

/// `begin_with`: SQL right after `BEGIN`, in the transaction, before any row; a single
/// write then runs in a transaction with it; an `Err` writes nothing.
async fn a_begin_listener_runs_sql_first_in_the_transaction<DB: TestBackend>(db: &TestDb<DB>) {
    tables(db).await;
    let log = Log::default();
    let listeners =
        logging(&log).begin_with::<DB, _>(|conn: &mut Conn<DB>, tx: &TransactionInfo| {
            assert_eq!(tx.event(), TransactionEvent::Begin);
            Box::pin(async move {
                Note {
                    id: None,
                    body: "begun".into(),
                }
                .insert(conn)
                .await?;
                Ok(())
            })
        });
    let mut first = post("first");
    listeners.scope(first.insert(&db.pool)).await.unwrap();
    let committed = last(&log, TransactionEvent::AfterCommit);
    assert_eq!(committed.written.len(), 2, "{committed:?}");
    assert!(
        committed.written[0].starts_with("Note after_insert"),
        "{committed:?}"
    );
    assert!(
        committed.written[1].starts_with("Post after_insert"),
        "{committed:?}"
    );
    assert_eq!(
        log.lock().unwrap()[0].event,
        TransactionEvent::Begin,
        "observers first"
    );

    // Its SQL fails (no such table): nothing is written, the caller is told who failed.
    db.exec(&format!("DROP TABLE {}", db.quote("tx_notes")))
        .await;
    let mut second = post("second");
    let error = listeners.scope(second.insert(&db.pool)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::TransactionListener {
                event: TransactionEvent::Begin,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(second.id, None);
    let error = listeners
        .scope(transaction(&db.pool, |conn| {
            Box::pin(async move {
                post("third").insert(&mut *conn).await?;
                Ok::<_, Error>(())
            })
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::TransactionListener { .. }),
        "{error:?}"
    );
    assert_eq!(db.count("tx_posts").await, 1, "only the first post");
}

/// The keys of `Signal` rows committed, as the function-side listener saw them.
static SIGNALS: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[model_core::listens_for(transaction_after_commit)]
fn count_signals(tx: &TransactionInfo) {
    let mut signals = SIGNALS.lock().unwrap();
    for row in tx.written().iter().filter(|row| row.model == "Signal") {
        signals.push(row.key.to_string());
    }
}

/// A function-side `transaction_before_commit` listener that vetoes a signal named "veto".
#[model_core::listens_for(transaction_before_commit)]
fn refuse_veto_signals(tx: &TransactionInfo) -> Result<(), Unbalanced> {
    let vetoed = tx.written().iter().any(|row| {
        row.model == "Signal" && matches!(&row.key, Value::Text(name) if name.ends_with("veto"))
    });
    match vetoed {
        true => Err(Unbalanced),
        false => Ok(()),
    }
}

fn backend<DB: Backend>() -> &'static str {
    match DB::DIALECT {
        model_core::Dialect::Sqlite => "sqlite",
        model_core::Dialect::Postgres => "postgres",
        model_core::Dialect::MySql => "mysql",
    }
}

/// `.listen()` switches listeners on for every transaction, until the handle is dropped;
/// function-side listeners are always on.
async fn program_wide_listeners_see_every_transaction<DB: TestBackend>(db: &TestDb<DB>) {
    Signal::create_table(&db.pool).await.unwrap();
    let name = |suffix: &str| format!("{}-{suffix}", backend::<DB>());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let handle = TransactionListeners::new()
        .after_commit(move |tx| {
            for row in tx.written().iter().filter(|row| row.model == "Signal") {
                sink.lock().unwrap().push(row.key.to_string());
            }
        })
        .listen();
    Signal { name: name("one") }.insert(&db.pool).await.unwrap();
    handle.remove();
    Signal { name: name("two") }.insert(&db.pool).await.unwrap();
    let mine = |list: &[String]| -> Vec<String> {
        list.iter()
            .filter(|key| key.starts_with(backend::<DB>()))
            .cloned()
            .collect()
    };
    assert_eq!(mine(&seen.lock().unwrap()), [name("one")]);

    let vetoed = Signal { name: name("veto") }
        .insert(&db.pool)
        .await
        .unwrap_err();
    match &vetoed {
        Error::TransactionListener { listener, .. } => {
            assert!(listener.ends_with("refuse_veto_signals"), "{listener}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        mine(&SIGNALS.lock().unwrap()),
        [name("one"), name("two")],
        "the function-side listener saw both commits, and not the vetoed one"
    );
    assert_eq!(db.count("tx_signals").await, 2);
}

per_backend!(
    after_commit_sees_every_row_of_three_models_in_write_order,
    a_rolled_back_savepoint_is_undone_and_not_in_after_commit,
    a_before_commit_veto_rolls_back_everything,
    a_before_commit_listener_writes_in_the_transaction,
    single_and_set_based_writes_are_reported,
    program_wide_listeners_see_every_transaction,
    a_transaction_that_writes_nothing_is_reported,
    a_begin_listener_runs_sql_first_in_the_transaction,
);
