//! [`Tracked`]: a change-tracking model beside the values it had when it was read or last
//! written.
//!
//! # The update
//!
//! The update of a change-tracking model, inside the write's transaction
//! ([`crate::write::ops`]); a plain model's is [`crate::write::row::update`].
//!
//! A plain model's update writes every column but the key. A `#[model(track_changes)]`
//! model's update compares the model with its original values (a [`crate::Tracked`]'s copy,
//! or the stored row, read first) and writes only the columns that differ; its listeners
//! get that change set. Either way the key is never written: it names the row.
//!
//! An update with no changed column sends no statement, and its listeners still run, with
//! an empty change set: a `before_update` listener may still change something (and then
//! the update writes it), the listener contract stays "every update runs its listeners"
//! (after-commit ones included, which cannot tell), and a listener that has nothing to do
//! when nothing changed says so itself (`changes.is_empty()`). Without a statement, a row
//! that no longer exists, or a stale version, goes unnoticed: nothing is written either way.

use crate::base::error::Error;
use crate::base::table::ReadBy;
use crate::db::backend::Backend;
use crate::db::commit::Callback;
use crate::db::key::PrimaryKey as _;
use crate::db::session::Session;
use crate::listen::has_in;
use crate::listen::listener::Event;
use crate::listen::record::Record;
use crate::write::changes::{ChangeSet, TrackChanges};
use crate::write::ops;
use crate::write::rules::{not_found, prepare, same_key};
use crate::write::version::no_row;
use sqlx::Acquire;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;

/// A `#[model(track_changes)]` model together with its original values: what it held when
/// it was read, inserted or last updated. It derefs to the model, so fields are read and
/// set as usual.
///
/// Its [`update`](Tracked::update) writes only the columns that differ from the original
/// values, never the key, and hands that change set to the `before_update` and
/// `after_update` listeners; with nothing changed it sends no statement. Two tracked copies
/// of one row, each changing a different field, therefore both keep their change. (Two
/// changes to the same field: the last write wins, unless the model has a
/// `#[model(version)]` column, which turns the second into [`Error::Conflict`].)
///
/// Wrap a model that holds what is stored (one just read: `Post::get(&pool, id).await?
/// .track()`, or just written) with [`TrackChanges::track`]. Every other operation goes
/// to the model through `Deref` (`post.delete(&pool)`, `post.title`).
///
/// After a successful `update`, `insert` or `update_all` here, the original values are the
/// written ones. (An `insert` or `update` called on the model itself, `(*post).update(..)`,
/// writes, but leaves the original values as they were.) Inside a transaction of your own
/// that you then roll back, the original values are those of the rolled-back write: read
/// the model again.
pub struct Tracked<M: TrackChanges> {
    model: M,
    original: M,
    /// The change set of the update in progress, applied to `original` once the whole
    /// write returned `Ok`: a later row's failure, or the commit's, leaves `original` as
    /// it was, so a retry writes the same changes.
    written: Option<M::Changes>,
}

impl<M: TrackChanges + Clone> Tracked<M> {
    /// Tracks `model`, taking its current values as the original ones: the values stored
    /// in its row, for a model just read or written.
    pub fn new(model: M) -> Self {
        Tracked {
            original: model.clone(),
            model,
            written: None,
        }
    }

    /// The values the model had when it was read or last written.
    pub fn original(&self) -> &M {
        &self.original
    }

    /// What an update would write now (before its `before_update` listeners run).
    pub fn changes(&self) -> M::Changes {
        M::__changes(&self.original, &self.model)
    }

    /// The model, no longer tracked.
    pub fn into_inner(self) -> M {
        self.model
    }

    /// Inserts the row (as [`Model::insert`](crate::Model::insert)); its values, generated key included, are
    /// then the original ones.
    ///
    /// Like every write, not an `async fn`: a plain `fn` whose future is declared `Send`
    /// lets a generic async listener call it (see [`crate::transaction`]).
    #[allow(clippy::manual_async_fn)]
    pub fn insert<'a, 'c, A>(
        &'a mut self,
        db: A,
    ) -> impl Future<Output = Result<(), Error>> + Send + use<'a, 'c, A, M>
    where
        A: Acquire<'c> + Send + 'a,
        A::Database: Backend,
    {
        async move {
            ops::write_one(ops::One::Insert(&mut self.model), db).await?;
            self.original = self.model.clone();
            Ok(())
        }
    }

