//! The one error type of every operation.

use std::error::Error as StdError;
use std::fmt;

use crate::base::event::{Event, TransactionEvent};

/// A listener's own error, boxed as it was returned: downcast it to get it back.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why an operation failed. When an operation returns it, nothing of that operation was
/// written: not the row, not what its listeners wrote.
///
/// ```
/// # use model_core::{ConstraintKind, Error};
/// fn explain(error: &Error) -> &'static str {
///     match error {
///         Error::Listener { .. } => "a listener refused the write",
///         Error::NotFound { .. } => "no such row",
///         Error::Constraint { kind: ConstraintKind::Unique, .. } => "already exists",
///         _ => "database trouble",
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A listener returned an error, so the write was rolled back. `source()` is the
    /// listener's own error.
    Listener {
        /// The model's name, e.g. `"Post"`.
        model: &'static str,
        /// The event the listener was called for.
        event: Event,
        /// The listener's path as written in `#[listens_for(...)]`.
        listener: &'static str,
        /// The error the listener returned.
        source: BoxError,
    },
    /// A listener of the transaction itself ([`crate::TransactionListeners`]) returned an
    /// error right before the commit, so the transaction was rolled back. `source()` is the
    /// listener's own error.
    TransactionListener {
        /// The event the listener was called for.
        event: TransactionEvent,
        /// The listener's name: the function's path, or the closure's type.
        listener: &'static str,
        /// The error the listener returned.
        source: BoxError,
    },
    /// A write failed at the database in the body of a
    /// [`crate::transaction_without_savepoints`] on PostgreSQL, which aborts the whole
    /// transaction at a failed statement, and the body went on and returned `Ok`: the
    /// transaction was rolled back, not committed, and nothing of it was written. (Its
    /// `COMMIT` would have answered `ROLLBACK` without an error.) The write's own error was
    /// returned to the body when it failed.
    TransactionAborted {
        /// The model of the first write that failed (or was dropped before it ended).
        model: &'static str,
    },
    /// `update`, `delete` or `get` found no row with this primary key.
    NotFound {
        /// The model's name.
        model: &'static str,
        /// The primary key, `Debug`-formatted.
        key: String,
    },
    /// The row was changed by another write since this model was read: its
    /// `#[model(version)]` column no longer holds the version the model has. Nothing was
    /// written. Read the row again, reapply the change, and retry.
    Conflict {
        /// The model's name.
        model: &'static str,
        /// The primary key, `Debug`-formatted.
        key: String,
    },
    /// [`Select::one`](crate::Select::one) found no row.
    NoRows {
        /// The model's name.
        model: &'static str,
    },
    /// [`Select::one`](crate::Select::one) found more than one row.
    TooManyRows {
        /// The model's name.
        model: &'static str,
    },
    /// The operation cannot do what was asked of it, as built; nothing was read or written.
    Unsupported {
        /// The model's name.
        model: &'static str,
        /// What cannot be done, and what to do instead.
        what: &'static str,
    },
    /// The statement would bind more values than the backend takes in one statement
    /// (32,766 on SQLite, 65,535 on PostgreSQL and MySQL): an `in_` list too long. Refused
    /// before anything was sent; nothing was read or written. Split the list and run the
    /// query once per part, or select the rows by something shorter (a range, a join
    /// table).
    TooManyValues {
        /// The model's name.
        model: &'static str,
        /// How many values the statement would bind.
        values: usize,
        /// The most this backend takes.
        limit: usize,
    },
    /// `update` or `delete` was called on a model whose `Option` primary key is `None`, i.e.
    /// one that was never inserted or loaded.
    Unsaved {
        /// The model's name.
        model: &'static str,
    },
    /// The database refused the write because it violates a constraint.
    Constraint {
        /// The model's name.
        model: &'static str,
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// The constraint's name where the database reports it (PostgreSQL does).
        constraint: Option<String>,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A value this backend cannot store as it is: writing it would fail on the server or,
    /// worse, store something else (MariaDB turns a year past 9999 into `NULL`, SQLite turns
    /// NaN into `NULL`). Checked before any SQL is sent.
    Value {
        /// The model's name.
        model: &'static str,
        /// The column holding the value.
        column: &'static str,
        /// What is wrong with it, for this backend.
        reason: &'static str,
    },
    /// The model has listeners of the end of the transaction (`after_*_commit` of this
    /// write, `before_commit` or `after_rollback`) and the write runs inside a transaction
    /// model-core did not begin (a `sqlx::Transaction`), whose commit or rollback it cannot
    /// see: the listeners could neither wait for it nor be skipped. Nothing was written. Run
    /// the write through [`crate::transaction`] instead.
    CommitScope {
        /// The model's name.
        model: &'static str,
    },
    /// The connection was lost while the write was being committed (during `COMMIT`, or
    /// during a single statement sent without `BEGIN`, which commits on its own): the
    /// database may or may not have committed it, and nothing can tell from this side.
    ///
    /// **The write may have been stored.** Do not retry blindly: read the row back (by its
    /// natural key, or whatever identifies it) and retry only if it is absent. A generated
    /// key is not set on the model (it would name a row that may not exist). Connection loss
    /// anywhere else is [`Error::Database`]: the transaction was not committed.
    ///
    /// So it is never [`retryable`](Error::is_retryable), and [`crate::retry`] returns it
    /// at once. To make a transaction safe to run again after it, give it something the
    /// database remembers: an idempotency key (a unique column holding a request id, which
    /// the body inserts first, so that a second run fails on the unique constraint or finds
    /// the row and returns), or a natural key the body checks first (`SELECT` the order by
    /// its number; insert only if it is absent). Then retry it yourself.
    OutcomeUnknown {
        /// The model's name, or `"transaction"` for [`crate::transaction`].
        model: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Any other database or driver error: connection lost before the commit, lock timeout,
    /// bad SQL, a value the column refused or could not be decoded.
    Database {
        /// The model's name.
        model: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
}

/// The kind of constraint a write violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A unique index or primary key already holds this value.
    Unique,
    /// A `NOT NULL` column got `NULL`.
    NotNull,
    /// A foreign key points at no row, or a referenced row would be removed.
    ForeignKey,
    /// A `CHECK` constraint failed.
    Check,
}

impl Error {
    /// Classifies a driver error for `model`: constraint violations become
    /// [`Error::Constraint`], everything else [`Error::Database`].
    pub fn from_sqlx(model: &'static str, source: sqlx::Error) -> Self {
        let classified = source.as_database_error().and_then(|db| {
            let kind = match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => ConstraintKind::Unique,
                sqlx::error::ErrorKind::NotNullViolation => ConstraintKind::NotNull,
                sqlx::error::ErrorKind::ForeignKeyViolation => ConstraintKind::ForeignKey,
                sqlx::error::ErrorKind::CheckViolation => ConstraintKind::Check,
                _ => return None,
            };
            Some((kind, db.constraint().map(str::to_owned)))
        });
        match classified {
            Some((kind, constraint)) => Error::Constraint {
                model,
                kind,
                constraint,
                source,
            },
            None => Error::Database { model, source },
        }
    }

    /// Classifies a driver error that ended a commit (`COMMIT`, or a statement that commits
    /// on its own): a lost connection there is [`Error::OutcomeUnknown`]; anything else
    /// as [`Error::from_sqlx`].
    pub fn from_commit(model: &'static str, source: sqlx::Error) -> Self {
        Error::from_sqlx(model, source).at_commit()
    }

    /// This error, as the error of a commit: a [`Error::Database`] whose connection was lost
    /// becomes [`Error::OutcomeUnknown`].
    pub(crate) fn at_commit(self) -> Self {
        match self {
            Error::Database { model, source } if is_connection_lost(&source) => {
                Error::OutcomeUnknown { model, source }
            }
            other => other,
        }
    }

    /// Whether the outcome of the write is unknown: it may have been committed.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// Whether running the whole transaction again, from its first read, is what this
    /// error asks for: the database rolled the transaction back because of a concurrent one,
    /// and nothing of it was written. [`crate::retry`] retries exactly these.
    ///
    /// - a serialization failure or a deadlock: PostgreSQL SQLSTATE `40001` and `40P01`;
    ///   MySQL/MariaDB error 1213 (`ER_LOCK_DEADLOCK`, SQLSTATE `40001`), which is also how a
    ///   Galera cluster reports a transaction that lost certification to one committed
    ///   through another node;
    /// - a lock not granted: MySQL/MariaDB error 1205 (lock wait timeout, also MariaDB's
    ///   answer to `NOWAIT`) and 3572 (MySQL's `NOWAIT`), PostgreSQL `55P03` (`NOWAIT`,
    ///   `lock_timeout`); SQLite `SQLITE_BUSY` (another connection holds the write lock).
    ///   MySQL undoes only the statement after 1205 unless `innodb_rollback_on_timeout` is
    ///   on: retrying is safe when the error ends the transaction, as it does when it comes
    ///   out of a [`crate::transaction`] body or a write (both roll back on any error);
    /// - [`Error::Conflict`]: a `#[model(version)]` row changed since it was read; read it
    ///   again and reapply the change;
    /// - [`Error::Listener`] whose listener's error is, or has in its `source()` chain, a
    ///   `model_core::Error` or `sqlx::Error` that is one of these: the listener's own
    ///   statement hit the conflict.
    ///
    /// Never [`Error::OutcomeUnknown`]: that write may have been committed, and running it
    /// again may write it twice (see there). Nor a constraint violation, a veto, a lost
    /// connection before the commit or bad SQL: the same transaction would fail again, or
    /// the failure is not about other transactions.
    ///
    /// ```
    /// # use model_core::Error;
    /// let stale = Error::Conflict { model: "Stock", key: "7".into() };
    /// assert!(stale.is_retryable());
    /// let missing = Error::NotFound { model: "Stock", key: "7".into() };
    /// assert!(!missing.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Conflict { .. } => true,
            Error::Database { source, .. } => is_retryable_sqlx(source),
            Error::Listener { source, .. } | Error::TransactionListener { source, .. } => {
                is_retryable_chain(Some(&**source))
            }
            _ => false,
        }
    }

    /// The listener's own error, if a listener failed and its error is an `E`.
    ///
    /// ```
    /// # fn check(error: model_core::Error) {
    /// #[derive(Debug)]
    /// struct TitleTooLong;
    /// # impl std::fmt::Display for TitleTooLong { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { Ok(()) } }
    /// # impl std::error::Error for TitleTooLong {}
    /// if let Some(TitleTooLong) = error.listener_error::<TitleTooLong>() { /* answer 422 */ }
    /// # }
    /// ```
    pub fn listener_error<E: StdError + 'static>(&self) -> Option<&E> {
        match self {
            Error::Listener { source, .. } | Error::TransactionListener { source, .. } => {
                source.downcast_ref::<E>()
            }
            _ => None,
        }
    }

    /// The name of the model the failed operation was about; `"transaction"` for
    /// [`Error::TransactionListener`], which is about no one model.
    pub fn model(&self) -> &'static str {
        match self {
            Error::TransactionListener { .. } => "transaction",
            Error::Listener { model, .. }
            | Error::NotFound { model, .. }
            | Error::Conflict { model, .. }
            | Error::NoRows { model }
            | Error::TooManyRows { model }
            | Error::Unsupported { model, .. }
            | Error::TooManyValues { model, .. }
            | Error::Unsaved { model }
            | Error::Value { model, .. }
            | Error::CommitScope { model }
            | Error::TransactionAborted { model }
            | Error::Constraint { model, .. }
            | Error::OutcomeUnknown { model, .. }
            | Error::Database { model, .. } => model,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Following the std convention, the message does not repeat `source()`: error
        // reporters (anyhow, eyre, tracing) print the chain themselves.
        match self {
            Error::Listener {
                model,
                event,
                listener,
                ..
            } => write!(f, "{event} listener `{listener}` of {model} failed"),
            Error::TransactionListener {
                event, listener, ..
            } => write!(f, "{event} listener `{listener}` failed"),
            Error::TransactionAborted { model } => write!(
                f,
                "a write of {model} failed in this transaction without savepoints, which \
                 aborted it: it was rolled back, not committed"
            ),
            Error::NotFound { model, key } => write!(f, "no {model} with primary key {key}"),
            Error::Conflict { model, key } => write!(
                f,
                "{model} with primary key {key} was changed by another write since it was \
                 read (its version differs): nothing was written"
            ),
            Error::NoRows { model } => {
                write!(f, "no {model} matches, and exactly one was expected")
            }
            Error::TooManyRows { model } => {
                write!(
                    f,
                    "more than one {model} matches, and exactly one was expected"
                )
            }
            Error::Unsupported { model, what } => write!(f, "{model}: {what}"),
            Error::TooManyValues {
                model,
                values,
                limit,
            } => write!(
                f,
                "a query of {model} would bind {values} values, and this database takes at \
                 most {limit} in one statement: nothing was sent; split the in_ list"
            ),
            Error::Unsaved { model } => {
                write!(f, "{model} has no primary key yet: insert it first")
            }
            Error::Constraint {
                model,
                kind,
                constraint,
                ..
            } => {
                let kind = match kind {
                    ConstraintKind::Unique => "unique",
                    ConstraintKind::NotNull => "not-null",
                    ConstraintKind::ForeignKey => "foreign key",
                    ConstraintKind::Check => "check",
                };
                write!(f, "writing {model} violates a {kind} constraint")?;
                match constraint {
                    Some(name) => write!(f, " ({name})"),
                    None => Ok(()),
                }
            }
            Error::Value {
                model,
                column,
                reason,
            } => write!(f, "{model}.{column} cannot be written: {reason}"),
            Error::CommitScope { model } => write!(
                f,
                "{model} has commit or rollback listeners (after-commit, before_commit or \
                 after_rollback), and this write runs in a transaction model-core did not \
                 begin, whose end it cannot see: write it through model_core::transaction"
            ),
            Error::OutcomeUnknown { model, .. } => write!(
                f,
                "the connection was lost while committing {model}: the write may or may not \
                 have been stored"
            ),
            Error::Database { model, .. } => write!(f, "database error on {model}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Listener { source, .. } | Error::TransactionListener { source, .. } => {
                Some(&**source)
            }
            Error::Constraint { source, .. }
            | Error::OutcomeUnknown { source, .. }
            | Error::Database { source, .. } => Some(source),
            Error::NotFound { .. }
            | Error::Conflict { .. }
            | Error::NoRows { .. }
            | Error::TooManyRows { .. }
            | Error::Unsupported { .. }
            | Error::TooManyValues { .. }
            | Error::Unsaved { .. }
            | Error::Value { .. }
            | Error::CommitScope { .. }
            | Error::TransactionAborted { .. } => None,
        }
    }
}

