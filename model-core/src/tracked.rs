//! [`Tracked`]: a change-tracking model beside the values it had when it was read or last
//! written.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;

use sqlx::Acquire;

use crate::backend::Backend;
use crate::changes::TrackChanges;
use crate::commit::Callback;
use crate::error::Error;
use crate::events::has_in;
use crate::listener::Event;
use crate::ops;
use crate::session::Session;
use crate::update::update_tracked_all;

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
            self.model.insert(db).await?;
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
        M::NAME
    }

    fn listener_state(&self, session: &mut Session<'_, DB>) -> u32 {
        session.listener_state::<M>()
    }

    fn needs_transaction(&self, state: u32) -> bool {
        self.rows.len() != 1
            || crate::events::vetoes_after_statement(Event::AfterUpdate, |e| has_in::<M>(state, e))
    }

    fn has_commit_listeners(&self, state: u32) -> bool {
        crate::events::needs_commit_scope(Event::AfterUpdateCommit, |e| has_in::<M>(state, e))
    }

    fn unset_keys(&self) -> Vec<bool> {
        Vec::new()
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
            crate::events::after_commit(&row.model, Event::AfterUpdateCommit, queue);
        }
    }
}
