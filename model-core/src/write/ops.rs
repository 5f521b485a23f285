//! The operations behind [`Model`](crate::Model)'s methods: one transaction (or savepoint) per call, the
//! listeners of each row around its statement, and rollback on every failure, panics included.

use std::any::Any;
use std::borrow::Cow;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use sqlx::{Acquire, Connection as _};

use crate::base::error::Error;
use crate::db::backend::{Backend, Dialect};
use crate::db::commit;
use crate::db::key::PrimaryKey as _;
use crate::db::no_savepoints::BodyWrite;
use crate::db::scope::{self, Operation};
use crate::db::session::Session;
use crate::db::writers;
use crate::listen::has_in;
use crate::listen::listener::Event;
use crate::listen::record::Record;
use crate::write::batch;
use crate::write::row::{self, WriteRow};
use crate::write::version;

/// Which rows of a model to read with [`Model::page`](crate::Model::page), by primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Newest (highest key) first when `true`.
    pub descending: bool,
    /// At most this many rows.
    pub limit: u32,
    /// Skip this many rows first.
    pub offset: u64,
}

impl Page {
    /// The first `limit` rows, lowest key first.
    pub fn first(limit: u32) -> Self {
        Page {
            descending: false,
            limit,
            offset: 0,
        }
    }

    /// The first `limit` rows, highest key first: newest first for generated keys.
    pub fn newest(limit: u32) -> Self {
        Page {
            descending: true,
            limit,
            offset: 0,
        }
    }

    /// The same page size, skipping `offset` rows.
    pub fn offset(self, offset: u64) -> Self {
        Page { offset, ..self }
    }
}

/// The rows of one write call. A single write is a batch of one, so single and bulk writes
/// share one code path and a bulk write can never skip a listener.
pub(crate) enum Batch<'m, M> {
    Insert(&'m mut [M]),
    Update(&'m mut [M]),
    Delete(&'m [M]),
}

/// Runs a batch atomically: in a transaction (a savepoint if `db` already is one) whenever it
/// needs one, see [`Session`]; commits it, or rolls it back on an error or a panic. Its
/// `after_*_commit` listeners run once the outermost transaction has committed, see
/// [`crate::db::commit`].
///
/// Only this shell and [`Rows`] are compiled per model. The machinery (acquiring, the
/// writer turn, the transaction, panics, rollback, the after-commit queue) takes the batch
/// as `&mut dyn Rows` and is compiled once per backend: users pay its compile time once,
/// not once per model, and the virtual calls cost nanoseconds against a round trip.
pub(crate) async fn write<'c, M, A>(mut batch: Batch<'_, M>, db: A) -> Result<(), Error>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    write_rows(&mut batch, db).await
}

/// [`write`](fn@write) of an update batch, as `Model::update_all`: a future whose `Send` is proved
/// here, where the models' lifetime is one, rather than in a caller's higher-ranked bound.
pub(crate) fn update_all<'m, 'c, M, A>(
    models: &'m mut [M],
    db: A,
) -> impl Future<Output = Result<(), Error>> + Send + use<'m, 'c, M, A>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    write(Batch::Update(models), db)
}

/// [`write`](fn@write) of a delete batch, as `Model::delete_all` (see [`update_all`]).
pub(crate) fn delete_all<'m, 'c, M, A>(
    models: &'m [M],
    db: A,
) -> impl Future<Output = Result<(), Error>> + Send + use<'m, 'c, M, A>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    write(Batch::Delete(models), db)
}

/// [`write`](fn@write) for `insert`, `update` and `delete`: one row, through [`One`]; generic over the
/// connection type only.
///
/// This and [`write_rows`] are plain functions, not `async fn`s, which would hold their
/// arguments twice (as arguments, and as the locals they are moved to): the write's future
/// is boxed per call (`ModelFuture`), and a small box is cheaper to fill and to allocate
/// (glibc serves up to 1,032 bytes from a per-thread cache, a write in a caller's
/// PostgreSQL transaction is 1,008).
#[allow(clippy::manual_async_fn)]
pub(crate) fn write_one<'m, 'c, A>(
    mut one: One<'m, A::Database>,
    db: A,
) -> impl Future<Output = Result<(), Error>> + use<'m, 'c, A>
where
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    async move { write_rows(&mut one, db).await }
}

