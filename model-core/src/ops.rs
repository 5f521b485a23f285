//! The operations behind [`Model`]'s methods: one transaction (or savepoint) per call, the
//! listeners of each row around its statement, and rollback on every failure, panics included.

use std::any::Any;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::task::Poll;

use sqlx::{Acquire, Connection as _};

use crate::backend::{Backend, Dialect};
use crate::batch;
use crate::commit;
use crate::error::Error;
use crate::listener::Event;
use crate::model::Model;
use crate::session::Session;

/// Which rows of a model to read with [`Model::page`], by primary key.
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
/// [`crate::commit`].
pub(crate) async fn write<'c, M, A>(mut batch: Batch<'_, M>, db: A) -> Result<(), Error>
where
    M: Model,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let mut conn = db
        .acquire()
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    // The write's state (statements, listener futures, a listener's own writes) lives in one
    // heap allocation: inline, a write whose listener writes another model would make a
    // future of tens of kilobytes for the caller to hold (clippy's `large_futures`).
    if conn.is_in_transaction() {
        if batch.has_commit_listeners() && !commit::is_open() {
            return Err(Error::CommitScope { model: M::NAME });
        }
        return Box::pin(write_on::<M, A::Database>(&mut batch, &mut conn)).await;
    }
    // This write owns the outermost transaction: it runs the after-commit listeners queued
    // by itself and by whatever its listeners wrote, once it has committed.
    commit::outermost(Box::pin(async {
        // SQLite: wait for this process's earlier writers of the file first (`writers`).
        let _turn = <A::Database as Backend>::__writer_turn(&mut conn)
            .await
            .map_err(|e| Error::from_sqlx(M::NAME, e))?;
        write_on::<M, A::Database>(&mut batch, &mut conn).await
    }))
    .await
}

