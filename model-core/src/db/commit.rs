//! What runs at the end of the outermost transaction: `before_commit` listeners right
//! before its `COMMIT`, `after_*_commit` listeners once it has committed, `after_rollback`
//! listeners once it (or the savepoint a row was written in) has rolled back.
//!
//! Whoever begins the outermost transaction (a write on a pool or a plain connection, a
//! set-based write's per-row path, or [`transaction`]) opens a queue for the task. Every row
//! whose statement runs inside it, a listener's writes included, queues its
//! `before_commit` call and its `after_rollback` calls; every write that succeeds queues
//! its after-commit calls. Right before `COMMIT` the owner runs the `before_commit` calls in
//! order, on its connection, inside the transaction (any of them vetoes the commit; rows they
//! write queue calls of their own, run in the same pass). After the commit it runs the
//! after-commit calls; after a rollback, or a failed commit, the `after_rollback` calls. A
//! savepoint (a write, or a nested [`transaction`]) that fails drops what it queued for the
//! commit, and its rows' `after_rollback` calls run when the outermost transaction ends,
//! committed or not: their rows are rolled back either way. After a panic or a dropped
//! future the queue is dropped unrun.
//!
//! A write inside a transaction model-core did not begin (a raw `sqlx::Transaction`) cannot
//! know when that ends: a model with any of these listeners refuses such a write with
//! [`Error::CommitScope`] instead of running them too early or never.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::{Acquire, Connection as _};

use crate::base::error::Error;
use crate::base::event::TransactionEvent;
use crate::db::backend::Backend;
use crate::db::conn::Conn;
use crate::db::transaction_events::{self as events, Listener, WrittenRow};

/// One after-commit (or after-rollback) listener call, with the model it is about.
pub type Callback = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// One row's `before_commit` listeners, with the row, called with the outermost
/// transaction's connection (the backend's `DB::Connection`, which the call knows).
pub(crate) type BeforeCommit = Box<
    dyn for<'a> FnOnce(
            &'a mut (dyn Any + Send),
        ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>
        + Send,
>;

/// One queued call, and when it runs.
enum Queued {
    /// Right before the commit; with its round: 0 for a row the transaction's own work
    /// wrote, `n + 1` for a row a `before_commit` call of round `n` wrote.
    BeforeCommit(BeforeCommit, u32),
    /// A `BeforeCommit` that has run (or is running).
    Taken,
    /// After the commit.
    Commit(Callback),
    /// After a rollback of the outermost transaction.
    Rollback(Callback),
    /// An after-rollback call whose savepoint was rolled back: runs when the outermost
    /// transaction ends, whatever its outcome.
    RolledBack(Callback),
}

#[derive(Default)]
struct Queue {
    calls: Vec<Queued>,
    /// Where the next `before_commit` call is looked for: the ones before it have run.
    next_before_commit: usize,
    /// The round of the `before_commit` call running now, if one is.
    running_round: Option<u32>,
    /// The listeners of the transaction itself and what they are told; `None` when it has
    /// none ([`events::active`]).
    transaction: Option<Box<Record>>,
}

/// The rows a transaction with listeners of its own wrote, for [`events`].
struct Record {
    listeners: Arc<[Arc<Listener>]>,
    /// Every row whose statement ran, in write order; `true` once undone (its savepoint
    /// rolled back).
    rows: Vec<(WrittenRow, bool)>,
    /// How many nested `transaction` savepoints are open.
    depth: u32,
    /// Whether the `BeforeCommit` listeners of the transaction have run.
    before_commit_ran: bool,
    /// Whether its `Begin` listeners with a connection have run.
    begin_ran: bool,
}

impl Record {
    /// Whether the listeners of `event` that take the connection (`BeforeCommit`'s, or
    /// `Begin`'s registered with `begin_with`) are still to run.
    fn due(&self, event: TransactionEvent) -> bool {
        match event {
            TransactionEvent::Begin => !self.begin_ran && events::has_begin_with(&self.listeners),
            _ => !self.before_commit_ran && events::has_before_commit(&self.listeners),
        }
    }