/// Runs a write inside its [`Scope`](crate::db::scope::Scope): the model and operation its
/// statements are reported with, and its `tracing` span.
pub(crate) fn write_rows<'r, 'c, A>(
    rows: &'r mut dyn Rows<A::Database>,
    db: A,
) -> impl Future<Output = Result<(), Error>> + use<'r, 'c, A>
where
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let (model, (operation, count)) = (rows.model(), rows.operation());
    scope::within(
        model,
        operation,
        move |()| Some(count),
        write_scoped(rows, db),
    )
}

async fn write_scoped<'c, A>(rows: &mut dyn Rows<A::Database>, db: A) -> Result<(), Error>
where
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let name = rows.model();
    let mut conn = db.acquire().await.map_err(|e| Error::from_sqlx(name, e))?;
    // The write's state (its session, the transaction's futures) is well under a kilobyte:
    // the rows' statements and listener calls are boxed by `Rows::run`, a listener's own
    // writes by their `ModelFuture`. A write in a caller's transaction, the one made row by
    // row, keeps it inline, in the box its caller holds anyway (`ModelFuture`): one heap
    // allocation per write, not two. The outermost write's, which adds the after-commit
    // queue, is boxed whole, so that it does not make every write's future larger.
    if conn.is_in_transaction() {
        // A failed write leaves the outer transaction going: what it queued goes with it.
        // (`write_on` refuses a write whose commit listeners could not run.) Pinned here:
        // moved into `savepoint`, an `async fn`, it would be held there twice, as the
        // argument and as the future awaited.
        let mut session = Session::<A::Database>::new(&mut conn);
        let write = pin!(write_on::<A::Database>(rows, &mut session));
        return commit::savepoint(write).await;
    }
    // This write owns the outermost transaction: it runs the after-commit listeners queued
    // by itself and by whatever its listeners wrote, once it has committed.
    Box::pin(commit::outermost(async {
        // SQLite: wait for this process's earlier writers of the file first (`writers`).
        let turn = writers::for_write::<A::Database>(&mut conn)
            .await
            .map_err(|e| Error::from_sqlx(name, e))?;
        let mut session = Session::<A::Database>::new(&mut conn);
        session.hold(turn);
        write_on::<A::Database>(rows, &mut session).await
    }))
    .await
}

/// What the write machinery needs of a batch without knowing its model: the model's part
/// of a write (its listeners, binding, keys), behind one vtable.
pub(crate) trait Rows<DB: Backend>: Send {
    /// The model's name, for errors.
    fn model(&self) -> &'static str;
    /// What the write does, and to how many rows: its statements' operation and its span's.
    fn operation(&self) -> (Operation, usize);
    /// The model's listener state word, read once for the whole write and kept in
    /// `session` ([`Session::listener_state`]): the `state` the next two take.
    fn listener_state(&self, session: &mut Session<'_, DB>) -> u32;
    /// Whether the batch needs a transaction of its own whatever its listeners do: more
    /// than one row, or a listener after the statement that could still veto it.
    fn needs_transaction(&self, state: u32) -> bool;
    /// Whether the model has listeners of this batch's after-commit event, of
    /// `before_commit` or of `after_rollback`: the write must see the outermost transaction
    /// end (`events::needs_commit_scope`).
    fn has_commit_listeners(&self, state: u32) -> bool;
    /// For an insert, whether each row's key is unset (the database generates it).
    /// Borrowed for one row: a write of one row allocates nothing for it.
    fn unset_keys(&self) -> Cow<'static, [bool]>;
    /// Clears the keys of the rows marked in `unset`.
    fn clear_keys(&mut self, unset: &[bool]);
    /// For an update of a versioned model, each row's version before the write: an update
    /// bumps it, a failed write gives it back (`version::saved`). Empty otherwise.
    fn saved_versions(&self) -> Vec<i64>;
    /// Gives the rows back the versions `saved_versions` returned.
    fn restore_versions(&mut self, saved: &[i64]);
    /// The rows' listeners and statements, in order.
    fn run<'a>(
        &'a mut self,
        session: &'a mut Session<'_, DB>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;
    /// Queues the after-commit listeners of every row.
    fn queue_commit(&self, queue: &mut Vec<commit::Callback>);
}

impl<M: Record, DB: Backend> Rows<DB> for Batch<'_, M> {
    fn model(&self) -> &'static str {
        M::__TABLE.model
    }

    fn operation(&self) -> (Operation, usize) {
        let operation = match self {
            Batch::Insert(_) => Operation::Insert,
            Batch::Update(_) => Operation::Update,
            Batch::Delete(_) => Operation::Delete,
        };
        (operation, self.models().len())
    }

    fn listener_state(&self, session: &mut Session<'_, DB>) -> u32 {
        crate::listen::state_of(session, M::__listeners())
    }

    fn needs_transaction(&self, state: u32) -> bool {
        self.models().len() != 1 || self.has_after_listeners(state)
    }

    fn has_commit_listeners(&self, state: u32) -> bool {
        crate::listen::needs_commit_scope(self.commit_event(), |e| has_in::<M>(state, e))
    }

    fn unset_keys(&self) -> Cow<'static, [bool]> {
        match self {
            Batch::Insert(models) => models.iter().map(|m| m.__key().is_none()).collect(),
            Batch::Update(_) | Batch::Delete(_) => Cow::Borrowed(&[]),
        }
    }

    fn clear_keys(&mut self, unset: &[bool]) {
        if let Batch::Insert(models) = self {
            for (model, unset) in models.iter_mut().zip(unset) {
                if *unset {
                    model.__set_key(None);
                }
            }
        }
    }

    fn saved_versions(&self) -> Vec<i64> {
        match self {
            Batch::Update(models) => version::saved(models),
            Batch::Insert(_) | Batch::Delete(_) => Vec::new(),
        }
    }

    fn restore_versions(&mut self, saved: &[i64]) {
        if let Batch::Update(models) = self {
            version::restore(models, saved);
        }
    }

    fn run<'a>(
        &'a mut self,
        session: &'a mut Session<'_, DB>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>> {
        Box::pin(write_in(self, session))
    }

    fn queue_commit(&self, queue: &mut Vec<commit::Callback>) {
        let event = self.commit_event();
        for model in self.models() {
            crate::listen::after_commit(model, event, queue);
        }
    }
}

