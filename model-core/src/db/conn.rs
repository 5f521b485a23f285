//! The connection a listener is handed.

use std::any::TypeId;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;

use sqlx::{Acquire, Transaction};

use crate::db::backend::{Backend, Query};
use crate::db::scope;

/// The connection a write runs on, inside its transaction, as handed to async listeners.
///
/// Whatever a listener does through it commits or rolls back together with the row: an
/// audit row written here is never left behind by a vetoed or failed write.
///
/// - Other models' operations take it directly: `entry.insert(conn).await?` runs in a
///   savepoint of the same transaction, with that model's own listeners.
/// - [`Conn::execute`] and friends run a query written for any backend; it derefs to the
///   driver's connection (`SqliteConnection`, `PgConnection`, `MySqlConnection`) for anything
///   else sqlx offers.
///
/// ```
/// use model_core::{Backend, Conn};
///
/// async fn count_posts<DB: Backend>(conn: &mut Conn<DB>) -> Result<u64, sqlx::Error> {
///     conn.execute(sqlx::query("UPDATE counters SET n = n + 1")).await
/// }
/// ```
#[repr(transparent)]
pub struct Conn<DB: Backend> {
    raw: DB::Connection,
}

impl<DB: Backend> Conn<DB> {
    /// Views a driver connection as a `Conn`.
    pub fn from_mut(raw: &mut DB::Connection) -> &mut Conn<DB> {
        // SAFETY: `Conn` is `repr(transparent)` over `DB::Connection`, so both have the same
        // layout, and the returned borrow keeps the lifetime and uniqueness of `raw`.
        unsafe { &mut *(raw as *mut DB::Connection as *mut Conn<DB>) }
    }

    /// The SQL dialect of this connection, to pick placeholders or quoting in a listener
    /// that writes its own SQL.
    pub fn dialect(&self) -> crate::Dialect {
        DB::DIALECT
    }

    /// This connection as the driver's own, if it is one of `Other`: `Some` exactly when
    /// `Other` is `DB`. For the part of a listener written for one backend (a `COPY` on
    /// PostgreSQL, a pragma on SQLite): a listener is generic over `DB`, since the derive
    /// calls it for whichever backend the write runs on.
    ///
    /// ```
    /// use model_core::{Backend, Conn};
    ///
    /// async fn audit<DB: Backend>(conn: &mut Conn<DB>) -> Result<(), sqlx::Error> {
    ///     if let Some(pg) = conn.downcast_mut::<sqlx::Postgres>() {
    ///         // `pg` is a `&mut Conn<Postgres>`: it derefs to `PgConnection`.
    ///         pg.execute(sqlx::query("NOTIFY audit")).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn downcast_mut<Other: Backend>(&mut self) -> Option<&mut Conn<Other>> {
        if TypeId::of::<DB>() == TypeId::of::<Other>() {
            // SAFETY: `DB` and `Other` are the same type (their `TypeId`s are equal), so
            // `Conn<DB>` and `Conn<Other>` are too; the borrow keeps its lifetime.
            Some(unsafe { &mut *(self as *mut Conn<DB> as *mut Conn<Other>) })
        } else {
            None
        }
    }

    /// Runs a statement; returns the number of rows it affected.
    ///
    /// Statement listeners ([`crate::on_statement`]) see it, and those of this method's
    /// siblings, as [`Operation::Raw`](crate::Operation::Raw) of the write or read under way.
    pub async fn execute(&mut self, query: Query<'_, DB>) -> Result<u64, sqlx::Error> {
        scope::raw(DB::execute(&mut self.raw, query)).await
    }

    /// Runs a query that returns at most one row.
    pub async fn fetch_optional(
        &mut self,
        query: Query<'_, DB>,
    ) -> Result<Option<DB::Row>, sqlx::Error> {
        scope::raw(DB::fetch_optional(&mut self.raw, query)).await
    }

    /// Runs a query and collects its rows.
    pub async fn fetch_all(&mut self, query: Query<'_, DB>) -> Result<Vec<DB::Row>, sqlx::Error> {
        scope::raw(DB::fetch_all(&mut self.raw, query)).await
    }
}

impl<DB: Backend> Deref for Conn<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.raw
    }
}

impl<DB: Backend> DerefMut for Conn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.raw
    }
}

/// What sqlx's `Acquire` returns.
type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// Lets a listener pass its `&mut Conn` to another model's operations, which then run in a
/// savepoint of the surrounding write's transaction.
impl<'c, DB: Backend> Acquire<'c> for &'c mut Conn<DB> {
    type Database = DB;
    type Connection = &'c mut DB::Connection;

    fn acquire(self) -> BoxFuture<'c, Self::Connection> {
        Box::pin(std::future::ready(Ok(&mut self.raw)))
    }

    fn begin(self) -> BoxFuture<'c, Transaction<'c, DB>> {
        Box::pin(sqlx::Connection::begin(&mut self.raw))
    }
}
