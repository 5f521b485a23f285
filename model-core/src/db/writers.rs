//! SQLite's writers of one database file, queued in this process.
//!
//! SQLite lets one connection write at a time. A writer that finds the lock taken waits in
//! SQLite's busy handler, which sleeps and retries: it is not a queue, so under steady
//! contention one writer can lose every retry until its busy timeout runs out and it fails
//! with "database is locked" although every other writer finished in microseconds. Within
//! one process model-core makes the writers of one file take turns instead, first come
//! first served (a `tokio::sync::Mutex` is fair), before they begin: a write then waits only
//! for the writes ahead of it. The busy timeout still applies to locks held by other
//! processes, whose holders model-core cannot see.
//!
//! A turn is taken by whatever begins the outermost transaction (a write on a pool or a
//! connection, or [`crate::transaction`]) and held until it has committed or rolled back.
//! Writes inside it run on its connection and need no turn. A task never waits for a turn
//! it holds itself (say a listener that writes to the same file through a second pool): it
//! goes on to SQLite, which answers it as it would without the queue.
//!
//! Naming the file costs a round trip to the connection's worker thread (sqlx runs each
//! SQLite connection on a thread of its own, and `sqlite3_db_filename` must run while that
//! thread is parked), as long as the statement of a one-row write. So a model's write that
//! finds no other SQLite writer of this process in flight, of any file, takes its turn
//! [alone] without naming its file: every writer that comes after it waits until it
//! has ended, or has named its file, before its own turn. Nobody queued can overtake it in
//! SQLite's busy handler (the flaky "database is locked" of an earlier fast path that let a
//! writer skip the queue while others queued), and a write that comes alone, the common
//! case, pays nothing. The price: for as long as a write alone lasts, writers of other
//! files wait too. A write alone is one statement, with the `before_*` listeners that run
//! synchronously before it; anything longer begins a transaction, and names its file first
//! ([`settle`], from `Session::begin`), before any listener of the user's can wait on
//! something else.

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::{Arc, Mutex};