    /// [`Record::due`], and marks them run.
    fn take(&mut self, event: TransactionEvent) -> bool {
        let due = self.due(event);
        match event {
            TransactionEvent::Begin => self.begin_ran |= due,
            _ => self.before_commit_ran |= due,
        }
        due
    }

    /// The rows from `start` on: those still to commit, and those undone.
    fn split(&self, start: usize) -> (Vec<WrittenRow>, Vec<WrittenRow>) {
        let (mut written, mut undone) = (Vec::new(), Vec::new());
        for (row, gone) in self.rows.get(start..).unwrap_or_default() {
            match gone {
                false => written.push(row.clone()),
                true => undone.push(row.clone()),
            }
        }
        (written, undone)
    }
}

/// How many rounds of `before_commit` calls a commit runs: a listener that writes a row
/// whose own `before_commit` listeners write another, and so on, is stopped there with an
/// error and the transaction rolled back, as SQLAlchemy stops a session after 100 flushes.
pub(crate) const MAX_ROUNDS: u32 = 100;

tokio::task_local! {
    static QUEUE: RefCell<Queue>;
}

/// Whether a queue is open: some write or [`transaction`] of this task owns the outermost
/// transaction.
pub(crate) fn is_open() -> bool {
    QUEUE.try_with(|_| ()).is_ok()
}

/// Adds after-commit calls to the open queue; `false` if none is open.
pub(crate) fn enqueue(add: impl FnOnce(&mut Vec<Callback>)) -> bool {
    enqueue_as(Queued::Commit, add)
}

/// Adds after-rollback calls to the open queue; `false` if none is open.
pub(crate) fn enqueue_rollback(add: impl FnOnce(&mut Vec<Callback>)) -> bool {
    enqueue_as(Queued::Rollback, add)
}

fn enqueue_as(kind: fn(Callback) -> Queued, add: impl FnOnce(&mut Vec<Callback>)) -> bool {
    let mut calls = Vec::new();
    add(&mut calls);
    QUEUE
        .try_with(|queue| queue.borrow_mut().calls.extend(calls.into_iter().map(kind)))
        .is_ok()
}

/// Records a row whose statement ran, for the listeners of the transaction; `row` is
/// called only if the transaction has some.
pub(crate) fn record(row: impl FnOnce() -> WrittenRow) {
    let _ = QUEUE.try_with(|queue| {
        if let Some(record) = queue.borrow_mut().transaction.as_mut() {
            record.rows.push((row(), false));
        }
    });
}

/// Whether the open queue's transaction has listeners that take its connection
/// (`BeforeCommit`'s, `begin_with`'s) still to run: a write that owns it then needs a
/// transaction (not a lone autocommitted statement) to run them in.
pub(crate) fn transaction_listeners_need_a_transaction() -> bool {
    QUEUE
        .try_with(|queue| {
            queue.borrow().transaction.as_ref().is_some_and(|record| {
                record.due(TransactionEvent::Begin) || record.due(TransactionEvent::BeforeCommit)
            })
        })
        .unwrap_or(false)
}

/// Right after the outermost transaction's `BEGIN`, on its connection: runs the
/// transaction's `Begin` listeners with a connection, once.
pub(crate) async fn after_begin<DB: Backend>(conn: &mut DB::Connection) -> Result<(), Error> {
    with_connection(TransactionEvent::Begin, conn)
        .await
        .map(drop)
}

