//! No lost or phantom writes: a write answered `Ok` is stored, a write answered with an error
//! is not (unless the error says its outcome is unknown), and the model after a write holds
//! what a fresh read returns. Faults are real: an immutable file, a full file system, killed
//! server connections, a dropped future.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use model_core::{Backend, Conn, Dialect, Error, Model};
use model_tests::{per_backend, TestBackend, TestDb};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// A note with only a synchronous `before_insert` listener: its insert is one statement sent
/// without `BEGIN`, which commits on its own.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "notes")]
#[listens_for(before_insert, stamp)]
struct Note {
    id: Option<i64>,
    body: String,
    created_at: Option<DateTime<Utc>>,
}

fn stamp(note: &mut Note) {
    note.created_at = Some(Utc::now());
}

fn note(body: &str) -> Note {
    Note {
        id: None,
        body: body.into(),
        created_at: None,
    }
}

/// A fresh directory for one test's SQLite files.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("model-lost-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A SQLite file database set up as the README recommends for a service: WAL,
/// `synchronous = NORMAL`, a busy timeout.
async fn sqlite_file(path: &Path, max_connections: u32) -> SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
        .unwrap()
}

async fn notes_table(pool: &SqlitePool) {
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, created_at TEXT)")
        .execute(pool)
        .await
        .unwrap();
}

async fn sqlite_count(pool: &SqlitePool, body: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE body = ?")
        .bind(body)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Runs a command that must succeed for the fault to be real (root tools: chattr, mount).
fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status();
    match status {
        Ok(status) if status.success() => {}
        other => panic!(
            "`{program} {}` failed ({other:?}): the fault tests run as root (CI does)",
            args.join(" ")
        ),
    }
}

/// Made immutable under a running pool (`chattr +i`, as a full or failing disk would refuse
/// writes), a SQLite database refuses every write: each insert is an error, no row appears
/// afterwards, no key is left on the model, and nothing answers `Ok`. Once the files are
/// writable again the same pool serves writes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commit_on_an_immutable_file_is_an_error_not_a_lost_write() {
    let dir = scratch_dir("immutable");
    let path = dir.join("blog.db");
    let pool = sqlite_file(&path, 2).await;
    notes_table(&pool).await;
    note("first").insert(&pool).await.unwrap();
    // Not the -shm file: SQLite maps it into memory, and a write to a mapped page of an
    // immutable file is a SIGBUS, not an error (the probe froze these two as well).
    let files: Vec<String> = ["", "-wal"]
        .iter()
        .map(|suffix| format!("{}{suffix}", path.display()))
        .filter(|f| Path::new(f).exists())
        .collect();
    let mut args = vec!["+i"];
    args.extend(files.iter().map(String::as_str));
    run("chattr", &args);

    let mut answered_ok = Vec::new();
    for n in 0..20 {
        let mut lost = note(&format!("during{n}"));
        match lost.insert(&pool).await {
            Ok(()) => answered_ok.push(lost.body.clone()),
            Err(error) => {
                assert!(
                    matches!(error, Error::Database { .. }),
                    "a refused write is a database error: {error:?}"
                );
                assert_eq!(lost.id, None, "a failed insert leaves no key behind");
            }
        }
    }
    args[0] = "-i";
    run("chattr", &args);
    for body in &answered_ok {
        assert_eq!(
            sqlite_count(&pool, body).await,
            1,
            "{body} was answered Ok but is not stored"
        );
    }
    assert!(
        answered_ok.is_empty(),
        "writes to an immutable file answered Ok: {answered_ok:?}"
    );

    // The fault is over: the same pool writes again within a second, and keys are not
    // reused.
    let mut after = note("after");
    let mut attempts = 0;
    while let Err(error) = after.insert(&pool).await {
        attempts += 1;
        assert!(
            attempts < 20,
            "no recovery a second after the fault: {error}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sqlite_count(&pool, "after").await, 1);
    assert_eq!(after.id, Some(2), "the failed inserts used no key");
    pool.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A SQLite database on a full file system (a 1 MiB tmpfs filled up): every insert that
/// cannot be stored is an error; every insert answered `Ok` is there once space is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_answers_errors_and_loses_nothing() {
    on_a_small_tmpfs("full", full_disk).await;
}

/// Runs `test` in a fresh directory with a 1 MiB tmpfs mounted on it, unmounted after
/// however `test` ends (its panic goes on after the unmount).
async fn on_a_small_tmpfs<F, Fut>(name: &str, test: F)
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let dir = scratch_dir(name);
    let dir_text = dir.display().to_string();
    run(
        "mount",
        &["-t", "tmpfs", "-o", "size=1m", "tmpfs", &dir_text],
    );
    let result = tokio::spawn(test(dir.clone())).await;
    run("umount", &[&dir_text]);
    std::fs::remove_dir_all(&dir).ok();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// Fills what is left of the file system `dir` is on; returns the filler file, whose
/// removal gives the space back.
fn fill_up(dir: &Path) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let chunk = vec![7u8; 4096];
    let mut file = std::fs::File::create(&filler).unwrap();
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    filler
}