/// The source of the [`Error::Listener`] that stops `before_commit` listeners writing rows
/// whose own `before_commit` listeners write more, round after round: after
/// [`rounds`](RunawayBeforeCommit::rounds) rounds the transaction is rolled back and
/// nothing is committed (SQLAlchemy stops a session after 100 flushes the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunawayBeforeCommit {
    /// How many rounds of `before_commit` calls ran.
    pub rounds: u32,
}

impl fmt::Display for RunawayBeforeCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "before_commit listeners kept writing rows with before_commit listeners of their \
             own: stopped after {} rounds, nothing committed",
            self.rounds
        )
    }
}

impl StdError for RunawayBeforeCommit {}

/// Whether `error` means the connection to the server is gone or the statement was cut
/// off (so the server may have done more than the client saw): an I/O error, a broken
/// protocol stream, a crashed SQLite worker, or the server ending the session or the
/// statement: PostgreSQL classes `57P` (operator intervention: `pg_terminate_backend`, a
/// shutdown) and `08` (connection exception); MySQL SQLSTATE `70100` (`KILL`, `KILL
/// QUERY`) and `08S01`, and error 1053 (server shutdown).
///
/// Not a protocol error that the driver raises before writing anything to the connection
/// ([`refused_before_sending`]): a statement that never left the process left no doubt.
fn is_connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Protocol(message) => !refused_before_sending(message),
        sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            let mysql_shutdown = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|e| e.number() == 1053);
            code.starts_with("57P") || code.starts_with("08") || code == "70100" || mysql_shutdown
        }
        _ => false,
    }
}