/// The write of one row by `insert`, `update` or `delete`. Not generic over the model: the
/// row is behind [`WriteRow`]'s vtable, so the whole one-row write, from the transaction to
/// the listener calls, is compiled once per backend (issue 10: compile cost per model).
pub(crate) enum One<'m, DB: Backend> {
    Insert(&'m mut dyn WriteRow<DB>),
    Update(&'m mut dyn WriteRow<DB>),
    Delete(&'m dyn WriteRow<DB>),
}

impl<DB: Backend> One<'_, DB> {
    fn row(&self) -> &dyn WriteRow<DB> {
        match self {
            One::Insert(row) | One::Update(row) => &**row,
            One::Delete(row) => *row,
        }
    }

    fn events(&self) -> (Event, Event) {
        match self {
            One::Insert(_) => (Event::AfterInsert, Event::AfterInsertCommit),
            One::Update(_) => (Event::AfterUpdate, Event::AfterUpdateCommit),
            One::Delete(_) => (Event::AfterDelete, Event::AfterDeleteCommit),
        }
    }
}

impl<DB: Backend> Rows<DB> for One<'_, DB> {
    fn model(&self) -> &'static str {
        self.row().cell().name
    }

    fn operation(&self) -> (Operation, usize) {
        let operation = match self {
            One::Insert(_) => Operation::Insert,
            One::Update(_) => Operation::Update,
            One::Delete(_) => Operation::Delete,
        };
        (operation, 1)
    }

    fn listener_state(&self, session: &mut Session<'_, DB>) -> u32 {
        crate::listen::state_of(session, self.row().cell())
    }

    fn needs_transaction(&self, state: u32) -> bool {
        let row = self.row();
        crate::listen::vetoes_after_statement(self.events().0, |e| row.listens(state, e))
    }

    fn has_commit_listeners(&self, state: u32) -> bool {
        let row = self.row();
        crate::listen::needs_commit_scope(self.events().1, |e| row.listens(state, e))
    }

    fn unset_keys(&self) -> Cow<'static, [bool]> {
        match self {
            One::Insert(row) if row.has_key() => Cow::Borrowed(&[false]),
            One::Insert(_) => Cow::Borrowed(&[true]),
            One::Update(_) | One::Delete(_) => Cow::Borrowed(&[]),
        }
    }

    fn clear_keys(&mut self, unset: &[bool]) {
        if let (One::Insert(row), [true]) = (self, unset) {
            row.clear_key();
        }
    }

    fn saved_versions(&self) -> Vec<i64> {
        match self {
            One::Update(row) => row.version().into_iter().collect(),
            One::Insert(_) | One::Delete(_) => Vec::new(),
        }
    }

    fn restore_versions(&mut self, saved: &[i64]) {
        if let (One::Update(row), [version]) = (self, saved) {
            row.set_version(*version);
        }
    }

    fn run<'a>(
        &'a mut self,
        session: &'a mut Session<'_, DB>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>> {
        match self {
            One::Insert(row) => Box::pin(row::insert::<DB>(&mut **row, session)),
            One::Update(row) => Box::pin(row::update::<DB>(&mut **row, session)),
            // A version is checked by `batch::delete_versioned`, which only the derive of a
            // versioned model writes.
            One::Delete(row) if row.version().is_some() => row.delete_versioned(session),
            One::Delete(row) => Box::pin(row::delete::<DB>(*row, session)),
        }
    }

    fn queue_commit(&self, queue: &mut Vec<commit::Callback>) {
        self.row().queue_after_commit(self.events().1, queue);
    }
}

