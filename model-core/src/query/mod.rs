//! Layer 5, the queries: the rows of one model that a filter selects, read or changed with
//! every listener that applies. Uses every layer below; writes go through
//! [`crate::write`].
//!
//! `Model::filter` (or `Model::query`, for every row) gives a [`Select`]; its methods read
//! the rows ([`Select::all`], [`Select::first`], [`Select::one`], [`Select::count`],
//! [`Select::exists`], [`Select::stream`]) or change them ([`Select::update`],
//! [`Select::delete`]). Raw SQL reads go through [`Model::from_sql`](crate::Model::from_sql).
//!
//! - `column.rs`: the typed column handles the derive generates, and what they build.
//! - `filter.rs`: the condition tree. `value.rs`: its values, bound on any backend.
//!   `pattern.rs`: text patterns and the case rule of each backend.
//! - `eager.rs`: the children (or parents) of many rows, a query per chunk of keys.
//! - `sql.rs`: the SQL text, for every dialect. `read.rs`, `stream.rs`, `write.rs`: running
//!   it, with listeners.

mod column;
pub(crate) mod eager;
mod filter;
mod listeners;
mod pattern;
mod read;
mod sql;
mod stream;
mod write;

use std::marker::PhantomData;

#[doc(hidden)]
pub use crate::db::rows::ColumnMap;
#[doc(hidden)]
pub use crate::db::value::Value as BindValue;
pub use column::{Assignment, Column, IntoValue, Nullable, Order, Text};
pub use filter::Filter;
pub use listeners::QueryListener;
pub(crate) use listeners::{by_key, fetch};
#[doc(hidden)]
pub use listeners::{shim_query, QueryOf};
#[doc(hidden)]
pub use read::from_row;
pub use read::FromSql;
pub use stream::ModelStream;

use crate::base::error::Error;
use crate::listen::record::Record;
use column::Sort;
use filter::Node;
use sql::Table;

/// The rows of model `M` that a filter selects, in an order, perhaps limited: what
/// `Model::filter` and `Model::query` return. Nothing runs until one of its async methods
/// is awaited.
///
/// ```
/// # use model_core::Model;
/// # #[derive(Model)] struct Post { id: Option<i64>, title: String, views: i64, published: bool }
/// # async fn demo(pool: sqlx::SqlitePool) -> Result<(), model_core::Error> {
/// let top_ten = Post::filter(|p| p.published.eq(true))
///     .order_by(|p| p.views.desc())
///     .limit(10)
///     .all(&pool)
///     .await?;
/// let drafts = Post::filter(|p| p.published.eq(false)).count(&pool).await?;
/// # let _ = (top_ten, drafts); Ok(()) }
/// ```
pub struct Select<M> {
    plan: Plan,
    model: PhantomData<fn() -> M>,
}

/// What a [`Select`] holds, without its model type: building and running its SQL is
/// generic over the backend only.
#[derive(Clone)]
pub(crate) struct Plan {
    filter: Option<Node>,
    order: Vec<Sort>,
    limit: Option<i64>,
    offset: i64,
    /// The row locks a read takes: [`Select::for_update`] and its kin.
    lock: Option<Lock>,
    /// The listener cell of the model, whose `before_query` listeners run on the plan once
    /// ([`Plan::listened`]); `None` once they have.
    listeners: Option<&'static crate::listen::private::Listeners>,
    /// [`Select::option`]s, for those listeners.
    options: Vec<&'static str>,
    /// The rows a `before_query` listener answered the query with ([`Select::answer`]).
    answer: Option<crate::db::rows::Answer>,
}

/// The row locks a locking read takes, and what it does about rows already locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lock {
    /// Shared (`FOR SHARE`) rather than exclusive (`FOR UPDATE`).
    pub(crate) shared: bool,
    pub(crate) locked: Locked,
}

