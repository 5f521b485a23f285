//! Listeners of the transaction itself ([`TransactionEvent`]): once per transaction, with
//! what it wrote, where row listeners run once per row.
//!
//! Who listens is fixed when the outermost transaction begins ([`active`]): the
//! function-side listeners (`#[model_core::listens_for(transaction_after_commit)]` on a
//! function, gathered by the linker), the run-time ones ([`TransactionListeners::listen`]),
//! and those of the scopes the task runs in ([`TransactionListeners::scope`]). With none, a
//! transaction records nothing: the check is one atomic load and one task-local lookup.
//!
//! With some, the transaction's queue ([`crate::db::commit`]) records every row whose
//! statement ran ([`WrittenRow`]: model, table, key, event) in write order, and marks the
//! rows of a savepoint that rolls back as undone; each event hands its listeners a
//! [`TransactionInfo`] built from that record.

use std::any::{type_name, Any};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::base::error::{BoxError, Error};
use crate::base::event::{Event, TransactionEvent};
use crate::base::value::Value;
use crate::db::backend::Backend;
use crate::db::conn::Conn;

/// One row a transaction wrote: which model, which row, which write.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WrittenRow {
    /// The model's name, e.g. `"Post"`.
    pub model: &'static str,
    /// Its table, unquoted.
    pub table: &'static str,
    /// The row's primary key ([`Value::Tuple`] for a composite key).
    pub key: Value,
    /// The write: [`Event::AfterInsert`], [`Event::AfterUpdate`] or [`Event::AfterDelete`]
    /// (the point each row reached: its statement ran).
    pub event: Event,
}

impl WrittenRow {
    pub(crate) fn new(model: &'static str, table: &'static str, key: Value, event: Event) -> Self {
        Self {
            model,
            table,
            key,
            event,
        }
    }
}

/// What a listener of a transaction gets: the event, how deep, and the rows.
#[derive(Debug, Clone)]
pub struct TransactionInfo {
    event: TransactionEvent,
    depth: u32,
    written: Vec<WrittenRow>,
    undone: Vec<WrittenRow>,
}

impl TransactionInfo {
    /// The event the listener is called for.
    pub fn event(&self) -> TransactionEvent {
        self.event
    }

    /// 0 for the outermost transaction; `n` for a savepoint `n` nested
    /// [`transaction`](crate::transaction) calls deep.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The rows written and still to be committed, in write order:
    /// - `AfterCommit`: every row the transaction committed;
    /// - `BeforeCommit`: every row written so far (the rows' own `before_commit` listeners
    ///   have run);
    /// - `SavepointRelease`: the savepoint's rows (they commit with the transaction);
    /// - the other events: none.
    pub fn written(&self) -> &[WrittenRow] {
        &self.written
    }

    /// The rows whose statements ran and were rolled back, in write order:
    /// - `AfterRollback`: every row the transaction wrote;
    /// - `SavepointRollback`: the savepoint's rows;
    /// - `AfterCommit` and `BeforeCommit`: the rows of savepoints rolled back inside the
    ///   transaction that commits;
    /// - the other events: none.
    pub fn undone(&self) -> &[WrittenRow] {
        &self.undone
    }
}

/// The future of a listener that writes in the transaction right before its commit
/// ([`TransactionListeners::before_commit_with`]).
pub type TransactionListenerFuture<'c> =
    Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'c>>;

type ObserveCall = Box<dyn Fn(&TransactionInfo) + Send + Sync>;
type CheckCall = Box<dyn Fn(&TransactionInfo) -> Result<(), BoxError> + Send + Sync>;
/// Called with the outermost transaction's `DB::Connection` as `dyn Any`.
type WriteCall = Box<
    dyn for<'a> Fn(
            &'a mut (dyn Any + Send),
            &'a TransactionInfo,
        ) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>
        + Send
        + Sync,
>;

enum Call {
    Observe(ObserveCall),
    Check(CheckCall),
    /// Runs only in transactions of its backend: on another, its future is done at once.
    Write(WriteCall),
}

/// One listener of one transaction event.
pub(crate) struct Listener {
    event: TransactionEvent,
    name: &'static str,
    call: Call,
}

/// A function-side listener of a transaction event, as `#[model_core::listens_for]`
/// registers it.
#[doc(hidden)]
pub struct TransactionRegistration {
    /// The event.
    pub event: TransactionEvent,
    /// The function's module path and name.
    pub name: &'static str,
    /// The function.
    pub call: TransactionFn,
}

/// A function-side listener's function.
#[doc(hidden)]
pub enum TransactionFn {
    /// `fn(&TransactionInfo)`.
    Observe(fn(&TransactionInfo)),
    /// `fn(&TransactionInfo) -> Result<(), E>`, `transaction_before_commit` only.
    Check(fn(&TransactionInfo) -> Result<(), BoxError>),
}