/// The write of `rows` in `session`, a new one on the write's connection, which holds the
/// SQLite writer's turn of a write that owns the outermost transaction until it has
/// committed or rolled back. (The caller keeps the session: by value it would be in this
/// future twice, as the argument and as the local an `async fn` moves it to.)
async fn write_on<DB: Backend>(
    rows: &mut dyn Rows<DB>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let name = rows.model();
    // This write owns the outermost transaction: its rows' `before_commit` listeners run
    // right before its commit.
    let outermost = !session.connection().is_in_transaction();
    // The one atomic load of the write: every listener point after it reads the session's
    // copy.
    let state = rows.listener_state(session);
    // Asked once: `state` is the write's, so the answers hold for all of it.
    let commit_listeners = rows.has_commit_listeners(state);
    let vetoes_after = rows.needs_transaction(state);
    // In a transaction model-core did not begin, nobody would run its commit listeners.
    if !outermost && commit_listeners && !commit::is_open() {
        return Err(Error::CommitScope { model: name });
    }
    // One statement whose listeners all run before it (synchronously: an async listener
    // begins the transaction itself, see `Session`) is atomic on its own. In a caller's
    // transaction too on SQLite and MySQL, which undo a failed statement and nothing
    // else; PostgreSQL instead aborts the whole transaction, so there it gets a savepoint
    // (one `SAVEPOINT` and one `RELEASE` more) and the caller's transaction stays usable,
    // unless the caller chose to have its commit refused instead (`no_savepoints`).
    let pg_in_caller = !outermost && DB::DIALECT == Dialect::Postgres;
    let body_write = match pg_in_caller {
        true => BodyWrite::of(&*session.connection(), name, !vetoes_after),
        false => None,
    };
    let needs_transaction = vetoes_after
        || (pg_in_caller && !body_write.as_ref().is_some_and(BodyWrite::unguarded))
        // The transaction's own listeners that take its connection run in it.
        || (outermost && commit::transaction_listeners_need_a_transaction());
    if needs_transaction {
        session
            .begin()
            .await
            .map_err(|e| Error::from_sqlx(name, e))?;
        if outermost {
            // Right after `BEGIN`: the transaction's listeners that set it up.
            if let Err(error) = commit::after_begin::<DB>(session.connection()).await {
                return finish_as(name, session, Ok(Err(error))).await;
            }
        }
    }
    let mut keys = KeyGuard::new(rows);
    let outcome = catch_panic(async {
        keys.rows.run(session).await?;
        if outermost && commit::before_commit_pending() {
            session
                .begin()
                .await
                .map_err(|e| Error::from_sqlx(name, e))?;
            commit::before_commit::<DB>(session.connection()).await?;
        }
        Ok(())
    })
    .await;
    // Without a transaction the one statement commits on its own: a connection lost
    // during it leaves the outcome unknown, as during a COMMIT.
    let autocommit = session.autocommits();
    let began = session.began();
    let result = finish_as(name, session, outcome).await.map_err(|error| {
        if autocommit {
            error.at_commit()
        } else {
            error
        }
    });
    if let Some(write) = body_write {
        write.ended(&result, began);
    }
    if result.is_ok() {
        keys.keep();
        if commit_listeners {
            let rows = &*keys.rows;
            let queued = commit::enqueue(|queue| rows.queue_commit(queue));
            debug_assert!(queued, "write() checked that a queue is open");
        }
    }
    result
}