/// What a locking read does about a row another transaction has locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locked {
    /// Waits for it (the backend's lock timeout applies).
    Wait,
    /// Leaves it out: `SKIP LOCKED`.
    Skip,
    /// Fails at once: `NOWAIT`.
    Fail,
}

impl<M: Record> Select<M> {
    pub(crate) fn new(filter: Option<Filter<M>>) -> Self {
        let mut plan = Plan::empty();
        plan.filter = filter.map(|f| f.node);
        plan.listeners = Some(M::__listeners());
        Select {
            plan,
            model: PhantomData,
        }
    }

    /// Narrows the selection: rows that also match `filter`.
    #[must_use]
    pub fn filter(mut self, filter: impl FnOnce(&M::__Columns) -> Filter<M>) -> Self {
        let node = filter(&M::__HANDLES).node;
        self.plan.filter = Some(match self.plan.filter.take() {
            Some(before) => Node::And(Box::new(before), Box::new(node)),
            None => node,
        });
        self
    }

    /// Orders by a column, ascending (`|p| p.title`) or either way (`|p| p.views.desc()`).
    /// Call it again to break ties by another column. The primary key, ascending, always
    /// breaks the last ties, so that the order is total and pages do not overlap; without
    /// `order_by` rows come in primary-key order.
    #[must_use]
    pub fn order_by<O: Into<Order<M>>>(mut self, order: impl FnOnce(&M::__Columns) -> O) -> Self {
        self.plan.order.push(order(&M::__HANDLES).into().sort);
        self
    }

    /// At most `limit` rows.
    #[must_use]
    pub fn limit(mut self, limit: u64) -> Self {
        self.plan.limit = Some(clamp(limit));
        self
    }

    /// Skips the first `offset` rows.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.plan.offset = clamp(offset);
        self
    }

    /// Lowers the limit to `at_most` rows.
    fn at_most(mut self, at_most: i64) -> Self {
        self.plan.limit = Some(self.plan.limit.map_or(at_most, |l| l.min(at_most)));
        self
    }
}

/// Locking reads: the rows a read returns stay locked until its transaction ends, so that
/// what the transaction does with them cannot be undone by a concurrent one (a lost
/// update). Only inside a transaction ([`transaction`](crate::transaction),
/// [`retry`](crate::retry), a listener's connection): outside one, each read commits on its
/// own and its locks end with it. Every read takes them: [`Select::all`],
/// [`Select::first`], [`Select::one`], [`Select::count`], [`Select::exists`] and
/// [`Select::stream`]; set-based [`Select::update`] and [`Select::delete`] lock the rows they
/// change whatever is set here.
///
/// | | PostgreSQL | MySQL/MariaDB | SQLite |
/// |---|---|---|---|
/// | [`for_update`](Select::for_update) | `FOR UPDATE` | `FOR UPDATE` | nothing |
/// | [`for_share`](Select::for_share) | `FOR SHARE` | `LOCK IN SHARE MODE` | nothing |
/// | [`skip_locked`](Select::skip_locked) | `SKIP LOCKED` | `SKIP LOCKED` (MySQL 8, MariaDB 10.6) | nothing |
/// | [`nowait`](Select::nowait) | `NOWAIT` | `NOWAIT` (MySQL 8, MariaDB 10.3) | nothing |
///
/// SQLite has no row locks, and needs none: a [`transaction`](crate::transaction) (and
/// every write) begins `BEGIN IMMEDIATE`, taking the database's one write lock before its
/// first read, so no other writer runs between its read and its write. (A raw
/// `sqlx::Transaction` begins a deferred `BEGIN`: there the read takes no lock.)
///
/// On a Galera cluster row locks are local to the node: a transaction on another node does
/// not wait for them, and the conflict appears at commit, as a retryable error. Run such
/// transactions through [`retry`](crate::retry).
///
/// ```
/// # use model_core::{Dialect, Model};
/// # #[derive(Model)] struct Job { id: Option<i64>, done: bool }
/// let next = Job::filter(|j| j.done.eq(false)).limit(1).for_update().skip_locked();
/// assert_eq!(
///     next.to_sql(Dialect::Postgres),
///     "SELECT \"id\", \"done\" FROM \"job\" WHERE \"done\" = $1 \
///      ORDER BY \"id\" ASC LIMIT $2 OFFSET $3 FOR UPDATE SKIP LOCKED"
/// );
/// ```
impl<M: Record> Select<M> {
    /// Locks the rows read for update (exclusively): another transaction's locking read,
    /// update or delete of them waits until this transaction ends.
    #[must_use]
    pub fn for_update(self) -> Self {
        self.lock(false)
    }

