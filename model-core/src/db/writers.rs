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

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::{Arc, Mutex};

use sqlx::SqliteConnection;
use tokio::sync::OwnedMutexGuard;

/// One writer's turn at a database file; the next writer's begins when it is dropped.
pub struct Turn {
    _guard: OwnedMutexGuard<()>,
    holder: Holder,
}

/// Who holds a turn: the file and the task.
type Holder = (Arc<str>, Option<tokio::task::Id>);

/// Per database file: its queue. Per held turn: its holder.
#[derive(Default)]
struct Registry {
    queues: HashMap<Arc<str>, Arc<tokio::sync::Mutex<()>>>,
    held: Vec<Holder>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn registry<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    // A panic while holding this lock cannot leave the registry half-changed: every change
    // is one insert or remove.
    let mut guard = REGISTRY.lock().unwrap_or_else(|poison| poison.into_inner());
    f(guard.get_or_insert_with(Registry::default))
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
        if holder.1.is_some() && r.held.contains(&holder) {
            return None;
        }
        Some(r.queues.entry(file).or_default().clone())
    });
    let Some(queue) = queue else {
        return Ok(None);
    };
    let guard = queue.lock_owned().await;
    registry(|r| r.held.push(holder.clone()));
    Ok(Some(Turn {
        _guard: guard,
        holder,
    }))
}

impl Drop for Turn {
    fn drop(&mut self) {
        registry(|r| {
            if let Some(i) = r.held.iter().position(|h| *h == self.holder) {
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