    /// Updates the columns that changed since the model was read or last written: the
    /// `before_update` listeners (with the change set), `UPDATE` of the changed columns
    /// (none: no statement), the `after_update` listeners (with the change set, including
    /// what `before_update` listeners changed), atomically. No such row is
    /// [`Error::NotFound`]; with a `#[model(version)]` column, a row updated by someone
    /// else since is [`Error::Conflict`], and nothing is written.
    #[allow(clippy::manual_async_fn)]
    pub fn update<'a, 'c, A>(
        &'a mut self,
        db: A,
    ) -> impl Future<Output = Result<(), Error>> + Send + use<'a, 'c, A, M>
    where
        A: Acquire<'c> + Send + 'a,
        A::Database: Backend,
    {
        Self::update_all(std::slice::from_mut(self), db)
    }

    /// Updates every model's changed columns in one transaction, running each one's
    /// listeners with its change set: one failure, or one stale version, writes none.
    #[allow(clippy::manual_async_fn)]
    pub fn update_all<'a, 'c, A>(
        rows: &'a mut [Self],
        db: A,
    ) -> impl Future<Output = Result<(), Error>> + Send + use<'a, 'c, A, M>
    where
        A: Acquire<'c> + Send + 'a,
        A::Database: Backend,
    {
        async move {
            for row in rows.iter_mut() {
                row.written = None;
            }
            let result = ops::write_rows(&mut TrackedUpdate { rows: &mut *rows }, db).await;
            for row in rows.iter_mut() {
                if let (Ok(()), Some(changes)) = (&result, row.written.take()) {
                    M::__apply(&mut row.original, changes);
                    M::__copy_generated(&mut row.original, &row.model);
                    row.original.__set_version(row.model.__version());
                }
            }
            result
        }
    }
}

impl<M: TrackChanges> Deref for Tracked<M> {
    type Target = M;

    fn deref(&self) -> &M {
        &self.model
    }
}

impl<M: TrackChanges> DerefMut for Tracked<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.model
    }
}

impl<M: TrackChanges + Clone> Clone for Tracked<M> {
    fn clone(&self) -> Self {
        Tracked {
            model: self.model.clone(),
            original: self.original.clone(),
            written: None,
        }
    }
}

impl<M: TrackChanges + fmt::Debug> fmt::Debug for Tracked<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("model", &self.model)
            .field("original", &self.original)
            .finish()
    }
}

/// A tracked update as the write machinery sees it ([`ops::Rows`]): one transaction, the
/// after-commit queue, rollback, versions given back on failure; each row compared with
/// its own original values.
struct TrackedUpdate<'r, M: TrackChanges> {
    rows: &'r mut [Tracked<M>],
}

impl<M: TrackChanges, DB: Backend> ops::Rows<DB> for TrackedUpdate<'_, M> {
    fn model(&self) -> &'static str {
        M::__TABLE.model
    }

    fn operation(&self) -> (crate::Operation, usize) {
        (crate::Operation::Update, self.rows.len())
    }

    fn listener_state(&self, session: &mut Session<'_, DB>) -> u32 {
        crate::listen::state_of(session, M::__listeners())
    }

    fn needs_transaction(&self, state: u32) -> bool {
        self.rows.len() != 1
            || crate::listen::vetoes_after_statement(Event::AfterUpdate, |e| has_in::<M>(state, e))
    }

    fn has_commit_listeners(&self, state: u32) -> bool {
        crate::listen::needs_commit_scope(Event::AfterUpdateCommit, |e| has_in::<M>(state, e))
    }

    fn unset_keys(&self) -> Cow<'static, [bool]> {
        Cow::Borrowed(&[])
    }

    fn clear_keys(&mut self, _unset: &[bool]) {}

    fn saved_versions(&self) -> Vec<i64> {
        match M::__VERSION {
            Some(_) => self.rows.iter().map(|row| row.model.__version()).collect(),
            None => Vec::new(),
        }
    }

    fn restore_versions(&mut self, saved: &[i64]) {
        for (row, &version) in self.rows.iter_mut().zip(saved) {
            row.model.__set_version(version);
        }
    }

    fn run<'a>(
        &'a mut self,
        session: &'a mut Session<'_, DB>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>> {
        Box::pin(async move {
            // Every row's `before_update`, then the statements, then every `after_update`.
            let mut rows: Vec<(&mut M, Option<&M>)> = self
                .rows
                .iter_mut()
                .map(|row| (&mut row.model, Some(&row.original)))
                .collect();
            let changes = update_tracked_all::<M, DB>(&mut rows, session).await?;
            for (row, changes) in self.rows.iter_mut().zip(changes) {
                row.written = Some(changes);
            }
            Ok(())
        })
    }

    fn queue_commit(&self, queue: &mut Vec<Callback>) {
        for row in self.rows.iter() {
            crate::listen::after_commit(&row.model, Event::AfterUpdateCommit, queue);
        }
    }
}