async fn write_on<M: Model, DB: Backend>(
    batch: &mut Batch<'_, M>,
    conn: &mut DB::Connection,
) -> Result<(), Error> {
    // One statement whose listeners all run before it (synchronously: an async listener
    // begins the transaction itself, see `Session`) is atomic on its own. In a caller's
    // transaction too on SQLite and MySQL, which undo a failed statement and nothing
    // else; PostgreSQL instead aborts the whole transaction, so there it gets a savepoint
    // (one `SAVEPOINT` and one `RELEASE` more) and the caller's transaction stays usable.
    let needs_transaction = batch.models().len() != 1
        || batch.has_after_listeners()
        || (conn.is_in_transaction() && DB::DIALECT == Dialect::Postgres);
    let mut session = Session::<DB>::new(conn);
    if needs_transaction {
        session
            .begin()
            .await
            .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    }
    let mut keys = KeyGuard::new(batch);
    let outcome = catch_panic(write_in(keys.batch, &mut session)).await;
    // Without a transaction the one statement commits on its own: a connection lost
    // during it leaves the outcome unknown, as during a COMMIT.
    let autocommit = session.autocommits();
    let result = finish::<M, _, _>(session, outcome).await.map_err(|error| {
        if autocommit {
            error.at_commit()
        } else {
            error
        }
    });
    if result.is_ok() {
        keys.keep();
        let batch = &*keys.batch;
        if batch.has_commit_listeners() {
            let event = batch.commit_event();
            let queued = commit::enqueue(|queue| {
                for model in batch.models() {
                    model.__after_commit(event, queue);
                }
            });
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
struct KeyGuard<'b, 'm, M: Model> {
    batch: &'b mut Batch<'m, M>,
    /// For an insert, whether each model's key was unset (so the database generates it).
    unset: Vec<bool>,
}

impl<'b, 'm, M: Model> KeyGuard<'b, 'm, M> {
    fn new(batch: &'b mut Batch<'m, M>) -> Self {
        let unset = match &*batch {
            Batch::Insert(models) => models.iter().map(|m| m.__key().is_none()).collect(),
            Batch::Update(_) | Batch::Delete(_) => Vec::new(),
        };
        KeyGuard { batch, unset }
    }

    /// The write succeeded: its keys name stored rows, and stay.
    fn keep(&mut self) {
        self.unset.clear();
    }
}

impl<M: Model> Drop for KeyGuard<'_, '_, M> {
    fn drop(&mut self) {
        if let Batch::Insert(models) = &mut *self.batch {
            for (model, unset) in models.iter_mut().zip(&self.unset) {
                if *unset {
                    model.__set_key(None);
                }
            }
        }
    }
}

impl<M: Model> Batch<'_, M> {
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

    fn has_commit_listeners(&self) -> bool {
        M::listeners(self.commit_event()).next().is_some()
    }

    /// Whether a listener runs after the statement and could still veto it.
    fn has_after_listeners(&self) -> bool {
        let after = match self {
            Batch::Insert(_) => Event::AfterInsert,
            Batch::Update(_) => Event::AfterUpdate,
            Batch::Delete(_) => Event::AfterDelete,
        };
        M::listeners(after).next().is_some()
    }
}

async fn write_in<M: Model, DB: Backend>(
    batch: &mut Batch<'_, M>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    match batch {
        Batch::Insert([model]) => insert_in(model, session).await,
        Batch::Insert(models) => batch::insert_all(models, session).await,
        Batch::Update(models) => {
            for model in models.iter_mut() {
                update_in(model, session).await?;
            }
            Ok(())
        }
        Batch::Delete([model]) => delete_in(model, session).await,
        Batch::Delete(models) => batch::delete_all(models, session).await,
    }
}

async fn insert_in<M: Model, DB: Backend>(
    model: &mut M,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    model.__run_mut(Event::BeforeInsert, session).await?;
    prepare(model, DB::DIALECT)?;
    let sql = M::__statements(DB::DIALECT);
    let conn: &mut DB::Connection = session.conn();
    if model.__key().is_some() {
        let query = model.__bind(sqlx::query(sql.insert_with_key.as_str()), true);
        DB::execute(conn, query)
            .await
            .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    } else {
        let query = model.__bind(sqlx::query(sql.insert.as_str()), false);
        let key = DB::insert_returning_key::<M::Key>(conn, query)
            .await
            .map_err(|e| Error::from_sqlx(M::NAME, e))?;
        model.__set_key(Some(key));
    }
    model.__run_ref(Event::AfterInsert, session).await
}

async fn update_in<M: Model, DB: Backend>(
    model: &mut M,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    // The row to update is the one the model had when update was called: a listener that
    // changes the key field moves the row to the new key (the UPDATE sets every column,
    // key included), it does not retarget the UPDATE at another row.
    let key = model
        .__key()
        .cloned()
        .ok_or(Error::Unsaved { model: M::NAME })?;
    model.__run_mut(Event::BeforeUpdate, session).await?;
    prepare(model, DB::DIALECT)?;
    let sql = M::__statements(DB::DIALECT);
    let query = DB::bind(model.__bind(sqlx::query(sql.update.as_str()), true), &key);
    let affected = DB::execute(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    if affected == 0 {
        return Err(not_found::<M>(&key));
    }
    model.__run_ref(Event::AfterUpdate, session).await
}

async fn delete_in<M: Model, DB: Backend>(
    model: &M,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let key = model.__key().ok_or(Error::Unsaved { model: M::NAME })?;
    model.__run_ref(Event::BeforeDelete, session).await?;
    let sql = M::__statements(DB::DIALECT);
    let query = DB::bind(sqlx::query(sql.delete.as_str()), key);
    let affected = DB::execute(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    if affected == 0 {
        return Err(not_found::<M>(key));
    }
    model.__run_ref(Event::AfterDelete, session).await
}

/// Refuses a value the backend would reject or store as something else, and gives the model
/// the stored precision: after the `before_*` listeners (they may have set it) and before
/// any SQL.
pub(crate) fn prepare<M: Model>(model: &mut M, dialect: Dialect) -> Result<(), Error> {
    model
        .__prepare(dialect)
        .map_err(|(column, reason)| Error::Value {
            model: M::NAME,
            column,
            reason,
        })
}

pub(crate) fn not_found<M: Model>(key: &M::Key) -> Error {
    Error::NotFound {
        model: M::NAME,
        key: format!("{key:?}"),
    }
}

pub(crate) async fn find<'c, M, A>(db: A, key: M::Key) -> Result<Option<M>, Error>
where
    M: Model,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let mut conn = db
        .acquire()
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    let sql = M::__statements(<A::Database as Backend>::DIALECT);
    let query = <A::Database as Backend>::bind(sqlx::query(sql.select_by_key.as_str()), &key);
    let row = <A::Database as Backend>::fetch_optional(&mut conn, query)
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    match row {
        None => Ok(None),
        Some(row) => {
            let mut models = load::<M, A::Database>(vec![row], &mut conn).await?;
            Ok(models.pop())
        }
    }
}

pub(crate) async fn fetch<'c, M, A>(db: A, page: Option<Page>) -> Result<Vec<M>, Error>
where
    M: Model,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let mut conn = db
        .acquire()
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    let sql = M::__statements(<A::Database as Backend>::DIALECT);
    let query = match page {
        None => sqlx::query(sql.select_all.as_str()),
        Some(page) => {
            let text = if page.descending {
                &sql.select_page_desc
            } else {
                &sql.select_page_asc
            };
            // Bound as i64: the one integer type every backend accepts for LIMIT/OFFSET.
            let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
            let query =
                <A::Database as Backend>::bind(sqlx::query(text.as_str()), &i64::from(page.limit));
            <A::Database as Backend>::bind(query, &offset)
        }
    };
    let rows = <A::Database as Backend>::fetch_all(&mut conn, query)
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    load::<M, A::Database>(rows, &mut conn).await
}

/// Decodes rows and runs `load` listeners on each. An async load listener's SQL runs in a
/// transaction of the read's own, committed when every row is loaded.
async fn load<M: Model, DB: Backend>(
    rows: Vec<DB::Row>,
    conn: &mut DB::Connection,
) -> Result<Vec<M>, Error> {
    let mut session = Session::<DB>::new(conn);
    let loaded = async {
        let mut models = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut model = M::__from_row::<DB>(row).map_err(|e| Error::from_sqlx(M::NAME, e))?;
            model.__run_mut(Event::Load, &mut session).await?;
            models.push(model);
        }
        Ok(models)
    };
    let outcome = catch_panic(loaded).await;
    finish::<M, _, _>(session, outcome).await
}

/// Polls `future`, turning a panic inside it into an `Err` so the transaction can be rolled
/// back before the panic goes on.
async fn catch_panic<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = pin!(future);
    // AssertUnwindSafe: after a panic the future is never polled again, and the panic is
    // resumed as soon as the rollback is done, so no broken state is observed.
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        },
    )
    .await
}

/// Commits on success; otherwise rolls back, then returns the error or resumes the panic.
async fn finish<M: Model, DB: Backend, T>(
    session: Session<'_, DB>,
    outcome: Result<Result<T, Error>, Box<dyn Any + Send>>,
) -> Result<T, Error> {
    match outcome {
        Ok(Ok(value)) => {
            session
                .commit()
                .await
                .map_err(|e| Error::from_commit(M::NAME, e))?;
            Ok(value)
        }
        Ok(Err(error)) => {
            session.rollback().await;
            Err(error)
        }
        Err(panic) => {
            session.rollback().await;
            resume_unwind(panic)
        }
    }
}
