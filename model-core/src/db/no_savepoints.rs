//! Layer 2, the database: a transaction whose one-statement writes take no savepoint of
//! their own ([`transaction_without_savepoints`]). Uses [`crate::base`] and
//! [`crate::db::commit`].
//!
//! On PostgreSQL a failed statement aborts the whole transaction: every statement after it
//! fails, and `COMMIT` answers `ROLLBACK` without an error. So a write inside a transaction
//! it did not begin runs in a savepoint there (`SAVEPOINT`, the statement, `RELEASE`: three
//! round trips for one), and a caller that handles its error can go on and commit the rest.
//! A transaction model-core begins can instead refuse its own commit: the writes of a body
//! run here go without that savepoint, the first that fails at the database is noted, and
//! a call queued ahead of every `before_commit` listener refuses the commit with
//! [`Error::TransactionAborted`], which rolls the transaction back. A `0` address marks
//! the time outside the body, where nothing changes.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use sqlx::Acquire;

use crate::base::error::Error;
use crate::db::backend::Backend;
use crate::db::commit::{self, transaction, BeforeCommit, Callback, TransactionFuture};
use crate::db::conn::Conn;

tokio::task_local! {
    /// The [`transaction_without_savepoints`] this task runs.
    static BODY: Body;
}

struct Body {
    shared: Arc<Shared>,
    /// Writes on its connection under way: a write inside another (a listener's) keeps its
    /// savepoint, as the listener may handle its failure and go on.
    writing: Cell<u32>,
}

/// What the body's writes and the calls queued for its end share.
struct Shared {
    /// The address of the transaction's connection while the body runs (0 before and
    /// after): writes on it go without their savepoint. It cannot move while the body runs,
    /// which borrows it for that long.
    conn: AtomicUsize,
    /// The model of the first write on it that failed at the database without a savepoint,
    /// or was dropped before it ended.
    failed: OnceLock<&'static str>,
}

/// Runs `body` in one transaction on `db`, as [`transaction`] does, except that on
/// PostgreSQL a write of one statement in it (`insert`, `update` or `delete` of one row
/// whose listeners all run synchronously before it) takes no savepoint of its own: one round
/// trip instead of three, the speed of the same statements written by hand.
///
/// The price: a write that fails at the database (a constraint, a lost connection; not a
/// listener's veto) aborts the whole transaction, as any failed statement does on
/// PostgreSQL. The write returns its error as usual and the statements after it fail with
/// "current transaction is aborted"; if the body still returns `Ok`, the transaction is
/// rolled back and the call returns [`Error::TransactionAborted`] instead of a commit that
/// did not happen. Nothing of it is written. A write cancelled half-way (its future
/// dropped) counts as failed. A body that returns every error with `?` sees no difference;
/// use [`transaction`] where the body handles a failed write and goes on (a duplicate it
/// skips, say). That includes a nested [`transaction`] in the body: a failed write in it
/// refuses the outer commit too, even if the nested one rolled back. Writes of listeners,
/// on another connection, or in a transaction model-core did not begin keep their
/// savepoints.
///
/// On SQLite and MySQL a failed statement is undone alone and the transaction stays
/// usable, with or without savepoints: there this is [`transaction`].
///
/// ```
/// # use model_core::{transaction_without_savepoints, Model};
/// # #[derive(Debug, Model)]
/// # #[model(table = "readings")]
/// # struct Reading { id: Option<i64>, value: f64 }
/// # async fn demo(pool: sqlx::PgPool, values: Vec<f64>) -> Result<(), model_core::Error> {
/// transaction_without_savepoints(&pool, |conn| {
///     Box::pin(async move {
///         for value in values {
///             Reading { id: None, value }.insert(&mut *conn).await?;
///         }
///         Ok::<_, model_core::Error>(())
///     })
/// })
/// .await
/// # }
/// ```
pub fn transaction_without_savepoints<'c, A, T, E, F>(
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
    let shared = Arc::new(Shared {
        conn: AtomicUsize::new(0),
        failed: OnceLock::new(),
    });
    let body_state = Body {
        shared: shared.clone(),
        writing: Cell::new(0),
    };
    // The scope is around the whole transaction, not just the body's future: a future
    // that holds a `T` or an `E` in a body's `'t` would need them to be `'static`. The
    // body's end is marked by the calls queued as it begins.
    BODY.scope(
        body_state,
        transaction(db, move |conn| {
            shared.conn.store(address(&**conn), Ordering::Relaxed);
            commit::enqueue_before_commit(refusal(shared.clone()));
            commit::enqueue_rollback(|calls| calls.push(ended(shared)));
            body(conn)
        }),
    )
}