/// Runs the transaction's listeners of `event` that take its connection `conn`, if they
/// are still to run (marking them run); `Ok(false)` if they were not.
async fn with_connection(
    event: TransactionEvent,
    conn: &mut (dyn Any + Send),
) -> Result<bool, Error> {
    let taken = QUEUE
        .try_with(|queue| {
            let mut queue = queue.borrow_mut();
            queue
                .transaction
                .as_mut()
                .is_some_and(|record| record.take(event))
        })
        .unwrap_or(false);
    if !taken {
        return Ok(false);
    }
    if let Some((listeners, info)) = transaction_info(event, 0) {
        // Boxed: this future is part of every write's that owns its transaction, and the
        // transaction's listeners and their rows are held only where there are any.
        Box::pin(async move { events::with_connection(&listeners, conn, &info).await }).await?;
    }
    Ok(true)
}

/// The transaction's listeners, if it has any, and the info of `event` over the rows
/// from `start` on.
fn transaction_info(
    event: TransactionEvent,
    start: usize,
) -> Option<(Arc<[Arc<Listener>]>, events::TransactionInfo)> {
    QUEUE
        .try_with(|queue| {
            let queue = queue.borrow();
            let record = queue.transaction.as_ref()?;
            let (written, undone) = record.split(start);
            let info = events::info(event, record.depth, written, undone);
            Some((record.listeners.clone(), info))
        })
        .ok()
        .flatten()
}

/// Adds a row's `before_commit` call to the open queue; `false` if none is open.
pub(crate) fn enqueue_before_commit(call: BeforeCommit) -> bool {
    QUEUE
        .try_with(|queue| {
            let mut queue = queue.borrow_mut();
            let round = queue.running_round.map_or(0, |r| r.saturating_add(1));
            queue.calls.push(Queued::BeforeCommit(call, round));
        })
        .is_ok()
}

/// The round of the `before_commit` call running now (0 when none is): a call of round
/// [`MAX_ROUNDS`] or more refuses to run its listeners.
pub(crate) fn running_round() -> u32 {
    QUEUE
        .try_with(|queue| queue.borrow().running_round.unwrap_or(0))
        .unwrap_or(0)
}

/// Whether a `before_commit` call, or a `BeforeCommit` listener of the transaction, waits
/// to run.
pub(crate) fn before_commit_pending() -> bool {
    QUEUE
        .try_with(|queue| {
            let queue = queue.borrow();
            let transaction = queue
                .transaction
                .as_ref()
                .is_some_and(|record| record.due(TransactionEvent::BeforeCommit));
            transaction
                || queue.calls[queue.next_before_commit..]
                    .iter()
                    .any(|call| matches!(call, Queued::BeforeCommit(..)))
        })
        .unwrap_or(false)
}

/// Runs the queued `before_commit` calls in order on `conn`, the outermost transaction's
/// connection, right before its `COMMIT`, including those queued by rows that the calls
/// write themselves. The first error stops them: the owner then rolls back.
///
/// Then, once, the `BeforeCommit` listeners of the transaction itself, with every row
/// written so far; the rows they write get their own `before_commit` calls after them.
pub(crate) async fn before_commit<DB: Backend>(conn: &mut DB::Connection) -> Result<(), Error> {
    let mut outcome = Ok(());
    loop {
        while let Some(call) = next_before_commit() {
            outcome = call(&mut *conn).await;
            if outcome.is_err() {
                break;
            }
        }
        let _ = QUEUE.try_with(|queue| queue.borrow_mut().running_round = None);
        if outcome.is_err() || !with_connection(TransactionEvent::BeforeCommit, conn).await? {
            return outcome;
        }
    }
}

fn next_before_commit() -> Option<BeforeCommit> {
    QUEUE
        .try_with(|queue| {
            let mut queue = queue.borrow_mut();
            let start = queue.next_before_commit;
            let found = queue.calls[start..]
                .iter()
                .position(|call| matches!(call, Queued::BeforeCommit(..)));
            let Some(offset) = found else {
                queue.next_before_commit = queue.calls.len();
                return None;
            };
            queue.next_before_commit = start + offset + 1;
            match std::mem::replace(&mut queue.calls[start + offset], Queued::Taken) {
                Queued::BeforeCommit(call, round) => {
                    queue.running_round = Some(round);
                    Some(call)
                }
                _ => unreachable!("found above"),
            }
        })
        .ok()
        .flatten()
}