/// Several tracked updates in SQLAlchemy's flush order, as every batch write
/// ([`crate::write::batch`]): every row's `before_update` listeners, then every row's statement,
/// then every row's `after_update` listeners. `originals` are a [`crate::Tracked`]'s copies,
/// one per model; without them, each stored row is read first. Returns each row's change
/// set.
pub(crate) async fn update_tracked_all<'m, M: TrackChanges + 'm, DB: Backend>(
    rows: &mut [(&'m mut M, Option<&'m M>)],
    session: &mut Session<'_, DB>,
) -> Result<Vec<M::Changes>, Error> {
    let mut pending = Vec::with_capacity(rows.len());
    for (model, original) in rows.iter_mut() {
        pending.push(before::<M, DB>(model, *original, session).await?);
    }
    for ((model, _), pending) in rows.iter_mut().zip(&pending) {
        statement::<M, DB>(model, pending, session).await?;
        // Its statement ran (or had nothing to write): `after_rollback` if a later row's
        // statement or listener undoes the update.
        crate::write::row::written::<DB>(&**model, Event::AfterUpdate, session)?;
    }
    for ((model, _), pending) in rows.iter_mut().zip(&pending) {
        after::<M, DB>(model, pending, session).await?;
    }
    Ok(pending.into_iter().map(|p| p.changes).collect())
}

/// One tracked update between its phases: what `before` found, for the statement and the
/// `after_update` listeners.
struct Pending<M: TrackChanges> {
    key: M::__Key,
    /// The version the model was read with, which the statement requires.
    read: i64,
    changes: M::Changes,
    /// The columns the statement writes; none sends no statement.
    columns: Vec<usize>,
}

/// The stored row or the original read, the `before_update` listeners run, the change set
/// computed.
async fn before<M: TrackChanges, DB: Backend>(
    model: &mut M,
    original: Option<&M>,
    session: &mut Session<'_, DB>,
) -> Result<Pending<M>, Error> {
    let key = model.__key().ok_or(Error::Unsaved {
        model: M::__TABLE.model,
    })?;
    let stored;
    // The version the model was read with, which the statement requires: the original's
    // for a tracked model (whatever its field says), the field's for a bare one.
    let (original, read) = match original {
        Some(original) => {
            same_key(original, &key)?;
            (original, original.__version())
        }
        None => {
            stored = read_locked::<M, DB>(&key, session).await?;
            if stored.__version() != model.__version() {
                // Stale, and the row is locked: no listener needs to run to know.
                return Err(Error::Conflict {
                    model: M::__TABLE.model,
                    key: format!("{key:?}"),
                });
            }
            (&stored, model.__version())
        }
    };
    // The struct-side listeners take the change set; the function-side and run-time ones
    // (which cannot) run after them, through `__run_mut`, as for any model.
    if has_own_listeners::<M>(Event::BeforeUpdate) {
        let before = M::__changes(original, model);
        model.__before_update(&before, session).await?;
    }
    crate::listen::run_mut(model, Event::BeforeUpdate, session).await?;
    same_key(model, &key)?;
    // Compared after `prepare`, which gives the model the stored precision: a value that
    // stores as the original does is no change.
    prepare(model, DB::DIALECT)?;
    let changes = M::__changes(original, model);
    let mut columns = Vec::new();
    changes.__each_changed(&mut |column| columns.push(column));
    Ok(Pending {
        key,
        read,
        changes,
        columns,
    })
}