async fn full_disk(dir: PathBuf) {
    let path = dir.join("blog.db");
    let pool = sqlite_file(&path, 1).await;
    notes_table(&pool).await;
    let filler = fill_up(&dir);
    let body = "x".repeat(2000);
    let mut ok = Vec::new();
    let mut failed = 0;
    for n in 0..200 {
        let mut row = note(&format!("{n}:{body}"));
        match row.insert(&pool).await {
            Ok(()) => ok.push(row.body.clone()),
            Err(error) => {
                failed += 1;
                assert_eq!(row.id, None, "a failed insert leaves no key: {error}");
            }
        }
    }
    assert!(failed > 0, "the disk never filled up");
    std::fs::remove_file(&filler).unwrap();
    for body in &ok {
        assert_eq!(
            sqlite_count(&pool, body).await,
            1,
            "answered Ok, not stored"
        );
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        stored as usize,
        ok.len(),
        "a row that was answered with an error is stored"
    );
    note("after").insert(&pool).await.unwrap();
    pool.close().await;
}

/// A note whose inserts run in a transaction of their own (two rows at a time) and report
/// their commits: on a full disk the `COMMIT` itself fails.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "notes")]
#[listens_for(after_insert_commit, count_commit)]
struct CommittedNote {
    id: Option<i64>,
    body: String,
    created_at: Option<DateTime<Utc>>,
}

static COMMITTED: AtomicUsize = AtomicUsize::new(0);

fn count_commit(_: &CommittedNote) {
    COMMITTED.fetch_add(1, Ordering::SeqCst);
}

/// Transactions on a full file system: every batch whose `BEGIN`, statement or `COMMIT`
/// fails is an error with no row stored and no after-commit listener run; every batch
/// answered `Ok` is stored and reported once; and once space is back the pool's one
/// connection writes in transactions again (a failed `COMMIT` leaves it no transaction
/// behind).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_transactions_on_a_full_disk_answer_errors_and_the_pool_recovers() {
    on_a_small_tmpfs("full-tx", full_disk_transactions).await;
}

async fn full_disk_transactions(dir: PathBuf) {
    let path = dir.join("blog.db");
    let pool = sqlite_file(&path, 1).await;
    notes_table(&pool).await;
    let filler = fill_up(&dir);
    let body = "y".repeat(2000);
    let pair = |n: usize| -> Vec<CommittedNote> {
        (0..2)
            .map(|i| CommittedNote {
                id: None,
                body: format!("{n}.{i}:{body}"),
                created_at: None,
            })
            .collect()
    };
    let before = COMMITTED.load(Ordering::SeqCst);
    let (mut ok, mut failed) = (Vec::new(), 0);
    for n in 0..200 {
        let mut rows = pair(n);
        match CommittedNote::insert_all(&mut rows, &pool).await {
            Ok(()) => ok.extend(rows.into_iter().map(|r| r.body)),
            Err(error) => {
                failed += 1;
                assert!(
                    rows.iter().all(|r| r.id.is_none()),
                    "a failed batch leaves no key: {error}"
                );
            }
        }
    }
    assert!(failed > 0, "the disk never filled up");
    assert_eq!(
        COMMITTED.load(Ordering::SeqCst) - before,
        ok.len(),
        "after-commit listeners ran for exactly the rows answered Ok"
    );
    std::fs::remove_file(&filler).unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored as usize, ok.len(), "stored = answered Ok");
    // Space is back: the one connection commits transactions again, and says so.
    let mut rows = pair(1000);
    CommittedNote::insert_all(&mut rows, &pool).await.unwrap();
    assert_eq!(COMMITTED.load(Ordering::SeqCst) - before, ok.len() + 2);
    let in_transaction = {
        use sqlx::Connection as _;
        let mut conn = pool.acquire().await.unwrap();
        conn.ping().await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(left as usize, ok.len() + 2);
        sqlx::Connection::is_in_transaction(&*conn)
    };
    assert!(
        !in_transaction,
        "the pooled connection holds no transaction"
    );
    pool.close().await;
}