/// Runs `work`, which owns the outermost transaction, with a queue of its own. Once it has
/// succeeded (committed), runs the after-commit calls it queued; once it has failed (rolled
/// back), the after-rollback calls; either way those of savepoints rolled back inside it.
/// One after another, in the order queued. After a panic or a dropped future the queue is
/// dropped unrun.
pub(crate) async fn outermost<T, E, F>(work: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let transaction = events::active().map(|listeners| {
        let begin = events::info(TransactionEvent::Begin, 0, Vec::new(), Vec::new());
        events::observe(&listeners, &begin);
        Box::new(Record {
            listeners,
            rows: Vec::new(),
            depth: 0,
            before_commit_ran: false,
            begin_ran: false,
        })
    });
    let queue = Queue {
        transaction,
        ..Queue::default()
    };
    let (result, queue) = QUEUE
        .scope(RefCell::new(queue), async {
            let output = work.await;
            (output, QUEUE.with(RefCell::take))
        })
        .await;
    let committed = result.is_ok();
    for call in queue.calls {
        match call {
            Queued::Commit(call) if committed => call().await,
            Queued::Rollback(call) if !committed => call().await,
            Queued::RolledBack(call) => call().await,
            _ => {}
        }
    }
    if let Some(record) = queue.transaction {
        let info = match committed {
            true => {
                let (written, undone) = record.split(0);
                events::info(TransactionEvent::AfterCommit, 0, written, undone)
            }
            false => {
                let undone = record.rows.into_iter().map(|(row, _)| row).collect();
                events::info(TransactionEvent::AfterRollback, 0, Vec::new(), undone)
            }
        };
        events::observe(&record.listeners, &info);
    }
    result
}

/// Runs `work`, a nested [`transaction`]'s savepoint, as [`savepoint`] does, and tells the
/// transaction's listeners of it: `SavepointBegin` before, `SavepointRelease` (with its
/// rows) or `SavepointRollback` (with its rows, undone) after.
async fn nested<T, E, F>(work: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let start = QUEUE
        .try_with(|queue| {
            let mut queue = queue.borrow_mut();
            let record = queue.transaction.as_mut()?;
            record.depth += 1;
            Some(record.rows.len())
        })
        .ok()
        .flatten();
    let Some(start) = start else {
        return savepoint(work).await;
    };
    // Closes the savepoint's depth however `work` ends (a dropped future included).
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            let _ = QUEUE.try_with(|queue| {
                if let Some(record) = queue.borrow_mut().transaction.as_mut() {
                    record.depth = record.depth.saturating_sub(1);
                }
            });
        }
    }
    let depth = Depth;
    tell(TransactionEvent::SavepointBegin, start);
    let result = savepoint(work).await;
    // A savepoint that failed has marked its rows undone (`Mark`): `undone()` has them all.
    match result.is_ok() {
        true => tell(TransactionEvent::SavepointRelease, start),
        false => tell(TransactionEvent::SavepointRollback, start),
    }
    drop(depth);
    result
}

/// Calls the transaction's listeners of `event` (one that cannot veto) with the rows from
/// `start` on.
fn tell(event: TransactionEvent, start: usize) {
    if let Some((listeners, info)) = transaction_info(event, start) {
        events::observe(&listeners, &info);
    }
}

/// Runs `work`, a savepoint (or a single statement) inside the outermost transaction, so
/// that what it queued for the commit stays only if it succeeds. If it fails, or its future
/// is dropped, it was rolled back while the outermost transaction goes on and may commit:
/// the commit calls it queued (its writes', and those of their listeners' writes) are
/// dropped, and its rows' after-rollback calls will run whatever the outermost transaction
/// does.
pub(crate) async fn savepoint<T, E, F>(work: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut mark = Mark(
        QUEUE
            .try_with(|queue| {
                let queue = queue.borrow();
                let rows = queue.transaction.as_ref().map_or(0, |r| r.rows.len());
                (queue.calls.len(), rows)
            })
            .ok(),
    );
    let result = work.await;
    if result.is_ok() {
        mark.0 = None;
    }
    result
}