/// Every function-side transaction listener in the binary, gathered by the linker.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static TRANSACTION_LISTENERS: [TransactionRegistration];

/// A listener's result as the function-side shim of `transaction_before_commit` returns
/// it: `()` or `Result<(), E>`.
#[doc(hidden)]
pub trait IntoVeto {
    /// The veto, if any.
    fn into_veto(self) -> Result<(), BoxError>;
}

impl IntoVeto for () {
    fn into_veto(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> IntoVeto for Result<(), E> {
    fn into_veto(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// A function-side listener of a transaction event that cannot veto: `fn(&TransactionInfo)`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a listener of this transaction event",
    label = "expected `fn(&model_core::TransactionInfo)`",
    note = "only `transaction_before_commit` can veto (return `Result<(), E>`); the other transaction events take `&TransactionInfo` and return nothing"
)]
pub trait ObserveTransaction {
    /// Calls the listener.
    fn observe(&self, info: &TransactionInfo);
}

impl<F: Fn(&TransactionInfo)> ObserveTransaction for F {
    fn observe(&self, info: &TransactionInfo) {
        self(info);
    }
}

/// A function-side listener of `transaction_before_commit`: `fn(&TransactionInfo)` or
/// `fn(&TransactionInfo) -> Result<(), E>`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `transaction_before_commit` listener",
    label = "expected `fn(&model_core::TransactionInfo)` or `fn(&model_core::TransactionInfo) -> Result<(), E>`",
    note = "for SQL right before the commit, register `TransactionListeners::new().before_commit_with(..)` at run time"
)]
pub trait CheckTransaction<R> {
    /// Calls the listener.
    fn check(&self, info: &TransactionInfo) -> Result<(), BoxError>;
}

impl<F: Fn(&TransactionInfo) -> R, R: IntoVeto> CheckTransaction<R> for F {
    fn check(&self, info: &TransactionInfo) -> Result<(), BoxError> {
        self(info).into_veto()
    }
}

/// Listeners of transactions, built one by one and then switched on for every transaction
/// of the program ([`TransactionListeners::listen`]) or for those one piece of work
/// begins ([`TransactionListeners::scope`]).
///
/// Listeners of one event run in order: function-side ones (by name), then run-time
/// ones (in registration order), then those of the scopes, outermost scope first, each in
/// the order added.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use model_core::{Model, TransactionEvent, TransactionListeners};
/// # #[derive(Model)] struct Post { id: Option<i64>, title: String }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// # sqlx::query("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT)").execute(&pool).await?;
/// // One message per transaction, with everything it wrote.
/// let published = Arc::new(Mutex::new(Vec::new()));
/// let sink = published.clone();
/// let listeners = TransactionListeners::new().after_commit(move |tx| {
///     sink.lock().unwrap().push(tx.written().len());
/// });
/// listeners
///     .scope(model_core::transaction(&pool, |conn| {
///         Box::pin(async move {
///             Post { id: None, title: "one".into() }.insert(&mut *conn).await?;
///             Post { id: None, title: "two".into() }.insert(&mut *conn).await?;
///             Ok::<_, model_core::Error>(())
///         })
///     }))
///     .await?;
/// assert_eq!(*published.lock().unwrap(), [2]);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
#[must_use = "listeners do nothing until `.listen()` or `.scope(..)` switches them on"]
pub struct TransactionListeners {
    listeners: Vec<Arc<Listener>>,
}

impl std::fmt::Debug for TransactionListeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.listeners.iter().map(|l| (l.event, l.name)))
            .finish()
    }
}