/// The table the deferred-key tests write to, with a foreign key checked only at COMMIT.
async fn deferred_schema(pool: &SqlitePool) {
    for sql in [
        "CREATE TABLE parents (id INTEGER PRIMARY KEY)",
        "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL \
         REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
}

#[derive(Debug, Model)]
#[model(table = "children")]
#[listens_for(before_insert, noop)]
struct Child {
    id: Option<i64>,
    parent_id: i64,
}

fn noop(_: &mut Child) {}

/// The probe's reproduction without a file-system trick: a single-statement insert whose
/// deferred foreign key fails when the statement commits. It must be an error, with no row
/// and no key.
#[tokio::test]
async fn sqlite_deferred_foreign_key_failing_at_commit_is_reported() {
    let dir = scratch_dir("deferred");
    let pool = sqlite_file(&dir.join("fk.db"), 1).await;
    deferred_schema(&pool).await;
    let mut child = Child {
        id: None,
        parent_id: 42,
    };
    let error = child.insert(&pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Constraint {
                kind: model_core::ConstraintKind::ForeignKey,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(child.id, None);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM children")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    pool.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// The WAL stays bounded under sustained single inserts and under mixed reads and writes:
/// SQLite's automatic checkpoint must be able to copy it back (no statement left active
/// pins it), so the database file grows and the WAL does not. Reads see every committed
/// write at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_bounded_under_sustained_writes() {
    let dir = scratch_dir("wal");
    let path = dir.join("wal.db");
    // Sustained single inserts on one connection, as the blog's writer does.
    let writer = sqlite_file(&path, 1).await;
    notes_table(&writer).await;
    for n in 0..6_000 {
        note(&format!("note {n}")).insert(&writer).await.unwrap();
    }
    assert_wal_bounded(&path, "single inserts");
    // Mixed reads and writes on four connections.
    let pool = sqlite_file(&path, 4).await;
    for n in 0..6_000 {
        let mut row = note(&format!("mixed {n}"));
        row.insert(&pool).await.unwrap();
        if n % 3 == 0 {
            let read = Note::get(&pool, row.id.unwrap()).await.unwrap();
            assert_eq!(read, row, "a read sees the committed write at once");
        }
        if n % 1000 == 999 {
            let newest = Note::page(&pool, model_core::Page::newest(5))
                .await
                .unwrap();
            assert_eq!(newest[0], row);
        }
    }
    assert_wal_bounded(&path, "mixed reads and writes");
    writer.close().await;
    pool.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

fn assert_wal_bounded(path: &Path, what: &str) {
    let wal = std::fs::metadata(format!("{}-wal", path.display()))
        .unwrap()
        .len();
    let db = std::fs::metadata(path).unwrap().len();
    // The automatic checkpoint runs at 1,000 pages (4 MiB); the WAL is reused from its
    // start after each one, so it stays about that size. 6,000 inserts never copied back
    // are about 25 MB.
    assert!(
        wal < 8 << 20,
        "{what}: the WAL grew to {wal} bytes: it is never checkpointed"
    );
    assert!(
        db > 100 << 10,
        "{what}: the database file stayed at {db} bytes: nothing was copied back"
    );
}

/// `model_core::transaction` on SQLite begins IMMEDIATE: 16 tasks x 20 transactions that
/// each read then insert, on one file and a pool of 10, all succeed (a deferred BEGIN fails
/// about half of them with "database is locked").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_transactions_that_read_then_write_queue_instead_of_failing() {
    let dir = scratch_dir("queue");
    let pool = sqlite_file(&dir.join("queue.db"), 10).await;
    notes_table(&pool).await;
    let mut tasks = Vec::new();
    for task in 0..16 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..20 {
                let label = format!("{task}/{n}");
                model_core::transaction(&pool, |conn| read_then_insert(conn, label))
                    .await
                    .unwrap_or_else(|e| panic!("task {task} transaction {n}: {e} ({e:?})"));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 320);
    pool.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A pool on a fresh SQLite file `name`.db in `dir` (WAL) with a 50 ms busy timeout: short
/// enough that a writer SQLite's busy handler alone leaves waiting fails with "database is
/// locked", where the in-process writer queue makes it wait its turn.
async fn short_busy_timeout_pool(dir: &Path, name: &str, connections: u32) -> SqlitePool {
    let path = dir.join(format!("{name}.db"));
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_millis(50));
    SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .unwrap()
}

/// 32 tasks x 100 single inserts on one SQLite file through the default pool of 10
/// connections: writers of one process take turns, so none of them sees "database is
/// locked", however long the others keep the lock in total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_of_one_process_queue_and_never_see_locked() {
    let dir = scratch_dir("writers");
    // Without the queue, some writer loses every retry in 50 ms.
    let pool = short_busy_timeout_pool(&dir, "writers", 10).await;
    notes_table(&pool).await;
    let mut tasks = Vec::new();
    for task in 0..32 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..100 {
                let mut row = note(&format!("{task}/{n}"));
                if n % 10 == 0 {
                    // Some in a transaction of their own (an after-commit queue, BEGIN).
                    model_core::transaction(&pool, |conn| {
                        Box::pin(async move { row.insert(conn).await })
                    })
                    .await
                } else {
                    row.insert(&pool).await
                }
                .unwrap_or_else(|e| panic!("writer {task}, insert {n}: {e} ({e:?})"));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 3200);
    pool.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A task that has written before still takes its turn: the turn it held ended with its
/// write. Another writer holds the file (its turn and SQLite's write lock) for 300 ms; a task
/// that wrote once already waits for the turn and succeeds, where SQLite's 50 ms busy
/// timeout alone would answer "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_task_that_wrote_before_still_queues() {
    let dir = scratch_dir("requeue");
    let pool = short_busy_timeout_pool(&dir, "requeue", 4).await;
    notes_table(&pool).await;
    let wrote = Arc::new(tokio::sync::Notify::new());
    let go = Arc::new(tokio::sync::Notify::new());
    let writer = {
        let (pool, wrote, go) = (pool.clone(), wrote.clone(), go.clone());
        tokio::spawn(async move {
            note("first").insert(&pool).await.unwrap();
            wrote.notify_one();
            go.notified().await;
            note("second").insert(&pool).await
        })
    };
    wrote.notified().await;
    let holding = Arc::new(tokio::sync::Notify::new());
    let holder = {
        let (pool, holding) = (pool.clone(), holding.clone());
        tokio::spawn(async move {
            model_core::transaction(&pool, |conn| {
                Box::pin(async move {
                    note("holder").insert(&mut *conn).await?;
                    holding.notify_one();
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok::<(), Error>(())
                })
            })
            .await
        })
    };
    holding.notified().await;
    go.notify_one();
    writer
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the second write of a task that wrote before: {e} ({e:?})"));
    holder.await.unwrap().unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 3);
    pool.close().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// Reads the table, then inserts: the pattern that fails on SQLite when a transaction
/// begins deferred (the read's shared lock cannot be upgraded while another writer waits).
fn read_then_insert(
    conn: &mut Conn<sqlx::Sqlite>,
    label: String,
) -> model_core::TransactionFuture<'_, ()> {
    Box::pin(async move {
        let before = Note::all(&mut *conn).await?.len();
        note(&format!("{label}/{before}")).insert(&mut *conn).await
    })
}

/// A model whose `after_insert` listener stalls after the key was set, to be cancelled.
#[derive(Debug, Model)]
#[model(table = "stalls")]
#[listens_for(after_insert, stall)]
struct Stall {
    id: Option<i64>,
    name: String,
}

async fn stall<DB: Backend>(_: &Stall, _: &mut Conn<DB>) -> Result<(), Error> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(())
}

