//! Listeners registered while the program runs: [`listen`], [`once`], statement listeners
//! ([`on_statement`]), and the [`Listening`] handle that removes them.

use std::any::{type_name, Any};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::base::error::BoxError;
use crate::db::commit::Callback;
use crate::db::statement::StatementEvent;
use crate::db::transaction_events::TransactionListeners;
use crate::listen::every::{AnyModel, EveryModelCommitListener};
use crate::listen::listener::{marker, CommitListener, Event};
use crate::listen::record::Record;
use crate::listen::registry::{global, Listeners};

/// One run-time listener.
pub(crate) struct Entry<C> {
    id: u64,
    pub(crate) event: Event,
    pub(crate) name: &'static str,
    /// `Some` for a [`once`] listener: set when its one call is taken.
    fired: Option<AtomicBool>,
    /// Registered with [`ListenOptions::first`]: runs before the event's other listeners.
    pub(crate) first: bool,
    /// [`ListenOptions::key`]: a second registration with this key is this one.
    key: Option<&'static str>,
    pub(crate) call: C,
}

impl<C> Entry<C> {
    /// Whether this call may run: always, except for a [`once`] listener whose call was
    /// taken, here or by a concurrent write. Taking it removes the listener.
    pub(crate) fn take_turn(&self, remove: impl FnOnce(u64)) -> bool {
        match &self.fired {
            None => true,
            Some(fired) => {
                let first = !fired.swap(true, Ordering::AcqRel);
                if first {
                    remove(self.id);
                }
                first
            }
        }
    }
}

type MutCall<M> = Box<dyn Fn(&mut M) -> Result<(), BoxError> + Send + Sync>;
type RefCall<M> = Box<dyn Fn(&M) -> Result<(), BoxError> + Send + Sync>;
type CommitCall<M> = Box<dyn Fn(&M) -> Callback + Send + Sync>;
/// A `before_query` listener: the query's plan arrives as an `Option` it takes and puts
/// back ([`crate::listen::registry::QueryShim`]).
pub(crate) type QueryCall = Box<dyn Fn(&mut dyn Any) -> Result<(), BoxError> + Send + Sync>;

/// The call of a run-time listener of one model, which gets the model as `dyn Any` and
/// downcasts it (one [`List`] type and one walk of it for every model: issue 10).
pub(crate) enum TypedCall {
    Mut(MutCall<dyn Any>),
    Ref(RefCall<dyn Any>),
    Commit(CommitCall<dyn Any>),
    Query(QueryCall),
}

/// The model a run-time listener of `M` was registered for: a list only holds calls of its
/// own model.
fn model_mut<M: 'static>(model: &mut dyn Any) -> &mut M {
    model
        .downcast_mut()
        .expect("a model's list holds listeners of that model")
}

/// [`model_mut`], shared.
fn model_ref<M: 'static>(model: &dyn Any) -> &M {
    model
        .downcast_ref()
        .expect("a model's list holds listeners of that model")
}

/// The call of a run-time listener of every model.
pub(crate) enum EveryCall {
    Ref(RefCall<dyn AnyModel>),
    Commit(CommitCall<dyn AnyModel>),
}

/// A list that writes copy and readers share: a reader clones the `Arc` under the read
/// lock and runs the listeners without it, so a listener may register or remove listeners.
pub(crate) struct List<C> {
    entries: RwLock<Option<Shared<C>>>,
}

/// One version of a [`List`]'s entries.
type Shared<C> = Arc<Vec<Arc<Entry<C>>>>;

impl<C> List<C> {
    pub(crate) const fn new() -> Self {
        List {
            entries: RwLock::new(None),
        }
    }

    pub(crate) fn snapshot(&self) -> Option<Shared<C>> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The events listened to.
    pub(crate) fn mask(&self) -> u32 {
        self.snapshot().map_or(0, |entries| {
            entries.iter().fold(0, |m, e| m | 1 << e.event.index())
        })
    }

    fn change(&self, change: impl FnOnce(&mut Vec<Arc<Entry<C>>>)) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let mut list: Vec<_> = entries.as_deref().cloned().unwrap_or_default();
        change(&mut list);
        *entries = (!list.is_empty()).then(|| Arc::new(list));
    }

    fn remove(&self, id: u64) {
        self.change(|list| list.retain(|e| e.id != id));
    }
}

/// The run-time listeners of every model.
pub(crate) static EVERY: List<EveryCall> = List::new();

/// Removes a run-time listener of the model of `cell` by id.
pub(crate) fn remove_typed(cell: &Listeners, id: u64) {
    let global = global();
    cell.runtime.remove(id);
    cell.refresh(global.every_mask);
}