/// Clears the keys an insert had the database generate, unless the write is kept: after
/// an error, a panic or a dropped future (a timeout, a client gone) they name no row, and
/// the next insert may be given the same key.
///
/// Which keys to clear is decided from the models before anything runs, not from whether a
/// transaction was begun: a listener may begin one later, and a commit may fail after the
/// key was set.
struct KeyGuard<'b, DB: Backend> {
    rows: &'b mut dyn Rows<DB>,
    /// For an insert, whether each model's key was unset (so the database generates it).
    unset: Cow<'static, [bool]>,
    /// For an update of a versioned model, each row's version before it.
    versions: Vec<i64>,
}

impl<'b, DB: Backend> KeyGuard<'b, DB> {
    fn new(rows: &'b mut dyn Rows<DB>) -> Self {
        let unset = rows.unset_keys();
        let versions = rows.saved_versions();
        KeyGuard {
            rows,
            unset,
            versions,
        }
    }

    /// The write succeeded: its keys name stored rows, and stay.
    fn keep(&mut self) {
        self.unset = Cow::Borrowed(&[]);
        self.versions.clear();
    }
}

impl<DB: Backend> Drop for KeyGuard<'_, DB> {
    fn drop(&mut self) {
        if self.unset.contains(&true) {
            self.rows.clear_keys(&self.unset);
        }
        if !self.versions.is_empty() {
            self.rows.restore_versions(&self.versions);
        }
    }
}

impl<M: Record> Batch<'_, M> {
    fn models(&self) -> &[M] {
        match self {
            Batch::Insert(models) | Batch::Update(models) => models,
            Batch::Delete(models) => models,
        }
    }

    fn commit_event(&self) -> Event {
        match self {
            Batch::Insert(_) => Event::AfterInsertCommit,
            Batch::Update(_) => Event::AfterUpdateCommit,
            Batch::Delete(_) => Event::AfterDeleteCommit,
        }
    }

    /// Whether a listener runs after the statement and could still veto it: an `after_*`
    /// listener, or a `before_commit` one.
    fn has_after_listeners(&self, state: u32) -> bool {
        let after = match self {
            Batch::Insert(_) => Event::AfterInsert,
            Batch::Update(_) => Event::AfterUpdate,
            Batch::Delete(_) => Event::AfterDelete,
        };
        crate::listen::vetoes_after_statement(after, |e| has_in::<M>(state, e))
    }
}

async fn write_in<M: Record, DB: Backend>(
    batch: &mut Batch<'_, M>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    match batch {
        Batch::Insert([model]) => row::insert::<DB>(model, session).await,
        Batch::Insert(models) => batch::insert_all(models, session).await,
        Batch::Update([model]) => row::update::<DB>(model, session).await,
        Batch::Update(models) => {
            if let Some(tracked) = M::__update_tracked_all(models, session) {
                return tracked.await;
            }
            let mut rows: Vec<&mut dyn row::WriteRow<DB>> = models
                .iter_mut()
                .map(|m| m as &mut dyn row::WriteRow<DB>)
                .collect();
            row::update_all::<DB>(&mut rows, session).await
        }
        // A version is checked row by row, so that a conflict names its row (version.rs).
        Batch::Delete(models) if M::__VERSION.is_some() => {
            M::__delete_versioned(models, session).await
        }
        Batch::Delete([model]) => row::delete::<DB>(model, session).await,
        Batch::Delete(models) => batch::delete_all(models, session).await,
    }
}

/// The row with `key`, if there is one, handed to `then` with the key ([`found`] keeps the
/// `Option`, [`required`] turns `None` into [`Error::NotFound`]). Only the binding,
/// [`Loading`]'s `poll` and `then` are compiled per model: the read is [`read`]'s, once per
/// connection type, and `then` a `fn` pointer, not a closure (issue 28: compile cost per
/// model).
///
/// `source`, when given, is read instead of the prepared statement: the `SELECT` of a model
/// with `before_query` listeners, as they left it, their answer or their refusal
/// (`query::by_key`).
pub(crate) fn find<'c, M, A, T>(
    db: A,
    key: M::__Key,
    source: Option<Source<A::Database>>,
    then: Then<A::Database, M::__Key, T>,
) -> impl Future<Output = Result<T, Error>> + Send + use<'c, M, A, T>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let source = match source {
        Some(source) => source,
        None => {
            let sql = M::__statements(<A::Database as Backend>::DIALECT);
            Source::Statement(key.__bind(sqlx::query(sql.select_by_key.as_str())))
        }
    };
    Loading {
        read: read(db, source, Box::new(Loaded::<M>(Vec::new()))),
        with: Some(key),
        then,
    }
}

