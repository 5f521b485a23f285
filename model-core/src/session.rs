//! The connection of one write, with its transaction begun only when something needs it.

use sqlx::{Connection as _, Transaction};

use crate::backend::Backend;
use crate::conn::Conn;

/// The connection a write runs on, and its transaction (or savepoint) once begun.
///
/// A write needs a transaction when it is more than one statement, when a listener runs
/// after the statement (and could still veto it), or when an async listener may run SQL of
/// its own. A single statement whose listeners are all synchronous and run before it is
/// atomic on its own: it goes out without `BEGIN`/`COMMIT`, saving two round trips. Async
/// listeners begin the transaction themselves, just before they get the connection, so the
/// decision needs no knowledge of listener types up front.
#[doc(hidden)]
pub struct Session<'c, DB: Backend> {
    state: Option<State<'c, DB>>,
}

enum State<'c, DB: Backend> {
    Plain(&'c mut DB::Connection),
    Transaction(Transaction<'c, DB>),
}

impl<'c, DB: Backend> Session<'c, DB> {
    pub(crate) fn new(conn: &'c mut DB::Connection) -> Self {
        Session {
            state: Some(State::Plain(conn)),
        }
    }

    /// Begins the transaction (a savepoint inside a caller's transaction) unless it is open.
    pub async fn begin(&mut self) -> Result<(), sqlx::Error> {
        if let Some(State::Plain(_)) = self.state {
            let Some(State::Plain(conn)) = self.state.take() else {
                unreachable!("checked above")
            };
            // Inside a caller's transaction `begin` opens a savepoint; `begin_with` is only
            // for the outermost transaction.
            let tx = match DB::DIALECT.begin_write() {
                Some(statement) if !conn.is_in_transaction() => {
                    conn.begin_with(sqlx::SqlStr::from_static(statement))
                        .await?
                }
                _ => conn.begin().await?,
            };
            self.state = Some(State::Transaction(tx));
        }
        Ok(())
    }

    /// The connection, inside the transaction if one was begun.
    pub fn conn(&mut self) -> &mut Conn<DB> {
        match self
            .state
            .as_mut()
            .expect("a session always has a connection")
        {
            State::Plain(conn) => Conn::from_mut(&mut **conn),
            State::Transaction(tx) => Conn::from_mut(&mut **tx),
        }
    }

    /// Whether statements run outside any transaction, each committing on its own.
    pub(crate) fn autocommits(&self) -> bool {
        matches!(&self.state, Some(State::Plain(conn)) if !conn.is_in_transaction())
    }

    /// Commits the transaction if one was begun.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        match self.state.take() {
            Some(State::Transaction(tx)) => tx.commit().await,
            _ => Ok(()),
        }
    }

    /// Rolls the transaction back if one was begun. A failed rollback (a dead connection)
    /// is not reported: nothing was committed either way, and sqlx's `Transaction` still
    /// queues a rollback before the connection is used again.
    pub(crate) async fn rollback(mut self) {
        if let Some(State::Transaction(tx)) = self.state.take() {
            let _ = tx.rollback().await;
        }
    }
}