/// Whether a driver error is a transient conflict with another transaction (see
/// [`Error::is_retryable`] for the codes and why each is safe to retry).
pub(crate) fn is_retryable_sqlx(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // Deadlock or certification failure; lock wait timeout; MySQL's NOWAIT.
        return matches!(mysql.number(), 1213 | 1205 | 3572);
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The primary result code SQLITE_BUSY (5), in any extended form: BUSY_RECOVERY,
        // BUSY_SNAPSHOT (a read transaction that can no longer become a write one), ...
        let code = db.code().and_then(|c| c.parse::<i32>().ok());
        return code.is_some_and(|c| c & 0xff == 5);
    }
    // PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
    matches!(db.code().as_deref(), Some("40001" | "40P01" | "55P03"))
}

/// Whether the first `model_core::Error` or `sqlx::Error` in an error's `source()` chain,
/// starting at `error`, is retryable: a listener's error, as it returned it.
pub(crate) fn is_retryable_chain(mut error: Option<&(dyn StdError + 'static)>) -> bool {
    while let Some(current) = error {
        if let Some(model) = current.downcast_ref::<Error>() {
            return model.is_retryable();
        }
        if let Some(driver) = current.downcast_ref::<sqlx::Error>() {
            return is_retryable_sqlx(driver);
        }
        error = current.source();
    }
    false
}

/// Whether a driver's protocol error is one of the checks sqlx 0.9 makes on a statement
/// before sending it (its argument count, its parameter names), rather than a broken
/// stream: `PgConnection::run(): too many arguments for query`, `too many parameter format
/// codes`, SQLite's `unsupported SQL parameter format` and `parameters with non-integer
/// names`. model-core refuses its own over-long statements before they get there
/// ([`Error::TooManyValues`]); this keeps a listener's or a caller's own from being called
/// an unknown outcome.
fn refused_before_sending(message: &str) -> bool {
    const BEFORE_SENDING: [&str; 4] = [
        "too many arguments for query",
        "too many parameter format codes",
        "unsupported SQL parameter format",
        "parameters with non-integer names",
    ];
    BEFORE_SENDING.iter().any(|m| message.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_the_driver_refused_before_sending_is_not_an_unknown_outcome() {
        let refused = sqlx::Error::Protocol(
            "PgConnection::run(): too many arguments for query: 70001".into(),
        );
        assert!(matches!(
            Error::from_commit("Tag", refused),
            Error::Database { model: "Tag", .. }
        ));
        let broken = sqlx::Error::Protocol("unexpected message from server: 'Z'".into());
        assert!(Error::from_commit("Tag", broken).is_outcome_unknown());
    }

    /// A server error with a SQLSTATE, as PostgreSQL reports them (the MySQL and SQLite
    /// drivers' errors cannot be built outside sqlx: tests/tests/retry.rs gets real ones).
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl StdError for Sqlstate {}

    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            "fake"
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> BoxError {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn server(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Sqlstate(code)))
    }

    fn listener(source: BoxError) -> Error {
        Error::Listener {
            model: "Order",
            event: Event::AfterInsert,
            listener: "bump_total",
            source,
        }
    }

    /// An application error that keeps the driver's error as its `source()`.
    #[derive(Debug)]
    struct Wrapped(sqlx::Error);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }

    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn serialization_failures_deadlocks_and_lock_refusals_are_retryable() {
        for code in ["40001", "40P01", "55P03"] {
            assert!(
                Error::from_sqlx("Stock", server(code)).is_retryable(),
                "{code}"
            );
            assert!(
                Error::from_commit("Stock", server(code)).is_retryable(),
                "{code}"
            );
        }
        for code in ["23505", "42601", "57014", "08006"] {
            assert!(
                !Error::from_sqlx("Stock", server(code)).is_retryable(),
                "{code}"
            );
        }
    }

    #[test]
    fn a_stale_version_is_retryable_and_nothing_else_without_a_server_error() {
        let key = String::from("7");
        assert!(Error::Conflict {
            model: "Stock",
            key: key.clone()
        }
        .is_retryable());
        assert!(!Error::NotFound {
            model: "Stock",
            key
        }
        .is_retryable());
        assert!(!Error::NoRows { model: "Stock" }.is_retryable());
        assert!(!Error::from_sqlx("Stock", sqlx::Error::PoolTimedOut).is_retryable());
        let unique = Error::from_sqlx("Stock", server("40001"));
        assert!(matches!(unique, Error::Database { .. }));
    }

    #[test]
    fn an_unknown_outcome_is_never_retryable() {
        let cut = sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        let unknown = Error::from_commit("Stock", cut);
        assert!(unknown.is_outcome_unknown());
        assert!(!unknown.is_retryable());
        let unknown = Error::OutcomeUnknown {
            model: "transaction",
            source: server("40001"),
        };
        assert!(!unknown.is_retryable());
        assert!(!listener(Box::new(unknown)).is_retryable());
    }

    #[test]
    fn a_listener_whose_statement_conflicted_is_retryable_through_its_source_chain() {
        // A listener that returned model-core's error, the driver's, or its own error with
        // the driver's as `source()`; and a listener of a write made by a listener.
        let model_error: BoxError = Box::new(Error::from_sqlx("Total", server("40001")));
        assert!(listener(model_error).is_retryable());
        assert!(listener(Box::new(server("40P01"))).is_retryable());
        assert!(listener(Box::new(Wrapped(server("40001")))).is_retryable());
        let nested = listener(Box::new(listener(Box::new(server("40001")))));
        assert!(nested.is_retryable());
        assert!(!listener(Box::new(server("23505"))).is_retryable());
        assert!(!listener(Box::new(Wrapped(sqlx::Error::RowNotFound))).is_retryable());
        assert!(!listener("a veto".into()).is_retryable());
    }
}