/// Removes a run-time listener of every model by id.
pub(crate) fn remove_every(id: u64) {
    let mut global = global();
    EVERY.remove(id);
    global.every_mask = EVERY.mask();
    for cell in &global.cells {
        cell.refresh(global.every_mask);
    }
}

/// Events, as types, for [`listen`] and [`once`]: the event decides the shape a listener
/// must have, and a type lets the compiler check it (`listen(on::AfterInsert, |p: &mut
/// Post| ..)` does not compile).
pub mod on {
    use crate::listen::listener::Event;

    /// An event as a type. Implemented by the unit structs of this module.
    pub trait EventType: Copy {
        /// The event.
        const EVENT: Event;
        /// [`shape::Mut`], [`shape::Ref`], [`shape::Commit`] or [`shape::BeforeCommit`].
        type Shape;
    }

    /// What an event hands its listeners. Never named by users.
    pub mod shape {
        /// `&mut M`.
        pub struct Mut;
        /// `&M`.
        pub struct Ref;
        /// `&M`, after the commit.
        pub struct Commit;
        /// `&M` (a clone; the model must be `Clone`), right before the commit.
        pub struct BeforeCommit;
        /// `Select<M>`, returned narrowed.
        pub struct Query;
    }

    macro_rules! events {
        ($($(#[$doc:meta])* $name:ident: $shape:ident,)*) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $name;

            impl EventType for $name {
                const EVENT: Event = Event::$name;
                type Shape = shape::$shape;
            }
        )*};
    }

    events! {
        /// [`Event::BeforeInsert`].
        BeforeInsert: Mut,
        /// [`Event::AfterInsert`].
        AfterInsert: Ref,
        /// [`Event::BeforeUpdate`].
        BeforeUpdate: Mut,
        /// [`Event::AfterUpdate`].
        AfterUpdate: Ref,
        /// [`Event::BeforeDelete`].
        BeforeDelete: Ref,
        /// [`Event::AfterDelete`].
        AfterDelete: Ref,
        /// [`Event::Load`].
        Load: Mut,
        /// [`Event::BeforeCommit`].
        BeforeCommit: BeforeCommit,
        /// [`Event::AfterInsertCommit`].
        AfterInsertCommit: Commit,
        /// [`Event::AfterUpdateCommit`].
        AfterUpdateCommit: Commit,
        /// [`Event::AfterDeleteCommit`].
        AfterDeleteCommit: Commit,
        /// [`Event::AfterRollback`].
        AfterRollback: Commit,
        /// [`Event::BeforeQuery`].
        BeforeQuery: Query,
    }
}

/// The target of listeners of every model in [`RuntimeListener`]: `|model: &dyn AnyModel|`.
pub struct EveryModel;

/// A closure or function [`listen`] accepts for an event of shape `Shape`, listening to
/// `Target`: a model, or [`EveryModel`].
///
/// Run-time listeners are synchronous: `fn(&mut M)`, `fn(&mut M) -> Result<(), E>` (and
/// `&M` for the events that hand out `&M`); after-commit and after-rollback ones `fn(&M)`
/// or `async fn(&M)`.
/// A listener of every model takes `&dyn AnyModel`. For SQL in the write's transaction,
/// declare the listener with `#[listens_for]`, whose async shape takes the connection.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot listen to this event at run time",
    label = "expected `|model: &mut M|` or `|model: &mut M| -> Result<(), E>` (`&M` for after_* and before_delete, `&dyn AnyModel` for every model)",
    note = "run-time listeners are synchronous; for SQL in the write's transaction use `#[model_core::listens_for(...)]` on an async function"
)]
pub trait RuntimeListener<Target, Shape, Marker>: Send + Sync + 'static {
    #[doc(hidden)]
    fn __register(self, event: Event, options: ListenOptions) -> Listening;
}

/// How [`listen_with`] registers a listener: SQLAlchemy's `event.listen` flags `insert`,
/// `once` and (by a key, since closures cannot be compared) its rule that one function
/// listened twice is listened once.
///
/// ```
/// use model_core::{listen_with, on, ListenOptions, Model};
/// # #[derive(Model)] struct Post { id: Option<i64>, title: String }
///
/// // Runs before every other `before_insert` listener of `Post`, struct-side included.
/// let first = listen_with(on::BeforeInsert, |p: &mut Post| p.title.push('!'), ListenOptions::new().first());
/// // Registered once, however many times this line runs: one `remove` undoes it.
/// let audit = listen_with(on::AfterInsert, |_: &Post| {}, ListenOptions::new().key("audit"));
/// let again = listen_with(on::AfterInsert, |_: &Post| {}, ListenOptions::new().key("audit"));
/// # let _ = (first, audit, again);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenOptions {
    first: bool,
    once: bool,
    key: Option<&'static str>,
}