use sqlx::SqliteConnection;
use tokio::sync::{OwnedMutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::db::backend::{Backend, Dialect};

/// One writer's turn at a database file; the next writer's begins when it is dropped.
pub struct Turn(Kind);

enum Kind {
    /// Taken with no other writer in flight, the file not named: every other writer of
    /// this process waits for it.
    Alone {
        /// Clears the registry's note of it; dropped first.
        alone: AloneMark,
        writers: RwLockWriteGuard<'static, ()>,
    },
    /// The turn at one named file: writers of other files go on beside it.
    Named {
        /// Takes it off the registry's list of held turns; dropped first.
        _held: HeldMark,
        _file: OwnedMutexGuard<()>,
        _writers: RwLockReadGuard<'static, ()>,
    },
}

/// Every writer of this process: a turn alone holds it exclusively, a named turn shared.
/// Alone is only ever tried (`try_write`), never waited for, so a named turn waits only
/// for a write alone that is under way, and never for the next one.
static WRITERS: RwLock<()> = RwLock::const_new(());

/// Who holds a turn: the file and the task.
type Holder = (Arc<str>, Option<tokio::task::Id>);

/// Per database file: its queue. Per held turn: its holder.
#[derive(Default)]
struct Registry {
    queues: HashMap<Arc<str>, Arc<tokio::sync::Mutex<()>>>,
    held: Vec<Holder>,
    /// The task of the turn alone, if one is held by a task.
    alone: Option<tokio::task::Id>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn registry<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    // A panic while holding this lock cannot leave the registry half-changed: every change
    // is one insert, remove or assignment.
    let mut guard = REGISTRY.lock().unwrap_or_else(|poison| poison.into_inner());
    f(guard.get_or_insert_with(Registry::default))
}

/// The turn of a write through a model's method (`write::ops`), which begins the outermost
/// transaction on `conn`: taken [alone] if no other SQLite writer of this process
/// is in flight, else [`turn`]. `None` on PostgreSQL and MySQL.
pub(crate) async fn for_write<DB: Backend>(
    conn: &mut DB::Connection,
) -> Result<Option<Turn>, sqlx::Error> {
    if DB::DIALECT != Dialect::Sqlite {
        return Ok(None);
    }
    match alone() {
        Some(turn) => Ok(Some(turn)),
        None => DB::__writer_turn(conn).await,
    }
}

/// A turn without naming the file, if no other writer holds or waits for one: free, where
/// naming the file is a round trip to the connection's thread. The writer must not wait
/// on anything but its own statement until it has [settled](settle) the turn.
fn alone() -> Option<Turn> {
    let writers = WRITERS.try_write().ok()?;
    let task = tokio::task::try_id();
    registry(|r| r.alone = task);
    Some(Turn(Kind::Alone {
        alone: AloneMark,
        writers,
    }))
}

/// Waits for this task's turn to write to the database file of `conn`. `None` for an
/// in-memory or temporary database (private to its connection), or when this task already
/// holds the turn.
pub(crate) async fn turn(conn: &mut SqliteConnection) -> Result<Option<Turn>, sqlx::Error> {
    let Some(file) = file_name(conn).await? else {
        return Ok(None);
    };
    let holder: Holder = (file.clone(), tokio::task::try_id());
    let queue = registry(|r| {
        // A turn alone of this task: a write of its that was meant to settle first did not
        // (see `alone`); waiting for it would wait forever.
        let own = holder.1.is_some() && (r.held.contains(&holder) || r.alone == holder.1);
        (!own).then(|| r.queues.entry(file).or_default().clone())
    });
    let Some(queue) = queue else {
        return Ok(None);
    };
    // After a write alone that is under way, which may be at this file.
    let writers = WRITERS.read().await;
    let file = queue.lock_owned().await;
    Ok(Some(named(holder, file, writers)))
}

/// Names the file of a turn taken [alone], on the connection it writes on, before
/// the write begins a transaction (`Session::begin`): from then on it is that file's turn,
/// and writers of other files go on. Nothing to do for any other turn.
pub(crate) async fn settle(
    turn: &mut Option<Turn>,
    conn: &mut SqliteConnection,
) -> Result<(), sqlx::Error> {
    if !matches!(turn, Some(Turn(Kind::Alone { .. }))) {
        return Ok(());
    }
    let Some(Turn(Kind::Alone { alone, writers })) = turn.take() else {
        unreachable!("checked above")
    };
    // An error, or an in-memory database, ends the turn: the write fails, or needs none.
    let Some(file) = file_name(conn).await? else {
        return Ok(());
    };
    let queue = registry(|r| r.queues.entry(file.clone()).or_default().clone());
    drop(alone);
    // Nobody holds this file's turn (they would hold `WRITERS` shared); the writers that
    // waited for `WRITERS` may now queue for it too, first come first served.
    let writers = writers.downgrade();
    let file_turn = queue.lock_owned().await;
    *turn = Some(named((file, tokio::task::try_id()), file_turn, writers));
    Ok(())
}

fn named(holder: Holder, file: OwnedMutexGuard<()>, writers: RwLockReadGuard<'static, ()>) -> Turn {
    registry(|r| r.held.push(holder.clone()));
    Turn(Kind::Named {
        _held: HeldMark(holder),
        _file: file,
        _writers: writers,
    })
}

/// Clears the registry's note of the turn alone when it ends.
struct AloneMark;

impl Drop for AloneMark {
    fn drop(&mut self) {
        registry(|r| r.alone = None);
    }
}

/// Takes a named turn off the registry's list when it ends.
struct HeldMark(Holder);

impl Drop for HeldMark {
    fn drop(&mut self) {
        registry(|r| {
            if let Some(i) = r.held.iter().position(|h| *h == self.0) {
                r.held.swap_remove(i);
            }
        });
    }
}

/// The file of the connection's main database, as SQLite resolved it; `None` when it has
/// none (`:memory:`, a temporary database).
async fn file_name(conn: &mut SqliteConnection) -> Result<Option<Arc<str>>, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the open connection, locked for us by `lock_handle` for as long as
    // `handle` lives; `sqlite3_db_filename` only reads it and returns a string owned by
    // the connection (or NULL), which is copied before the lock is released.
    let name = unsafe {
        let name = libsqlite3_sys::sqlite3_db_filename(db, c"main".as_ptr());
        if name.is_null() {
            return Ok(None);
        }
        CStr::from_ptr(name).to_string_lossy().into_owned()
    };
    drop(handle);
    Ok((!name.is_empty()).then(|| Arc::from(name)))
}