/// [`Model::find`](crate::Model::find)'s `then` for [`find`]: the row, if one was read.
pub(crate) fn found<M: Record, DB: Backend>(
    read: Read<DB>,
    _: M::__Key,
) -> Result<Option<M>, Error> {
    let mut found = None;
    match take(read, &mut found) {
        Ok(()) => Ok(found),
        Err(e) => Err(e),
    }
}

/// [`Model::get`](crate::Model::get)'s `then` for [`find`]: the row, or
/// [`Error::NotFound`].
pub(crate) fn required<M: Record, DB: Backend>(read: Read<DB>, key: M::__Key) -> Result<M, Error> {
    let mut found = None;
    // `match`es, not `?`: that would be compiled once per model.
    match take(read, &mut found) {
        Ok(()) => match found {
            Some(found) => Ok(found),
            None => Err(super::rules::not_found_key(M::__TABLE.model, &key)),
        },
        Err(e) => Err(e),
    }
}

/// Moves the models a read loaded into `models` (an `Option<M>` or a `Vec<M>`), or gives
/// its error: the part of every `then` that is not generic over the model.
fn take<DB: Backend>(read: Read<DB>, models: &mut dyn Any) -> Result<(), Error> {
    read.map(|mut loader| loader.take(models))
}

pin_project_lite::pin_project! {
    /// A read's future with what its model's type adds: `then` moves the models the read
    /// loaded out of its loader (into an `Option<M>` for [`find`], a `Vec<M>` for
    /// [`fetch`]) with `with` (the key, for [`find`]). A `poll` written out and a `fn`
    /// pointer, not an `async` block or a closure: each of those is a type of its own,
    /// compiled once per model and connection type (issue 28). `then` is compiled once per
    /// model, whatever the connection type.
    struct Loading<R, DB: Backend, W, T> {
        #[pin]
        read: R,
        with: Option<W>,
        then: Then<DB, W, T>,
    }
}

/// What a read gives [`Loading`]'s `then`: its loader, or its error.
type Read<DB> = Result<Box<dyn Loader<DB>>, Error>;

/// [`Loading`]'s `then`: the read's models, as the caller wants them, from the loader and
/// `W` (the key, for [`find`]).
type Then<DB, W, T> = fn(Read<DB>, W) -> Result<T, Error>;

impl<R, DB, W, T> Future for Loading<R, DB, W, T>
where
    R: Future<Output = Read<DB>>,
    DB: Backend,
{
    type Output = Result<T, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let read = std::task::ready!(this.read.poll(cx));
        let Some(with) = this.with.take() else {
            polled_after_completion()
        };
        Poll::Ready((this.then)(read, with))
    }
}

#[cold]
fn polled_after_completion() -> ! {
    panic!("a read polled after it completed")
}

/// What a read sends, or what it returns without sending anything: [`find`] and [`fetch`]
/// of a model with `before_query` listeners.
pub(crate) enum Source<DB: Backend> {
    /// This statement.
    Statement(crate::base::dialect::Query<'static, DB>),
    /// Nothing: these rows ([`crate::Select::answer`]).
    Answer(crate::db::rows::Answer),
    /// Nothing: this error (a listener refused the query, or a value cannot be sent).
    Refused(Error),
}

/// Every row, or one page of them, in key order; or what `source` reads (as [`find`]).
pub(crate) fn fetch<'c, M, A>(
    db: A,
    page: Option<Page>,
    source: Option<Source<A::Database>>,
) -> impl Future<Output = Result<Vec<M>, Error>> + Send + use<'c, M, A>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let sql = M::__statements(<A::Database as Backend>::DIALECT);
    let query = match (source, page) {
        (Some(source), _) => source,
        (None, None) => Source::Statement(sqlx::query(sql.select_all.as_str())),
        (None, Some(page)) => {
            let text = if page.descending {
                &sql.select_page_desc
            } else {
                &sql.select_page_asc
            };
            // Bound as i64: the one integer type every backend accepts for LIMIT/OFFSET.
            let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
            let query =
                <A::Database as Backend>::bind(sqlx::query(text.as_str()), &i64::from(page.limit));
            Source::Statement(<A::Database as Backend>::bind(query, &offset))
        }
    };
    Loading {
        read: read(db, query, Box::new(Loaded::<M>(Vec::new()))),
        with: Some(()),
        then: every::<M, A::Database>,
    }
}