/// The `before_commit` call that ends the body and refuses the commit if a write of it
/// failed. Queued as the body begins, it runs before the `before_commit` listeners of its
/// rows, which would only meet an aborted transaction, and whose writes keep their
/// savepoints. Nested in another transaction it waits for the outermost commit; there a
/// failed write has already made the savepoint's `RELEASE` fail, which refuses the nested
/// commit (and drops the call).
fn refusal(shared: Arc<Shared>) -> BeforeCommit {
    Box::new(move |_conn| {
        shared.conn.store(0, Ordering::Relaxed);
        Box::pin(async move {
            match shared.failed.get() {
                Some(&model) => Err(Error::TransactionAborted { model }),
                None => Ok(()),
            }
        })
    })
}

/// The after-rollback call that ends the body: the `after_rollback` listeners after it
/// write as anywhere else.
fn ended(shared: Arc<Shared>) -> Callback {
    Box::new(move || {
        shared.conn.store(0, Ordering::Relaxed);
        Box::pin(std::future::ready(()))
    })
}

/// A write on the connection of the body of a [`transaction_without_savepoints`].
pub(crate) struct BodyWrite {
    model: &'static str,
    /// It goes without its savepoint.
    unguarded: bool,
    /// Dropped now, it counts as failed: unguarded, and not ended well.
    armed: bool,
}

impl BodyWrite {
    /// `Some` if `conn` is the connection of the body of a
    /// [`transaction_without_savepoints`] running in this task. The write goes without its
    /// savepoint if it is `one_statement` and not inside another write on it.
    pub(crate) fn of<C>(conn: &C, model: &'static str, one_statement: bool) -> Option<BodyWrite> {
        BODY.try_with(|body| {
            let on_it = body.shared.conn.load(Ordering::Relaxed) == address(conn);
            on_it.then(|| {
                let inside_another = body.writing.get() > 0;
                body.writing.set(body.writing.get() + 1);
                let unguarded = one_statement && !inside_another;
                BodyWrite {
                    model,
                    unguarded,
                    armed: unguarded,
                }
            })
        })
        .ok()
        .flatten()
    }

    /// Whether the write goes without its savepoint.
    pub(crate) fn unguarded(&self) -> bool {
        self.unguarded
    }

    /// The write ended with `result`; `began` if it opened a savepoint after all (an async
    /// listener's), which undid it if it failed.
    pub(crate) fn ended(mut self, result: &Result<(), Error>, began: bool) {
        self.armed = self.unguarded && !began && result.as_ref().is_err_and(aborts);
    }
}

impl Drop for BodyWrite {
    fn drop(&mut self) {
        let _ = BODY.try_with(|body| {
            body.writing.set(body.writing.get().saturating_sub(1));
            if self.armed {
                let _ = body.shared.failed.set(self.model);
            }
        });
    }
}

/// Whether a write that failed with `error` failed at the database, while its statement
/// ran: on PostgreSQL that aborts the transaction. A listener's veto, a value refused before
/// anything was sent, a row an `UPDATE` did not find, a returned row that did not decode do
/// not.
fn aborts(error: &Error) -> bool {
    match error {
        Error::Constraint { .. } => true,
        Error::Database { source, .. } => !matches!(
            source,
            sqlx::Error::Encode(_) | sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. }
        ),
        _ => false,
    }
}

fn address<C>(conn: &C) -> usize {
    conn as *const C as usize
}
