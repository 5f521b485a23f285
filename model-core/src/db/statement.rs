//! Layer 2, statement events: SQLAlchemy's `before_cursor_execute` and
//! `after_cursor_execute`. Every statement model-core sends goes through one of
//! [`Backend`](crate::Backend)'s methods, and each of them through [`sent`]: the one place
//! that tells statement listeners ([`crate::on_statement`]) and `tracing` about it. Uses
//! [`crate::base`] and the write or read under way ([`crate::db::scope`]).
//!
//! `BEGIN`, `COMMIT`, `ROLLBACK` and savepoints are not statements here: they are the
//! transaction's, and sqlx sends them itself.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sqlx::database::HasStatementCache;
use sqlx::{Database, Execute as _, IntoArguments, SqlStr, Statement as _};

use crate::base::dialect::{Dialect, Query};
use crate::db::scope::{self, Operation};

/// One statement model-core sends, as [`on_statement`](crate::on_statement) listeners see
/// it: once before it is sent ([`StatementPhase::Before`]) and once when it is answered
/// ([`StatementPhase::After`]), in the order the statements go out. That includes the
/// statements of the writes a listener makes through model-core (an audit row an
/// `after_insert` listener inserts), inside those of the write that called the listener.
///
/// The SQL is the text as sent, with its placeholders: **bound values are never part of
/// it**, nor of anything else here, except what a database puts in an error message (MySQL
/// quotes a duplicate key's value in its message, for one).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct StatementEvent<'a> {
    /// The SQL, placeholders and all (`INSERT INTO "posts" ("title") VALUES ($1)`).
    pub sql: &'a str,
    /// The model whose write or read sent it (`"Post"`); `None` only for SQL of your own
    /// sent through a [`Conn`](crate::Conn) outside any write or read.
    pub model: Option<&'static str>,
    /// What model-core was doing.
    pub operation: Operation,
    /// The database it went to.
    pub dialect: Dialect,
    /// Before or after, and how it went.
    pub phase: StatementPhase<'a>,
}

/// Whether a [`StatementEvent`] is before its statement is sent or after it is answered.
#[derive(Debug, Clone, Copy)]
pub enum StatementPhase<'a> {
    /// About to be sent.
    Before,
    /// Answered.
    After {
        /// From just before it was sent until its answer was read in full.
        elapsed: Duration,
        /// The rows it affected (matched, on MySQL) or returned, or its error.
        result: Result<u64, &'a sqlx::Error>,
    },
}

/// A statement listener, as [`on_statement`](crate::on_statement) registers it.
pub(crate) type Listener = Arc<dyn Fn(&StatementEvent<'_>) + Send + Sync>;

/// One version of the registered listeners, with their ids.
type Listeners = Arc<Vec<(u64, Listener)>>;

/// The listeners, copied on write: a statement clones the `Arc` under the read lock and
/// calls them without it, so a listener may register or remove listeners.
static LISTENERS: RwLock<Option<Listeners>> = RwLock::new(None);
/// Whether [`LISTENERS`] has any: the one load a statement pays when none is registered.
static LISTENING: AtomicBool = AtomicBool::new(false);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Registers a statement listener; returns its id, for [`remove`].
pub(crate) fn add(listener: Listener) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    change(|list| list.push((id, listener)));
    id
}

/// Removes the statement listener `add` returned `id` for.
pub(crate) fn remove(id: u64) {
    change(|list| list.retain(|(of, _)| *of != id));
}

fn change(change: impl FnOnce(&mut Vec<(u64, Listener)>)) {
    let mut listeners = LISTENERS.write().unwrap_or_else(PoisonError::into_inner);
    let mut list: Vec<_> = listeners.as_deref().cloned().unwrap_or_default();
    change(&mut list);
    LISTENING.store(!list.is_empty(), Ordering::Relaxed);
    *listeners = (!list.is_empty()).then(|| Arc::new(list));
}

fn snapshot() -> Option<Listeners> {
    LISTENERS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Sends `query` with `send`, telling statement listeners and `tracing` (a `debug` event of
/// target `model_core::statement`, inside the span of the write or read) before and after;
/// `rows` counts what the statement affected or returned.
///
/// With no statement listener and no subscriber that wants those events, it is `send(query)`
/// after one relaxed atomic load and `tracing`'s level check (one more).
pub(crate) async fn sent<'q, DB, T, F, Fut>(
    dialect: Dialect,
    query: Query<'q, DB>,
    rows: fn(&T) -> u64,
    send: F,
) -> Result<T, sqlx::Error>
where
    DB: Database + HasStatementCache,
    DB::Arguments: IntoArguments<DB>,
    F: FnOnce(Query<'q, DB>) -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let listeners = match LISTENING.load(Ordering::Relaxed) {
        true => snapshot(),
        false => None,
    };
    let traced = tracing::enabled!(target: "model_core::statement", tracing::Level::DEBUG);
    if listeners.is_none() && !traced {
        return send(query).await;
    }
    let context = scope::current();
    let event = |sql, phase| StatementEvent {
        sql,
        model: context.model,
        operation: context.operation,
        dialect,
        phase,
    };
    let (sql, query) = text_of(query);
    let call = |phase| {
        for (_, listener) in listeners.iter().flat_map(|l| l.iter()) {
            listener(&event(sql.as_str(), phase));
        }
    };
    call(StatementPhase::Before);
    let start = Instant::now();
    let result = match query {
        Ok(query) => send(query).await,
        // A value that failed to bind: sqlx would refuse it the same way, unsent.
        Err(error) => Err(sqlx::Error::Encode(error)),
    };
    let elapsed = start.elapsed();
    let outcome = result.as_ref().map(rows);
    call(StatementPhase::After {
        elapsed,
        result: outcome,
    });
    if traced {
        tracing::debug!(
            target: "model_core::statement",
            sql = sql.as_str(),
            model = context.model,
            operation = context.operation.name(),
            rows = outcome.ok(),
            elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            outcome = if outcome.is_ok() { "ok" } else { "error" },
            "statement"
        );
    }
    result
}

/// The statement's text, and the query to send. sqlx hands the text out only by consuming
/// the query (`Execute::sql`), so the query is taken apart and built again with the same
/// arguments: no copy of a `&'static str` statement (a model's own), one of a built one.
/// A bind that failed is the `Err`.
fn text_of<DB: Database + HasStatementCache>(
    mut query: Query<'_, DB>,
) -> (SqlStr, Result<Query<'_, DB>, sqlx::error::BoxDynError>)
where
    DB::Arguments: IntoArguments<DB>,
{
    if let Some(statement) = query.statement() {
        return (statement.sql().clone(), Ok(query));
    }
    let persistent = sqlx::Execute::persistent(&query);
    let arguments = query.take_arguments();
    let sql = query.sql();
    let query = arguments.map(|arguments| {
        sqlx::query_with(sql.clone(), arguments.unwrap_or_default()).persistent(persistent)
    });
    (sql, query)
}