/// [`fetch`]'s `then`: every model read.
fn every<M: Record, DB: Backend>(read: Read<DB>, (): ()) -> Result<Vec<M>, Error> {
    let mut models = Vec::new();
    match take(read, &mut models) {
        Ok(()) => Ok(models),
        Err(e) => Err(e),
    }
}

/// Runs a read and loads its rows into `loader`, which it gives back: the machinery,
/// compiled once per backend and connection type, not once per model (see [`write`](fn@write)).
async fn read<'c, A>(
    db: A,
    source: Source<A::Database>,
    mut loader: Box<dyn Loader<A::Database>>,
) -> Result<Box<dyn Loader<A::Database>>, Error>
where
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let name = loader.model();
    let read = async move {
        let query = match source {
            Source::Statement(query) => query,
            Source::Answer(answer) => {
                let rows = loader.answer(answer);
                return Ok((loader, rows));
            }
            Source::Refused(error) => return Err(error),
        };
        let mut conn = db.acquire().await.map_err(|e| Error::from_sqlx(name, e))?;
        let rows = <A::Database as Backend>::fetch_all(&mut conn, query)
            .await
            .map_err(|e| Error::from_sqlx(name, e))?;
        load_into::<A::Database>(&rows, &mut conn, &mut *loader).await?;
        Ok((loader, rows.len()))
    };
    let counted = |(_, rows): &(_, usize)| Some(*rows);
    let (loader, _) = scope::within(name, Operation::Select, counted, read).await?;
    Ok(loader)
}

/// The model's part of a read: decoding a row and running its `load` listeners.
pub(crate) trait Loader<DB: Backend>: Send {
    /// The model's name, for errors.
    fn model(&self) -> &'static str;
    /// Whether the model has `load` listeners (else [`Loader::decode`] is the whole load).
    fn has_listeners(&self) -> bool;
    /// Decodes `row` and keeps the model.
    fn decode(&mut self, row: &DB::Row) -> Result<(), Error>;
    /// Runs the `load` listeners on the model decoded last.
    fn load<'a>(
        &'a mut self,
        session: &'a mut Session<'_, DB>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;
    /// Moves the models read into `models`: a `Vec` of the loader's model, or an `Option`
    /// of it for the first (a read by key: an answer may hold more). (Rather than a
    /// `Box<dyn Any>` downcast of the loader: that is some 70 lines of LLVM IR a model,
    /// this a third of it.)
    fn take(&mut self, models: &mut dyn Any);
    /// Keeps the rows a `before_query` listener answered the read with, as if read; returns
    /// how many.
    fn answer(&mut self, answer: crate::db::rows::Answer) -> usize;
}

/// The models a read has loaded so far.
pub(crate) struct Loaded<M>(pub(crate) Vec<M>);

impl<M: Record, DB: Backend> Loader<DB> for Loaded<M> {
    fn model(&self) -> &'static str {
        M::__TABLE.model
    }

    fn has_listeners(&self) -> bool {
        has_load_listeners(M::__listeners())
    }

    fn decode(&mut self, row: &DB::Row) -> Result<(), Error> {
        // A `match`, not `map_err` and a closure: those would be compiled once per model.
        match M::__from_row::<DB>(row) {
            Ok(model) => {
                self.0.push(model);
                Ok(())
            }
            Err(e) => Err(Error::from_sqlx(M::__TABLE.model, e)),
        }
    }

    fn load<'a>(
        &'a mut self,
        session: &'a mut Session<'_, DB>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>> {
        let Some(model) = self.0.last_mut() else {
            not_its_loader()
        };
        Box::pin(crate::listen::run_mut(model, Event::Load, session))
    }

    fn take(&mut self, models: &mut dyn Any) {
        if let Some(first) = models.downcast_mut::<Option<M>>() {
            // The first (an answer may hold more); the rest go with the loader.
            if !self.0.is_empty() {
                *first = Some(self.0.swap_remove(0));
            }
            return;
        }
        // `let else` and a function that is not generic rather than `expect`, which is
        // compiled once per type it unwraps.
        let Some(models) = models.downcast_mut::<Vec<M>>() else {
            not_its_loader()
        };
        *models = std::mem::take(&mut self.0);
    }

    fn answer(&mut self, answer: crate::db::rows::Answer) -> usize {
        answer.take(&mut self.0);
        self.0.len()
    }
}