    /// Locks the rows read against changes: others may read and share-lock them too, but
    /// their updates and deletes wait until this transaction ends.
    #[must_use]
    pub fn for_share(self) -> Self {
        self.lock(true)
    }

    /// Leaves out the rows another transaction has locked instead of waiting for them: a job
    /// queue's workers each take rows no other worker holds. Implies
    /// [`for_update`](Select::for_update) unless [`for_share`](Select::for_share) was set.
    #[must_use]
    pub fn skip_locked(self) -> Self {
        self.when_locked(Locked::Skip)
    }

    /// Fails at once (a [retryable](crate::Error::is_retryable) error) instead of waiting
    /// for a row another transaction has locked. Implies [`for_update`](Select::for_update)
    /// unless [`for_share`](Select::for_share) was set.
    #[must_use]
    pub fn nowait(self) -> Self {
        self.when_locked(Locked::Fail)
    }

    fn lock(mut self, shared: bool) -> Self {
        let locked = self.plan.lock.map_or(Locked::Wait, |l| l.locked);
        self.plan.lock = Some(Lock { shared, locked });
        self
    }

    fn when_locked(mut self, locked: Locked) -> Self {
        let shared = self.plan.lock.is_some_and(|l| l.shared);
        self.plan.lock = Some(Lock { shared, locked });
        self
    }
}

impl<M> Clone for Select<M> {
    fn clone(&self) -> Self {
        Select {
            plan: self.plan.clone(),
            model: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Select<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("limit", &self.plan.limit)
            .field("offset", &self.plan.offset)
            .finish_non_exhaustive()
    }
}

/// Every backend takes `LIMIT` and `OFFSET` as a signed 64-bit integer.
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Plan {
    /// Every row, no listener.
    fn empty() -> Plan {
        Plan {
            filter: None,
            order: Vec::new(),
            limit: None,
            offset: 0,
            lock: None,
            listeners: None,
            options: Vec::new(),
            answer: None,
        }
    }

    /// Refuses a value `dialect` cannot compare as given (NaN on SQLite, ...), as a write
    /// refuses it: before any SQL is sent.
    ///
    /// Also refuses, before anything is sent, a pattern no backend can match as written
    /// and a filter with more values than one statement can bind (besides the few a
    /// statement adds: `LIMIT`, `OFFSET`, a stream's last key, a set-based update's
    /// assignments; [`Sql::check_binds`](sql::Sql::check_binds) counts those exactly).
    fn prepare(&mut self, table: Table, dialect: crate::Dialect) -> Result<(), Error> {
        self.listened()?;
        self.unanswered(table.model)?;
        if let Some(node) = &self.filter {
            let limit = crate::base::statements::max_binds(dialect);
            let values = node.bind_count();
            if values > limit {
                return Err(Error::TooManyValues {
                    model: table.model,
                    values,
                    limit,
                });
            }
            node.check_patterns()
                .map_err(|(column, reason)| Error::Value {
                    model: table.model,
                    column: filter::column_name(table, column),
                    reason,
                })?;
        }
        let mut values = Vec::new();
        if let Some(node) = &mut self.filter {
            node.values_mut(&mut values);
        }
        for (column, value) in values {
            value.prepare(dialect).map_err(|reason| Error::Value {
                model: table.model,
                column: filter::column_name(table, column),
                reason,
            })?;
        }
        Ok(())
    }
}
