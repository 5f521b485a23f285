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

/// The future a [`transaction`] body returns.
pub type TransactionFuture<'t, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 't>>;

/// Runs `body` in one transaction on `db` and commits it if `body` returns `Ok`; every
/// write inside commits or rolls back together, and their `after_*_commit` listeners run
/// after the commit, in order.
///
/// Inside a transaction that is already open (`db` is a transaction, or a listener's
/// [`Conn`]) it is a savepoint, and the after-commit calls wait for the outer commit.
///
/// ```
/// # async fn demo(pool: sqlx::SqlitePool) -> Result<(), model_core::Error> {
/// use model_core::{transaction, Model};
/// # #[derive(Model)] struct Post { id: Option<i64>, title: String }
/// # #[derive(Model)] struct Tag { id: Option<i64>, post_id: i64 }
/// # sqlx::query("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT)").execute(&pool).await.unwrap();
/// # sqlx::query("CREATE TABLE tag (id INTEGER PRIMARY KEY, post_id INTEGER)").execute(&pool).await.unwrap();
///
/// let post_id = transaction(&pool, |conn| {
///     Box::pin(async move {
///         let mut post = Post { id: None, title: "Hello".into() };
///         post.insert(&mut *conn).await?;
///         let mut tag = Tag { id: None, post_id: post.id.unwrap() };
///         tag.insert(&mut *conn).await?;
///         Ok(post.id.unwrap())
///     })
/// })
/// .await?;
/// # let _ = post_id; Ok(()) }
/// ```
pub async fn transaction<'c, A, T, F>(db: A, body: F) -> Result<T, Error>
where
    A: Acquire<'c> + Send,
    A::Database: Backend,
    T: Send,
    F: for<'t> FnOnce(&'t mut Conn<A::Database>) -> TransactionFuture<'t, T> + Send,
{
    const NAME: &str = "transaction";
    let mut conn = db.acquire().await.map_err(|e| Error::from_sqlx(NAME, e))?;
    let owns_transaction = !conn.is_in_transaction();
    let work = async {
        // The outermost transaction begins as a write transaction (SQLite: `BEGIN
        // IMMEDIATE`, see `Dialect::begin_write`), so that a body that reads before it
        // writes queues for the write lock instead of failing with "database is locked".
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
        // On an error the dropped `tx` rolls back.
        let value = body(Conn::from_mut(&mut *tx)).await?;
        tx.commit().await.map_err(|e| Error::from_commit(NAME, e))?;
        Ok(value)
    };
    if owns_transaction {
        outermost(work).await
    } else {
        work.await
    }
}