impl ListenOptions {
    /// The options of [`listen`]: last in the order, every call, one registration per call.
    pub const fn new() -> Self {
        ListenOptions {
            first: false,
            once: false,
            key: None,
        }
    }

    /// Runs the listener before every other listener of the event, struct-side and
    /// function-side included (SQLAlchemy's `insert=True`). Of several such listeners, the
    /// one registered last runs first; a model's own run before those of every model.
    #[must_use]
    pub const fn first(mut self) -> Self {
        self.first = true;
        self
    }

    /// Runs the listener once, as [`once`] does.
    #[must_use]
    pub const fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// Registers the listener at most once under `key`, for its model (or every model) and
    /// event: while a listener registered with the same key is listening, a second
    /// registration adds nothing and its handle is the first's, so that one
    /// [`Listening::remove`] (or drop) of either handle removes it (SQLAlchemy's rule for a
    /// function listened twice, which a closure, having no identity, needs a key for).
    #[must_use]
    pub const fn key(mut self, key: &'static str) -> Self {
        self.key = Some(key);
        self
    }
}

fn new_entry<C>(
    id: u64,
    event: Event,
    name: &'static str,
    options: ListenOptions,
    call: C,
) -> Arc<Entry<C>> {
    Arc::new(Entry {
        id,
        event,
        name,
        fired: options.once.then(|| AtomicBool::new(false)),
        first: options.first,
        key: options.key,
        call,
    })
}

/// Adds `entry` to `list` as `options` say, or finds the entry already registered under
/// its key: the id of the listener that is now listening.
fn add<C>(
    list: &List<C>,
    id: u64,
    options: ListenOptions,
    entry: impl FnOnce() -> Arc<Entry<C>>,
    event: Event,
) -> u64 {
    if let Some(key) = options.key {
        if let Some(existing) = list.snapshot().and_then(|entries| {
            entries
                .iter()
                .find(|e| e.event == event && e.key == Some(key))
                .map(|e| e.id)
        }) {
            return existing;
        }
    }
    let entry = entry();
    list.change(|entries| {
        if options.first {
            entries.insert(0, entry);
        } else {
            entries.push(entry);
        }
    });
    id
}

/// Adds a listener of the model of `cell`.
pub(crate) fn register_typed(
    cell: &'static Listeners,
    event: Event,
    name: &'static str,
    options: ListenOptions,
    call: TypedCall,
) -> Listening {
    cell.state(); // initialised, so that refresh keeps its bits current
    let mut global = global();
    let id = global.next_id;
    global.next_id += 1;
    let id = add(
        &cell.runtime,
        id,
        options,
        || new_entry(id, event, name, options, call),
        event,
    );
    cell.refresh(global.every_mask);
    Listening {
        id,
        remove: Some(Remove::Model(cell)),
    }
}

/// Adds a `before_query` listener of the model of `cell` (for [`crate::query`], which
/// knows the query type this layer does not).
pub(crate) fn register_query(
    cell: &'static Listeners,
    event: Event,
    name: &'static str,
    options: ListenOptions,
    call: QueryCall,
) -> Listening {
    register_typed(cell, event, name, options, TypedCall::Query(call))
}

/// Adds a listener of every model.
fn register_every(
    event: Event,
    name: &'static str,
    options: ListenOptions,
    call: EveryCall,
) -> Listening {
    let mut global = global();
    let id = global.next_id;
    global.next_id += 1;
    let id = add(
        &EVERY,
        id,
        options,
        || new_entry(id, event, name, options, call),
        event,
    );
    global.every_mask = EVERY.mask();
    for cell in &global.cells {
        cell.refresh(global.every_mask);
    }
    Listening {
        id,
        remove: Some(Remove::Every),
    }
}

