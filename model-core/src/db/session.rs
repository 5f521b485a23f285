//! The connection of one write, with its transaction begun only when something needs it.

use sqlx::{Connection as _, Transaction};

use crate::db::backend::Backend;
use crate::db::conn::Conn;
use crate::db::writers::{self, Turn};

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
    /// The listener state word of the model this session writes or reads, read once
    /// (`events::registry`), with the address of that model's cell: one atomic load per
    /// write, however many listener points it has.
    listeners: Option<(usize, u32)>,
    /// How many cascades deep this write is (`write::cascade`): rows that reference each
    /// other in a circle would otherwise cascade forever.
    cascades: u32,
    /// The SQLite writer's turn of the write that owns the outermost transaction
    /// (`writers`), dropped after `state`: after the commit or the rollback.
    turn: Option<Turn>,
}

enum State<'c, DB: Backend> {
    Plain(&'c mut DB::Connection),
    Transaction(Transaction<'c, DB>),
    /// Inside a transaction someone else commits: `before_commit` listeners, run right
    /// before the outermost `COMMIT`, whose writes commit or roll back with it.
    Within(&'c mut DB::Connection),
}

impl<'c, DB: Backend> Session<'c, DB> {
    pub(crate) fn new(conn: &'c mut DB::Connection) -> Self {
        Session {
            state: Some(State::Plain(conn)),
            listeners: None,
            cascades: 0,
            turn: None,
        }
    }

    /// Holds the writer's turn until the session has committed or rolled back.
    pub(crate) fn hold(&mut self, turn: Option<Turn>) {
        self.turn = turn;
    }

    /// The connection of the outermost transaction, at its commit: the session begins
    /// nothing and commits nothing, its owner commits (or rolls back) the whole.
    pub(crate) fn within(conn: &'c mut DB::Connection) -> Self {
        Session {
            state: Some(State::Within(conn)),
            listeners: None,
            cascades: 0,
            turn: None,
        }
    }

    /// The listener state word cached for the model whose listener cell is at `address`, or
    /// `load`'s, cached: loaded on the first call for a model, then the same value for the
    /// rest of the write, so that a listener registered while a write is under way runs for
    /// all of its points or none (`crate::listen::state_of` is the caller).
    #[inline]
    pub(crate) fn listener_state(&mut self, address: usize, load: impl FnOnce() -> u32) -> u32 {
        match self.listeners {
            Some((of, state)) if of == address => state,
            _ => {
                let state = load();
                self.listeners = Some((address, state));
                state
            }
        }
    }

    /// How many cascades deep the write is: the counter the cascade of a delete raises
    /// while it deletes the children, and lowers after.
    pub(crate) fn cascades(&mut self) -> &mut u32 {
        &mut self.cascades
    }

    /// The driver connection, inside the transaction if one was begun.
    pub(crate) fn connection(&mut self) -> &mut DB::Connection {
        &mut *self.conn()
    }

    /// Begins the transaction (a savepoint inside a caller's transaction) unless it is open.
    pub async fn begin(&mut self) -> Result<(), sqlx::Error> {
        if let Some(State::Plain(_)) = self.state {
            // Boxed: a `BEGIN` is a round trip, and inline its future would make that of
            // every write larger, those that send one statement and nothing else included.
            Box::pin(self.begin_now()).await?;
        }
        Ok(())
    }

    /// [`Session::begin`] of a session that has not begun.
    async fn begin_now(&mut self) -> Result<(), sqlx::Error> {
        if let Some(State::Plain(conn)) = &mut self.state {
            // A SQLite turn taken without naming the file names it now, before an async
            // listener of the user's can wait on anything (`writers::settle`).
            if let Some(sqlite) = Conn::<DB>::from_mut(conn).downcast_mut::<sqlx::Sqlite>() {
                writers::settle(&mut self.turn, sqlite).await?;
            }
        }
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
            State::Plain(conn) | State::Within(conn) => Conn::from_mut(&mut **conn),
            State::Transaction(tx) => Conn::from_mut(&mut **tx),
        }
    }

    /// Whether this session began its transaction (or savepoint).
    pub(crate) fn began(&self) -> bool {
        matches!(self.state, Some(State::Transaction(_)))
    }

    /// Whether statements run outside any transaction, each committing on its own.
    pub(crate) fn autocommits(&self) -> bool {
        matches!(&self.state, Some(State::Plain(conn)) if !conn.is_in_transaction())
    }

    /// Commits the transaction if one was begun. By `&mut`: taken by value, the session
    /// would be held twice in a write's future, by the caller and by this one.
    pub(crate) async fn commit(&mut self) -> Result<(), sqlx::Error> {
        match self.state.take() {
            Some(State::Transaction(tx)) => tx.commit().await,
            _ => Ok(()),
        }
    }

    /// Rolls the transaction back if one was begun. A failed rollback (a dead connection)
    /// is not reported: nothing was committed either way, and sqlx's `Transaction` still
    /// queues a rollback before the connection is used again.
    pub(crate) async fn rollback(&mut self) {
        if let Some(State::Transaction(tx)) = self.state.take() {
            let _ = tx.rollback().await;
        }
    }
}
