//! `after_*_commit` listeners: held back until the outermost transaction has committed.
//!
//! Whoever begins the outermost transaction (a write on a pool or a plain connection, or
//! [`transaction`]) opens a queue for the task; every write inside it, its listeners' writes
//! included, adds its after-commit calls to that queue once it has succeeded. After the
//! commit the owner runs them in order; after a rollback, an error, a panic or a dropped
//! future the queue is dropped unrun. A write inside a transaction model-core did not begin
//! (a raw `sqlx::Transaction`) cannot know when that commits: a model with after-commit
//! listeners refuses such a write with [`Error::CommitScope`] instead of running them too
//! early or never.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use sqlx::{Acquire, Connection as _};

use crate::backend::Backend;
use crate::conn::Conn;
use crate::error::Error;

/// One after-commit listener call, with the model it is about.
pub type Callback = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

tokio::task_local! {
    static QUEUE: RefCell<Vec<Callback>>;
}

/// Whether a queue is open: some write or [`transaction`] of this task owns the outermost
/// transaction.
pub(crate) fn is_open() -> bool {
    QUEUE.try_with(|_| ()).is_ok()
}

/// Adds calls to the open queue; `false` if none is open.
pub(crate) fn enqueue(add: impl FnOnce(&mut Vec<Callback>)) -> bool {
    QUEUE.try_with(|queue| add(&mut queue.borrow_mut())).is_ok()
}

/// Runs `work`, which owns the outermost transaction, with a queue of its own; once it has
/// succeeded (committed), runs what it queued, one after another, in the order queued. On
/// an error, a panic or a dropped future the queue is dropped unrun.
pub(crate) async fn outermost<T, E, F>(work: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let (result, callbacks) = QUEUE
        .scope(RefCell::new(Vec::new()), async {
            let output = work.await;
            (output, QUEUE.with(RefCell::take))
        })
        .await;
    if result.is_ok() {
        for callback in callbacks {
            callback().await;
        }
    }
    result
}

/// Runs `work`, a savepoint (or a single statement) inside the outermost transaction, so
/// that what it queues stays only if it succeeds. If it fails, or its future is dropped, it
/// was rolled back while the outermost transaction goes on and may commit: the calls it
/// queued (its writes', and those of their listeners' writes) are dropped with it.
pub(crate) async fn savepoint<T, E, F>(work: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut mark = Mark(QUEUE.try_with(|queue| queue.borrow().len()).ok());
    let result = work.await;
    if result.is_ok() {
        mark.0 = None;
    }
    result
}

/// The length of the queue when a savepoint began; dropped while still set, it drops what
/// was queued since. Nested savepoints end before the ones around them, so the calls after
/// the mark are exactly this savepoint's.
struct Mark(Option<usize>);

impl Drop for Mark {
    fn drop(&mut self) {
        if let Some(len) = self.0 {
            let _ = QUEUE.try_with(|queue| queue.borrow_mut().truncate(len));
        }
    }
}

/// The future a [`transaction`] body returns: boxed, so that one closure type can borrow
/// the connection for as long as the body runs (a closure cannot name the lifetime of its
/// argument in an `impl Future` it returns).
pub type TransactionFuture<'t, T, E = Error> =
    Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

/// Runs `body` in one transaction on `db` and commits it if `body` returns `Ok`; every
/// write inside commits or rolls back together, and their `after_*_commit` listeners run
/// after the commit, in order. If `body` returns `Err`, the transaction is rolled back
/// before `transaction` returns that error.
///
/// `db` is anything a model operation takes: a `&Pool`, a `&mut` connection, a `&mut
/// sqlx::Transaction`, a listener's `&mut Conn`, or the `conn` of an enclosing
/// `transaction` body. Inside a transaction that is already open it is a savepoint: rolled
/// back alone on `Err`, committed with the outer transaction, its after-commit listeners run
/// after the outer commit.
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
            match body(Conn::from_mut(&mut *tx)).await {
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
            savepoint(work).await
        }
    }
}