macro_rules! sync_impls {
    // `$share`: the model's clone for its `before_commit` listeners, kept in its cell.
    ($shape:ident, $call:ident, $cast:ident, [$($mut:ident)?], [$($bound:path)?], [$($share:ident)?]) => {
        impl<M: Record $(+ $bound)?, L> RuntimeListener<M, on::shape::$shape, marker::Plain> for L
        where
            L: Fn(& $($mut)? M) + Send + Sync + 'static,
        {
            fn __register(self, event: Event, options: ListenOptions) -> Listening {
                let call = Box::new(move |model: & $($mut)? dyn Any| {
                    self($cast::<M>(model));
                    Ok(())
                });
                $(M::__listeners().set_share(crate::listen::registry::$share::<M>);)?
                register_typed(M::__listeners(), event, type_name::<L>(), options, TypedCall::$call(call))
            }
        }

        impl<M: Record $(+ $bound)?, L, E> RuntimeListener<M, on::shape::$shape, marker::Fallible<E>> for L
        where
            L: Fn(& $($mut)? M) -> Result<(), E> + Send + Sync + 'static,
            E: Into<BoxError>,
        {
            fn __register(self, event: Event, options: ListenOptions) -> Listening {
                let call = Box::new(move |model: & $($mut)? dyn Any| {
                    self($cast::<M>(model)).map_err(Into::into)
                });
                $(M::__listeners().set_share(crate::listen::registry::$share::<M>);)?
                register_typed(M::__listeners(), event, type_name::<L>(), options, TypedCall::$call(call))
            }
        }

        impl<L> RuntimeListener<EveryModel, on::shape::$shape, marker::Plain> for L
        where
            L: Fn(&dyn AnyModel) + Send + Sync + 'static,
        {
            fn __register(self, event: Event, options: ListenOptions) -> Listening {
                let call = Box::new(move |model: &dyn AnyModel| {
                    self(model);
                    Ok(())
                });
                register_every(event, type_name::<L>(), options, EveryCall::Ref(call))
            }
        }

        impl<L, E> RuntimeListener<EveryModel, on::shape::$shape, marker::Fallible<E>> for L
        where
            L: Fn(&dyn AnyModel) -> Result<(), E> + Send + Sync + 'static,
            E: Into<BoxError>,
        {
            fn __register(self, event: Event, options: ListenOptions) -> Listening {
                let call = Box::new(move |model: &dyn AnyModel| self(model).map_err(Into::into));
                register_every(event, type_name::<L>(), options, EveryCall::Ref(call))
            }
        }
    };
}

sync_impls!(Mut, Mut, model_mut, [mut], [], []);
sync_impls!(Ref, Ref, model_ref, [], [], []);
// A row's `before_commit` listeners get a clone of it at the commit.
sync_impls!(BeforeCommit, Ref, model_ref, [], [Clone], [share_row]);

/// After-commit and after-rollback listeners of one model: `Mk` is [`CommitListener`]'s
/// marker.
impl<M: Record + Clone, L, Mk> RuntimeListener<M, on::shape::Commit, (marker::Plain, Mk)> for L
where
    L: CommitListener<M, Mk>,
{
    fn __register(self, event: Event, options: ListenOptions) -> Listening {
        let listener = Arc::new(self);
        let call = Box::new(move |model: &dyn Any| -> Callback {
            let listener = Arc::clone(&listener);
            let model = Arc::new(model_ref::<M>(model).clone());
            Box::new(move || Box::pin(async move { listener.call(&model).await }))
        });
        register_typed(
            M::__listeners(),
            event,
            type_name::<L>(),
            options,
            TypedCall::Commit(call),
        )
    }
}

/// After-commit and after-rollback listeners of every model: they get a
/// [`crate::ModelRow`].
impl<L, Mk> RuntimeListener<EveryModel, on::shape::Commit, (marker::Async, Mk)> for L
where
    L: EveryModelCommitListener<Mk>,
{
    fn __register(self, event: Event, options: ListenOptions) -> Listening {
        let listener = Arc::new(self);
        let call = Box::new(move |model: &dyn AnyModel| -> Callback {
            let listener = Arc::clone(&listener);
            let row = model.to_row();
            Box::new(move || Box::pin(async move { listener.call(&row).await }))
        });
        register_every(event, type_name::<L>(), options, EveryCall::Commit(call))
    }
}

/// Registers `listener` for `event` while the program runs, SQLAlchemy's `event.listen`:
/// for the model its argument names, or for every model when it takes `&dyn AnyModel`. It
/// runs after the struct-side and function-side listeners of the event, in registration
/// order, from the next write on, until the returned handle is dropped or
/// [`Listening::remove`]d.
///
/// ```
/// use model_core::{listen, on, Model};
/// # #[derive(Model)] struct Post { id: Option<i64>, title: String }
///
/// let listening = listen(on::BeforeInsert, |post: &mut Post| post.title.push('!'));
/// // ... inserts of `Post` add a `!` ...
/// drop(listening); // ... and no longer do.
/// ```
///
/// Any number of tasks may listen, remove and write at once. A write under way while a
/// listener comes or goes may or may not run it.
///
/// Each call is a registration of its own, with its own handle: `listen` the same closure
/// or function twice and it runs twice, once per registration, and removing one handle
/// leaves the other. (Unlike a function named by two paths on the struct or with
/// `#[listens_for]`, which runs once: a run-time listener is a value, and two closures of
/// one type may carry different state.) To listen at most once, keep the handle and
/// register only when you hold none.
pub fn listen<Target, E, Marker, L>(event: E, listener: L) -> Listening
where
    E: on::EventType,
    L: RuntimeListener<Target, E::Shape, Marker>,
{
    let _ = event;
    listener.__register(E::EVENT, ListenOptions::new())
}