/// A write cancelled (its future dropped by a timeout) after the database generated its key
/// leaves no key on the model: the row does not exist, and the next insert gets that key.
async fn cancelled_insert_clears_its_key<DB: TestBackend>(db: &TestDb<DB>) {
    Stall::create_table(&db.pool).await.unwrap();
    let mut row = Stall {
        id: None,
        name: "cancelled".into(),
    };
    let timed_out = tokio::time::timeout(Duration::from_millis(300), row.insert(&db.pool)).await;
    assert!(timed_out.is_err(), "the insert should have timed out");
    assert_eq!(row.id, None, "a cancelled insert left its key on the model");
    assert_eq!(db.count("stalls").await, 0);
}

/// Every type the backends keep at a lower precision, or with another sign of zero: after
/// insert and update the model equals a fresh read of its row.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "precise")]
struct Precise {
    id: Option<i64>,
    at: DateTime<Utc>,
    naive: NaiveDateTime,
    maybe_at: Option<DateTime<Utc>>,
    zero: f64,
    zero32: f32,
    day: NaiveDate,
}

async fn written_model_equals_a_fresh_read<DB: TestBackend>(db: &TestDb<DB>) {
    Precise::create_table(&db.pool).await.unwrap();
    let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 123_456_789).unwrap();
    let mut row = Precise {
        id: None,
        at,
        naive: at.naive_utc(),
        maybe_at: Some(at),
        zero: -0.0,
        zero32: -0.0,
        day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
    };
    row.insert(&db.pool).await.unwrap();
    let read = Precise::get(&db.pool, row.id.unwrap()).await.unwrap();
    assert_eq!(row, read, "after insert");
    assert_eq!(row.zero.is_sign_negative(), read.zero.is_sign_negative());
    assert_eq!(
        row.zero32.is_sign_negative(),
        read.zero32.is_sign_negative()
    );
    // A timestamp before 1970 and 2000 (the epochs the drivers count from).
    row.at = DateTime::<Utc>::from_timestamp(-1_000_000_000, 999_999_999).unwrap();
    row.naive = row.at.naive_utc();
    row.maybe_at = Some(Utc::now());
    row.update(&db.pool).await.unwrap();
    let read = Precise::get(&db.pool, row.id.unwrap()).await.unwrap();
    assert_eq!(row, read, "after update");
}