/// The length of the queue (and of the transaction's record of rows) when a savepoint
/// began; dropped while still set, it settles what was queued since as rolled back, and the
/// rows recorded since as undone. Nested savepoints end before the ones around them, so
/// the calls after the mark are exactly this savepoint's.
struct Mark(Option<(usize, usize)>);

impl Drop for Mark {
    fn drop(&mut self) {
        if let Some((len, rows)) = self.0 {
            let _ = QUEUE.try_with(|queue| {
                let mut queue = queue.borrow_mut();
                if let Some(record) = queue.transaction.as_mut() {
                    for (_, undone) in record.rows.iter_mut().skip(rows) {
                        *undone = true;
                    }
                }
                let since = queue.calls.split_off(len);
                queue
                    .calls
                    .extend(since.into_iter().filter_map(|call| match call {
                        Queued::Rollback(call) | Queued::RolledBack(call) => {
                            Some(Queued::RolledBack(call))
                        }
                        Queued::BeforeCommit(..) | Queued::Taken | Queued::Commit(_) => None,
                    }));
                queue.next_before_commit = queue.next_before_commit.min(queue.calls.len());
            });
        }
    }
}

/// The future a [`transaction`] body returns: boxed, so that one closure type can borrow
/// the connection for as long as the body runs (a closure cannot name the lifetime of its
/// argument in an `impl Future` it returns).
pub type TransactionFuture<'t, T, E = Error> =
    Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