/// [`listen`] with [`ListenOptions`]: first in the order, once, or once per key.
pub fn listen_with<Target, E, Marker, L>(event: E, listener: L, options: ListenOptions) -> Listening
where
    E: on::EventType,
    L: RuntimeListener<Target, E::Shape, Marker>,
{
    let _ = event;
    listener.__register(E::EVENT, options)
}

/// Like [`listen`], but the listener runs once, for the first row that fires `event` (one
/// write of many concurrent ones gets it), and is then removed. An after-commit listener
/// is used up when it runs, not when a write that is later rolled back queues it.
pub fn once<Target, E, Marker, L>(event: E, listener: L) -> Listening
where
    E: on::EventType,
    L: RuntimeListener<Target, E::Shape, Marker>,
{
    let _ = event;
    listener.__register(E::EVENT, ListenOptions::new().once())
}

/// A run-time listener, registered by [`listen`] or [`once`] until this is dropped.
#[must_use = "dropping the handle removes the listener at once; `.keep()` keeps it for the rest of the program"]
pub struct Listening {
    id: u64,
    /// `None` once kept.
    remove: Option<Remove>,
}

/// Which list a [`Listening`] removes its listener from.
enum Remove {
    /// The run-time listeners of one model.
    Model(&'static Listeners),
    /// [`EVERY`].
    Every,
    /// A set of [`TransactionListeners`].
    Transaction,
    /// A statement listener ([`on_statement`]).
    Statement,
}

impl Listening {
    /// Removes the listener, SQLAlchemy's `event.remove`: writes that begin afterwards do
    /// not run it. Dropping the handle does the same.
    pub fn remove(self) {}

    /// Keeps the listener registered for the rest of the program.
    pub fn keep(mut self) {
        self.remove = None;
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        match self.remove.take() {
            Some(Remove::Model(cell)) => remove_typed(cell, self.id),
            Some(Remove::Every) => remove_every(self.id),
            Some(Remove::Transaction) => crate::db::transaction_events::remove_global(self.id),
            Some(Remove::Statement) => crate::db::statement::remove(self.id),
            None => {}
        }
    }
}

impl TransactionListeners {
    /// Switches these listeners on for every transaction of the program that begins from
    /// now on, until the handle is dropped (or `.keep()` keeps them), as [`listen`] does for
    /// a row listener.
    pub fn listen(self) -> Listening {
        Listening {
            id: self.register_global(),
            remove: Some(Remove::Transaction),
        }
    }
}

/// Registers `listener` for every statement model-core sends, SQLAlchemy's
/// `before_cursor_execute` and `after_cursor_execute` in one: it is called before each
/// statement is sent and after it is answered, with its SQL, model and operation, and
/// after, the rows and the time it took or its error ([`StatementEvent`]). For query
/// logging, timing and counting. Until the returned handle is dropped or
/// [`Listening::remove`]d.
///
/// The SQL is the statement's text with its placeholders: bound values are never part of
/// it. `BEGIN`, `COMMIT` and savepoints are not statements here (see
/// [`TransactionListeners`]).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use model_core::{on_statement, StatementPhase};
///
/// let sent = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&sent);
/// let listening = on_statement(move |statement| {
///     if let StatementPhase::After { .. } = statement.phase {
///         counter.fetch_add(1, Ordering::Relaxed);
///     }
/// });
/// // ... every statement sent is counted ...
/// drop(listening); // ... and no longer.
/// ```
///
/// A listener is global and synchronous: it runs inside the write or read that sends the
/// statement, on its task, so keep it short (a counter, a histogram, a log line). Without
/// any, a statement costs one atomic load more than it would otherwise.
pub fn on_statement<L>(listener: L) -> Listening
where
    L: Fn(&StatementEvent<'_>) + Send + Sync + 'static,
{
    Listening {
        id: crate::db::statement::add(Arc::new(listener)),
        remove: Some(Remove::Statement),
    }
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening").field("id", &self.id).finish()
    }
}