/// The `UPDATE` of the changed columns (none: no statement), the version checked and
/// bumped.
async fn statement<M: TrackChanges, DB: Backend>(
    model: &mut M,
    pending: &Pending<M>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let Pending {
        key,
        read,
        changes,
        columns,
    } = pending;
    if columns.is_empty() {
        return Ok(());
    }
    if M::__VERSION.is_some() {
        model.__set_version(crate::write::rules::next(*read));
    }
    let sql = M::__statements(DB::DIALECT);
    // Safe: quoted identifiers and placeholders only (`Statements::update_columns`).
    let query = sqlx::query(sqlx::AssertSqlSafe(sql.update_columns(columns)));
    let query = model.__bind_changes(changes, query);
    let query = match M::__VERSION {
        Some(_) => M::__bind_version(query, model.__version()),
        None => query,
    };
    let query = M::__bind_version(key.__bind(query), *read);
    let name = M::__TABLE.model;
    // The generated columns come back: with `RETURNING` (`Statements::update_columns`
    // asks for them), or read right after the statement, in its transaction.
    let count = sql.read_back_count(false);
    let by = if count > 0 { sql.read_by() } else { None };
    if by.is_some() {
        crate::write::row::begin_read_back(session, name).await?;
    }
    if by == Some(ReadBy::Returning) {
        let returned = DB::fetch_optional(session.conn(), query)
            .await
            .map_err(|e| Error::from_sqlx(name, e))?;
        let Some(returned) = returned else {
            return Err(no_row::<M, DB>(key, session).await);
        };
        return model
            .__read_back::<DB>(&returned, 0, count)
            .map_err(|e| Error::from_sqlx(name, e));
    }
    let affected = DB::execute(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(name, e))?;
    if affected == 0 {
        return Err(no_row::<M, DB>(key, session).await);
    }
    if by == Some(ReadBy::Select) {
        let query = key.__bind(sqlx::query(sql.select_read_back()));
        let found = DB::fetch_optional(session.conn(), query)
            .await
            .map_err(|e| Error::from_sqlx(name, e))?
            .ok_or_else(|| not_found::<M>(key))?;
        model
            .__read_back::<DB>(&found, 0, count)
            .map_err(|e| Error::from_sqlx(name, e))?;
    }
    Ok(())
}

/// The row's `after_update` listeners, with the change set.
async fn after<M: TrackChanges, DB: Backend>(
    model: &mut M,
    pending: &Pending<M>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    model.__after_update(&pending.changes, session).await?;
    crate::listen::run_ref(model, Event::AfterUpdate, session).await
}

/// Whether `M` has struct-side listeners of `event` (`#[listens_for]` on the struct, the
/// ones that can take the change set): a constant per model.
fn has_own_listeners<M: Record>(event: Event) -> bool {
    M::__listeners().struct_side_has(event)
}

/// The updates of bare change-tracking models (not [`crate::Tracked`]s: against their
/// stored rows), in flush order ([`update_tracked_all`]).
#[doc(hidden)]
pub async fn update_bare_all<M: TrackChanges, DB: Backend>(
    models: &mut [M],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let mut rows: Vec<(&mut M, Option<&M>)> = models.iter_mut().map(|m| (m, None)).collect();
    update_tracked_all::<M, DB>(&mut rows, session)
        .await
        .map(drop)
}

/// The stored row with `key`, locked until the write's transaction ends (which this
/// begins), so that the change set is what the update overwrites.
async fn read_locked<M: Record, DB: Backend>(
    key: &M::__Key,
    session: &mut Session<'_, DB>,
) -> Result<M, Error> {
    session
        .begin()
        .await
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    let sql = M::__statements(DB::DIALECT);
    let query = key.__bind(sqlx::query(sql.select_for_update.as_str()));
    let row = DB::fetch_optional(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?
        .ok_or_else(|| not_found::<M>(key))?;
    M::__from_row::<DB>(&row).map_err(|e| Error::from_sqlx(M::__TABLE.model, e))
}