/// PostgreSQL text cannot hold NUL: refused before sending, as `Error::Value`, with nothing
/// written. The other backends store it and give it back.
async fn nul_in_text<DB: TestBackend>(db: &TestDb<DB>) {
    Note::create_table(&db.pool).await.unwrap();
    let mut row = note("a\0b");
    let result = row.insert(&db.pool).await;
    if DB::DIALECT == Dialect::Postgres {
        let error = result.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Value {
                    model: "Note",
                    column: "body",
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(db.count("notes").await, 0);
    } else {
        result.unwrap();
        assert_eq!(
            Note::get(&db.pool, row.id.unwrap()).await.unwrap().body,
            "a\0b"
        );
    }
}

/// A row of the storm test, written as a single statement without `BEGIN` (only a
/// synchronous `before_insert` listener).
#[derive(Debug, Model)]
#[model(table = "storm")]
#[listens_for(before_insert, storm_before)]
struct Storm {
    id: Option<i64>,
    body: String,
}

fn storm_before(_: &mut Storm) {}

/// The same row written in a transaction of its own (an `after_insert` listener could
/// still veto it), so the connection can die at `COMMIT`.
#[derive(Debug, Model)]
#[model(table = "storm")]
#[listens_for(after_insert, storm_after)]
struct StormTx {
    id: Option<i64>,
    body: String,
}

fn storm_after(_: &StormTx) {}

/// Under a storm of killed connections (MySQL `KILL`, PostgreSQL `pg_terminate_backend`),
/// every write answered `Ok` is stored, and every write answered with an error other than
/// `Error::OutcomeUnknown` is not. Half the writes are single statements (no `BEGIN`), half
/// transactions, so both ways of committing are hit.
async fn killed_connections_never_lie<DB: TestBackend>(db: &TestDb<DB>) {
    if DB::DIALECT == Dialect::Sqlite {
        return; // No server connection to kill; the file-system faults above cover SQLite.
    }
    Storm::create_table(&db.pool).await.unwrap();
    let pool = sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with((*db.pool.connect_options()).clone())
        .await
        .unwrap();
    let stop = Arc::new(AtomicUsize::new(0));
    let killer = {
        let admin = db.pool.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut kills = 0;
            while stop.load(Ordering::Relaxed) == 0 {
                kills += kill_other_connections(&admin).await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            kills
        })
    };
    let mut writers = Vec::new();
    for task in 0..4 {
        let pool = pool.clone();
        writers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0..150 {
                let body = format!("{task}-{n}");
                let result = if n % 2 == 0 {
                    Storm {
                        id: None,
                        body: body.clone(),
                    }
                    .insert(&pool)
                    .await
                } else {
                    StormTx {
                        id: None,
                        body: body.clone(),
                    }
                    .insert(&pool)
                    .await
                };
                outcomes.push((body, result));
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.extend(writer.await.unwrap());
    }
    stop.store(1, Ordering::Relaxed);
    let kills = killer.await.unwrap();
    assert!(kills > 0, "no connection was killed");
    let (mut ok, mut failed, mut unknown) = (0, 0, 0);
    for (body, result) in &outcomes {
        let stored = count_body(db, body).await;
        match result {
            Ok(()) => {
                ok += 1;
                assert_eq!(stored, 1, "{body} answered Ok but not stored");
            }
            Err(Error::OutcomeUnknown { .. }) => unknown += 1,
            Err(error) => {
                failed += 1;
                assert_eq!(stored, 0, "{body} answered {error:?} but stored");
            }
        }
    }
    eprintln!("{kills} kills: {ok} ok, {failed} failed, {unknown} outcome unknown");
    assert!(
        ok > 0 && failed + unknown > 0,
        "the storm changed nothing: {ok} ok"
    );
    pool.close().await;
}

async fn count_body<DB: TestBackend>(db: &TestDb<DB>, body: &str) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {} = {}",
        db.quote("storm"),
        db.quote("body"),
        DB::DIALECT.placeholder(1)
    );
    let mut conn = db.pool.acquire().await.unwrap();
    let row = Conn::<DB>::from_mut(&mut conn)
        .fetch_optional(DB::bind(
            sqlx::query(sqlx::AssertSqlSafe(sql)),
            &body.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    DB::get::<i64>(&row, 0).unwrap()
}

/// Kills every other connection working on the storm table (PostgreSQL: the database is
/// shared with other tests, so only those whose last query named it) or in the test's own
/// database (MySQL); returns how many.
async fn kill_other_connections<DB: TestBackend>(admin: &sqlx::Pool<DB>) -> usize {
    let Ok(mut conn) = admin.acquire().await else {
        return 0;
    };
    let conn = Conn::<DB>::from_mut(&mut conn);
    let sql = match DB::DIALECT {
        Dialect::Postgres => {
            "SELECT CAST(pid AS BIGINT) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND query LIKE '%\"storm\"%'"
        }
        _ => {
            "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
        }
    };
    let rows = conn.fetch_all(sqlx::query(sql)).await.unwrap_or_default();
    let mut killed = 0;
    for row in rows {
        let id = DB::get::<i64>(&row, 0).unwrap();
        let kill = match DB::DIALECT {
            Dialect::Postgres => format!("SELECT pg_terminate_backend({id})"),
            _ => format!("KILL {id}"),
        };
        if conn
            .execute(sqlx::query(sqlx::AssertSqlSafe(kill)))
            .await
            .is_ok()
        {
            killed += 1;
        }
    }
    killed
}

per_backend!(
    cancelled_insert_clears_its_key,
    written_model_equals_a_fresh_read,
    nul_in_text,
    killed_connections_never_lie
);