/// Runs `body` in one transaction on `db` and commits it if `body` returns `Ok`; every
/// write inside commits or rolls back together. The `before_commit` listeners of the rows
/// written run right before the commit, inside the transaction (an `Err` from one rolls it
/// back and is returned); their `after_*_commit` listeners run after the commit, in order.
/// If `body` returns `Err`, the transaction is rolled back before `transaction` returns that
/// error, and the rows' `after_rollback` listeners run.
///
/// `db` is anything a model operation takes: a `&Pool`, a `&mut` connection, a `&mut
/// sqlx::Transaction`, a listener's `&mut Conn`, or the `conn` of an enclosing
/// `transaction` body. Inside a transaction that is already open it is a savepoint: rolled
/// back alone on `Err` (its rows' `after_rollback` listeners then run when the outermost
/// transaction ends), committed with the outer transaction, its `before_commit` and
/// after-commit listeners run at the outer commit.
///
/// The body's error type `E` is yours: anything a [`model_core::Error`](Error) converts into,
/// so that `?` works on both the model operations and your own checks. Rust infers it from
/// where the result goes; when nothing says (`.unwrap()`, or `?` into a function's error,
/// which could be any type `E` converts into), name it, `Ok::<_, AppError>(value)`, as with
/// sqlx's `Connection::transaction`.
///
/// ```
/// use model_core::{transaction, Model};
/// # #[derive(Model)] struct Post { id: Option<i64>, title: String }
/// # #[derive(Model)] struct Tag { id: Option<i64>, post_id: i64 }
///
/// #[derive(Debug)]
/// enum AppError {
///     Db(model_core::Error),
///     TitleTaken,
/// }
///
/// impl From<model_core::Error> for AppError {
///     fn from(error: model_core::Error) -> Self {
///         AppError::Db(error)
///     }
/// }
///
/// # async fn demo(pool: sqlx::SqlitePool) -> Result<(), AppError> {
/// # sqlx::query("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT)").execute(&pool).await.unwrap();
/// # sqlx::query("CREATE TABLE tag (id INTEGER PRIMARY KEY, post_id INTEGER)").execute(&pool).await.unwrap();
/// let post_id = transaction(&pool, |conn| {
///     Box::pin(async move {
///         let mut post = Post { id: None, title: "Hello".into() };
///         post.insert(&mut *conn).await?;
///         if Post::all(&mut *conn).await?.len() > 1 {
///             return Err(AppError::TitleTaken); // rolls back the insert
///         }
///         // A savepoint: rolled back alone if it fails, committed with the rest.
///         let post_id = post.id.unwrap();
///         transaction(&mut *conn, |conn| {
///             Box::pin(async move {
///                 Tag { id: None, post_id }.insert(conn).await?;
///                 Ok::<_, AppError>(())
///             })
///         })
///         .await?;
///         Ok(post_id)
///     })
/// })
/// .await?;
/// # let _ = post_id; Ok(()) }
/// ```
// Not an `async fn`: see the comment in the body.
#[allow(clippy::manual_async_fn)]
pub fn transaction<'c, A, T, E, F>(
    db: A,
    body: F,
) -> impl Future<Output = Result<T, E>> + Send + use<'c, A, T, E, F>
where
    A: Acquire<'c> + Send,
    A::Database: Backend,
    T: Send,
    E: From<Error> + Send,
    F: for<'t> FnOnce(&'t mut Conn<A::Database>) -> TransactionFuture<'t, T, E> + Send,
{
    // A plain `fn` returning a future declared `Send`, not an `async fn`: the compiler then
    // checks `Send` here, once, for every `'c`. Checked where an `async fn` is awaited (a
    // listener, another `transaction` body), `Acquire<'c>` for one `'c` is "not general
    // enough" (rust-lang/rust#64552).
    async move {
        const NAME: &str = "transaction";
        let mut conn = db.acquire().await.map_err(|e| Error::from_sqlx(NAME, e))?;
        let owns_transaction = !conn.is_in_transaction();
        let work = async {
            // The outermost transaction begins as a write transaction (SQLite: `BEGIN
            // IMMEDIATE`, see `Dialect::begin_write`), so that a body that reads before it
            // writes queues for the write lock instead of failing with "database is locked".
            // It first waits for this process's earlier writers of the file (`writers`).
            let _turn = match owns_transaction {
                true => <A::Database as Backend>::__writer_turn(&mut conn)
                    .await
                    .map_err(|e| Error::from_sqlx(NAME, e))?,
                false => None,
            };
            let begun = match <A::Database as Backend>::DIALECT.begin_write() {
                Some(statement) if owns_transaction => {
                    conn.begin_with(sqlx::SqlStr::from_static(statement)).await
                }
                _ => conn.begin().await,
            };
            let mut tx = begun.map_err(|e| Error::from_sqlx(NAME, e))?;
            // Right after `BEGIN`: the transaction's listeners that set it up.
            let begun = match owns_transaction {
                true => after_begin::<A::Database>(&mut *tx).await,
                false => Ok(()),
            };
            let mut result = match begun {
                Ok(()) => body(Conn::from_mut(&mut *tx)).await,
                Err(error) => Err(E::from(error)),
            };
            if owns_transaction && result.is_ok() {
                // Inside the transaction, right before its commit: a veto rolls it back.
                if let Err(error) = before_commit::<A::Database>(&mut *tx).await {
                    result = Err(E::from(error));
                }
            }
            match result {
                Ok(value) => {
                    tx.commit().await.map_err(|e| Error::from_commit(NAME, e))?;
                    Ok(value)
                }
                Err(error) => {
                    // Rolled back now, while this writer still holds its turn: dropped, `tx`
                    // would only queue the rollback for the connection's next use. A failed
                    // rollback (a dead connection) committed nothing either.
                    let _ = tx.rollback().await;
                    Err(error)
                }
            }
        };
        if owns_transaction {
            outermost(work).await
        } else {
            nested(work).await
        }
    }
}