impl TransactionListeners {
    /// No listeners yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with(mut self, event: TransactionEvent, name: &'static str, call: Call) -> Self {
        self.listeners
            .push(Arc::new(Listener { event, name, call }));
        self
    }

    /// Adds a listener of `event` that observes: it gets the [`TransactionInfo`] and
    /// cannot veto (for `BeforeCommit`, see [`TransactionListeners::before_commit`]).
    pub fn on<F>(self, event: TransactionEvent, listener: F) -> Self
    where
        F: Fn(&TransactionInfo) + Send + Sync + 'static,
    {
        self.with(event, type_name::<F>(), Call::Observe(Box::new(listener)))
    }

    /// Adds a listener of [`TransactionEvent::AfterCommit`]: once the outermost transaction
    /// has committed, after the rows' `after_*_commit` listeners, with the rows committed.
    /// For effects outside the database (a message, a cache purge); to do async work,
    /// spawn it or send it to a channel.
    pub fn after_commit<F>(self, listener: F) -> Self
    where
        F: Fn(&TransactionInfo) + Send + Sync + 'static,
    {
        self.on(TransactionEvent::AfterCommit, listener)
    }

    /// Adds a listener of [`TransactionEvent::AfterRollback`]: once the outermost
    /// transaction has rolled back or failed to commit, with the rows undone.
    pub fn after_rollback<F>(self, listener: F) -> Self
    where
        F: Fn(&TransactionInfo) + Send + Sync + 'static,
    {
        self.on(TransactionEvent::AfterRollback, listener)
    }

    /// Adds a listener of [`TransactionEvent::BeforeCommit`] that may veto: an `Err` rolls
    /// the transaction back, and the caller gets [`Error::TransactionListener`] with it as
    /// `source()`.
    pub fn before_commit<F, E>(self, listener: F) -> Self
    where
        F: Fn(&TransactionInfo) -> Result<(), E> + Send + Sync + 'static,
        E: Into<BoxError>,
    {
        let call = move |info: &TransactionInfo| listener(info).map_err(Into::into);
        self.with(
            TransactionEvent::BeforeCommit,
            type_name::<F>(),
            Call::Check(Box::new(call)),
        )
    }

    /// Adds a listener of [`TransactionEvent::BeforeCommit`] that runs SQL in the
    /// transaction (which commits with it) on backend `DB`, and may veto; transactions on
    /// other backends do not run it. Rows it writes through models get their own
    /// `before_commit` listeners, and are in the `AfterCommit` event's rows.
    pub fn before_commit_with<DB, F>(self, listener: F) -> Self
    where
        DB: Backend,
        F: for<'c> Fn(&'c mut Conn<DB>, &'c TransactionInfo) -> TransactionListenerFuture<'c>
            + Send
            + Sync
            + 'static,
    {
        let name = type_name::<F>();
        self.with(
            TransactionEvent::BeforeCommit,
            name,
            Call::Write(with_conn::<DB, F>(listener)),
        )
    }

    /// Adds a listener of [`TransactionEvent::Begin`] that runs SQL on backend `DB` right
    /// after the outermost transaction's `BEGIN`, in it, before any row is written: `SET
    /// LOCAL` of a tenant for row-level security, a session variable, a lock. An `Err`
    /// rolls the transaction back before anything is written. A single write that would
    /// otherwise be one autocommitted statement then runs in a transaction.
    pub fn begin_with<DB, F>(self, listener: F) -> Self
    where
        DB: Backend,
        F: for<'c> Fn(&'c mut Conn<DB>, &'c TransactionInfo) -> TransactionListenerFuture<'c>
            + Send
            + Sync
            + 'static,
    {
        let name = type_name::<F>();
        self.with(
            TransactionEvent::Begin,
            name,
            Call::Write(with_conn::<DB, F>(listener)),
        )
    }

    /// Runs `work` with these listeners on for every outermost transaction it begins
    /// (a request handler, one call of [`transaction`](crate::transaction)), besides the
    /// program-wide ones. Scopes nest: an inner scope adds its listeners to the outer's.
    /// A task spawned inside is not in the scope.
    pub fn scope<F: Future>(&self, work: F) -> impl Future<Output = F::Output> {
        let mut all: Vec<Arc<Listener>> =
            SCOPED.try_with(|outer| outer.to_vec()).unwrap_or_default();
        all.extend(self.listeners.iter().cloned());
        SCOPED.scope(Arc::from(all), work)
    }

    /// Registers these listeners for every transaction of the program; returns the id
    /// [`remove_global`] takes.
    pub(crate) fn register_global(self) -> u64 {
        let mut global = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
        let id = global.next_id;
        global.next_id += 1;
        global.sets.push((id, self.listeners));
        GLOBAL_SETS.fetch_add(1, Ordering::Release);
        id
    }
}

/// A listener with a connection of backend `DB`, as called with any backend's: on another
/// backend's, its future is done at once.
fn with_conn<DB, F>(listener: F) -> WriteCall
where
    DB: Backend,
    F: for<'c> Fn(&'c mut Conn<DB>, &'c TransactionInfo) -> TransactionListenerFuture<'c>
        + Send
        + Sync
        + 'static,
{
    Box::new(
        move |conn, info| match conn.downcast_mut::<DB::Connection>() {
            Some(conn) => listener(Conn::from_mut(conn), info),
            None => Box::pin(std::future::ready(Ok(()))),
        },
    )
}

/// Removes what [`TransactionListeners::register_global`] registered under `id`.
pub(crate) fn remove_global(id: u64) {
    let mut global = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
    let before = global.sets.len();
    global.sets.retain(|(set, _)| *set != id);
    if global.sets.len() < before {
        GLOBAL_SETS.fetch_sub(1, Ordering::Release);
    }
}

#[derive(Default)]
struct Global {
    next_id: u64,
    sets: Vec<(u64, Vec<Arc<Listener>>)>,
}

