//! The update of a change-tracking model, inside the write's transaction ([`crate::ops`]);
//! a plain model's is [`crate::row::update`].
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

use crate::backend::Backend;
use crate::changes::{ChangeSet, TrackChanges};
use crate::error::Error;
use crate::key::PrimaryKey as _;
use crate::listener::Event;
use crate::model::Model;
use crate::ops::{not_found, prepare};
use crate::session::Session;
use crate::version::{self, no_row};

/// Several tracked updates in SQLAlchemy's flush order, as every batch write
/// ([`crate::batch`]): every row's `before_update` listeners, then every row's statement,
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
    }
    for ((model, _), pending) in rows.iter_mut().zip(&pending) {
        after::<M, DB>(model, pending, session).await?;
    }
    Ok(pending.into_iter().map(|p| p.changes).collect())
}

/// One tracked update between its phases: what `before` found, for the statement and the
/// `after_update` listeners.
struct Pending<M: TrackChanges> {
    key: M::Key,
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
    let key = model.__key().ok_or(Error::Unsaved { model: M::NAME })?;
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
                    model: M::NAME,
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
    crate::events::run_mut(model, Event::BeforeUpdate, session).await?;
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
        model.__set_version(version::next(*read));
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
    let affected = DB::execute(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    if affected == 0 {
        return Err(no_row::<M, DB>(key, session).await);
    }
    Ok(())
}

/// The row's commit-time calls queued, its `after_update` listeners run with the change set.
async fn after<M: TrackChanges, DB: Backend>(
    model: &mut M,
    pending: &Pending<M>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    crate::row::written::<DB>(model, session)?;
    model.__after_update(&pending.changes, session).await?;
    crate::events::run_ref(model, Event::AfterUpdate, session).await
}

/// Whether `M` has struct-side listeners of `event` (`#[listens_for]` on the struct, the
/// ones that can take the change set): a constant per model.
fn has_own_listeners<M: Model>(event: Event) -> bool {
    M::LISTENERS.iter().any(|l| l.event == event)
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
async fn read_locked<M: Model, DB: Backend>(
    key: &M::Key,
    session: &mut Session<'_, DB>,
) -> Result<M, Error> {
    session
        .begin()
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?;
    let sql = M::__statements(DB::DIALECT);
    let query = key.__bind(sqlx::query(sql.select_for_update.as_str()));
    let row = DB::fetch_optional(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(M::NAME, e))?
        .ok_or_else(|| not_found::<M>(key))?;
    M::__from_row::<DB>(&row).map_err(|e| Error::from_sqlx(M::NAME, e))
}

/// Gives a versioned model its next version, to be written; returns the version it was
/// read with, which the statement requires. (On failure the write gives the old one back,
/// see [`version::saved`].)
pub(crate) fn bump<M: Model>(model: &mut M) -> i64 {
    let read = model.__version();
    if M::__VERSION.is_some() {
        model.__set_version(version::next(read));
    }
    read
}

/// The key names the row to update and is never written: a key changed since the model
/// was read, or by a `before_update` listener, is refused rather than ignored (the model
/// would then claim a key that names another row, or none).
pub(crate) fn same_key<M: Model>(model: &M, key: &M::Key) -> Result<(), Error> {
    match model.__key() {
        Some(now) if now == *key => Ok(()),
        _ => Err(Error::Unsupported {
            model: M::NAME,
            what: "an update cannot change the primary key: it names the row to update and \
                   is never written; delete the row and insert it under the new key",
        }),
    }
}