/// A loader used other than as [`read`] uses it: a `Vec` or `Option` of another model, or
/// `load` before `decode`. Not generic, so that the checks cost a call, not an `expect`
/// compiled once per model.
#[cold]
fn not_its_loader() -> ! {
    panic!("a read's loader is used with its own model, and `load` after `decode`")
}

/// Whether the model of `cell` has `load` listeners: [`Loader::has_listeners`], not generic
/// (its closure and `Iterator::any` would otherwise be compiled once per model).
fn has_load_listeners(cell: &'static crate::listen::private::Listeners) -> bool {
    cell.fixed().infos.iter().any(|l| l.event == Event::Load)
}

/// Decodes rows and runs `load` listeners on each. An async load listener's SQL runs in a
/// transaction of the read's own, committed when every row is loaded.
pub(crate) async fn load<M: Record, DB: Backend>(
    rows: Vec<DB::Row>,
    conn: &mut DB::Connection,
) -> Result<Vec<M>, Error> {
    let mut loaded = Loaded::<M>(Vec::with_capacity(rows.len()));
    load_into::<DB>(&rows, conn, &mut loaded).await?;
    Ok(loaded.0)
}

async fn load_into<DB: Backend>(
    rows: &[DB::Row],
    conn: &mut DB::Connection,
    loader: &mut dyn Loader<DB>,
) -> Result<(), Error> {
    if !loader.has_listeners() {
        return rows.iter().try_for_each(|row| loader.decode(row));
    }
    let name = loader.model();
    let mut session = Session::<DB>::new(conn);
    let loaded = async {
        for row in rows {
            loader.decode(row)?;
            loader.load(&mut session).await?;
        }
        Ok(())
    };
    let outcome = catch_panic(loaded).await;
    finish_as(name, &mut session, outcome).await
}

/// Polls `future`, turning a panic inside it into an `Err` so the transaction can be rolled
/// back before the panic goes on.
///
/// A future of its own, not an `async fn`: that would hold `future` twice, as its argument
/// and pinned, and a write's state is what its caller boxes (`ModelFuture`).
pub(crate) fn catch_panic<F: Future>(future: F) -> CatchPanic<F> {
    CatchPanic { future }
}

pin_project_lite::pin_project! {
    /// The future of [`catch_panic`].
    pub(crate) struct CatchPanic<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        // AssertUnwindSafe: after a panic the future is never polled again, and the panic is
        // resumed as soon as the rollback is done, so no broken state is observed.
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Commits on success; otherwise rolls back, then returns the error or resumes the panic.
/// (Not an `async fn`: see [`finish_as`].)
#[allow(clippy::manual_async_fn)]
pub(crate) fn finish<'s, M: Record, DB: Backend, T: 's>(
    mut session: Session<'s, DB>,
    outcome: Result<Result<T, Error>, Box<dyn Any + Send>>,
) -> impl Future<Output = Result<T, Error>> + 's {
    async move { finish_as(M::__TABLE.model, &mut session, outcome).await }
}

/// [`finish`] for a model known by name only: compiled once per backend and outcome type.
///
/// An `async` block that borrows the session, not an `async fn` that takes it: an `async
/// fn` holds its arguments twice (as arguments, and as the locals it moves them to), and
/// this future is part of every write's, which its caller boxes (`ModelFuture`).
#[allow(clippy::manual_async_fn)]
fn finish_as<'a, 's, DB: Backend, T: 'a>(
    name: &'static str,
    session: &'a mut Session<'s, DB>,
    outcome: Result<Result<T, Error>, Box<dyn Any + Send>>,
) -> impl Future<Output = Result<T, Error>> + use<'a, 's, DB, T> {
    async move {
        match &outcome {
            Ok(Ok(_)) => session
                .commit()
                .await
                .map_err(|e| Error::from_commit(name, e))?,
            Ok(Err(_)) | Err(_) => session.rollback().await,
        }
        outcome.unwrap_or_else(|panic| resume_unwind(panic))
    }
}