static GLOBAL: RwLock<Global> = RwLock::new(Global {
    next_id: 0,
    sets: Vec::new(),
});

/// How many sets [`GLOBAL`] holds: the lock is taken only when some are.
static GLOBAL_SETS: AtomicUsize = AtomicUsize::new(0);

tokio::task_local! {
    static SCOPED: Arc<[Arc<Listener>]>;
}

/// The function-side listeners, sorted by name once.
fn function_side() -> &'static [Arc<Listener>] {
    static SORTED: OnceLock<Vec<Arc<Listener>>> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut all: Vec<&TransactionRegistration> = TRANSACTION_LISTENERS.iter().collect();
        all.sort_by_key(|r| r.name);
        all.into_iter()
            .map(|r| {
                let call = match r.call {
                    TransactionFn::Observe(f) => Call::Observe(Box::new(f)),
                    TransactionFn::Check(f) => Call::Check(Box::new(f)),
                };
                Arc::new(Listener {
                    event: r.event,
                    name: r.name,
                    call,
                })
            })
            .collect()
    })
}

/// The listeners of the transaction beginning now, in the order they run; `None` when
/// there are none (the transaction then records nothing).
pub(crate) fn active() -> Option<Arc<[Arc<Listener>]>> {
    let global = GLOBAL_SETS.load(Ordering::Acquire) > 0;
    let scoped = SCOPED.try_with(Arc::clone).ok();
    if !global && scoped.is_none() && TRANSACTION_LISTENERS.is_empty() {
        return None;
    }
    let mut all: Vec<Arc<Listener>> = function_side().to_vec();
    if global {
        let global = GLOBAL.read().unwrap_or_else(PoisonError::into_inner);
        all.extend(global.sets.iter().flat_map(|(_, set)| set.iter().cloned()));
    }
    if let Some(scoped) = scoped {
        all.extend(scoped.iter().cloned());
    }
    (!all.is_empty()).then(|| Arc::from(all))
}

/// Whether a transaction beginning now would have listeners ([`active`] without building
/// the list): set-based writes then read their rows, so that the rows are reported.
pub(crate) fn any_active() -> bool {
    GLOBAL_SETS.load(Ordering::Acquire) > 0
        || SCOPED.try_with(|_| ()).is_ok()
        || !TRANSACTION_LISTENERS.is_empty()
}

/// Whether `listeners` have a `BeforeCommit` listener (a write then needs a transaction of
/// its own to run it in).
pub(crate) fn has_before_commit(listeners: &[Arc<Listener>]) -> bool {
    listeners
        .iter()
        .any(|l| l.event == TransactionEvent::BeforeCommit)
}

/// Whether `listeners` have a `Begin` listener with a connection ([`TransactionListeners::begin_with`]).
pub(crate) fn has_begin_with(listeners: &[Arc<Listener>]) -> bool {
    listeners
        .iter()
        .any(|l| l.event == TransactionEvent::Begin && matches!(l.call, Call::Write(_)))
}

/// Builds the [`TransactionInfo`] of one event.
pub(crate) fn info(
    event: TransactionEvent,
    depth: u32,
    written: Vec<WrittenRow>,
    undone: Vec<WrittenRow>,
) -> TransactionInfo {
    TransactionInfo {
        event,
        depth,
        written,
        undone,
    }
}

/// Calls the observing listeners of `info`'s event (an event that cannot be vetoed).
pub(crate) fn observe(listeners: &[Arc<Listener>], info: &TransactionInfo) {
    for listener in listeners.iter().filter(|l| l.event == info.event) {
        match &listener.call {
            Call::Observe(call) => call(info),
            // A veto of an event that cannot be vetoed is not swallowed: `before_commit`
            // is the only event these are registered for.
            Call::Check(_) | Call::Write(_) => {}
        }
    }
}

/// Calls the listeners of `info`'s event (`BeforeCommit`, or `Begin` for those with a
/// connection only) with the outermost transaction's connection `conn`; the first `Err`
/// stops them and is returned, naming the listener.
pub(crate) async fn with_connection(
    listeners: &[Arc<Listener>],
    conn: &mut (dyn Any + Send),
    info: &TransactionInfo,
) -> Result<(), Error> {
    let event = info.event;
    let veto = |listener: &Listener, source| Error::TransactionListener {
        event,
        listener: listener.name,
        source,
    };
    for listener in listeners.iter().filter(|l| l.event == event) {
        match &listener.call {
            // `Begin`'s observers ran when the transaction began (`observe`).
            Call::Observe(_) if event == TransactionEvent::Begin => {}
            Call::Observe(call) => call(info),
            Call::Check(call) => call(info).map_err(|e| veto(listener, e))?,
            Call::Write(call) => call(&mut *conn, info)
                .await
                .map_err(|e| veto(listener, e))?,
        }
    }
    Ok(())
}
