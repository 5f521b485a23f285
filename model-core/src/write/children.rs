//! Layer 4, the writes: the child's side of a cascade ([`crate::write::cascade`]). The rows
//! that reference the deleted parents are read (locked, `load` listeners run, as a
//! set-based write's per-row path reads them), then deleted as `delete_all` deletes them
//! (which cascades to their own children first) or, for `set_null`, given a `NULL` key and
//! updated as `update_all` updates them. Uses the layers below and the write paths beside
//! it.

use std::any::{Any, TypeId};

use sqlx::{AssertSqlSafe, MySql, Postgres, Sqlite};

use crate::base::error::Error;
use crate::base::event::Event;
use crate::base::statements::max_binds;
use crate::db::backend::Backend;
use crate::db::commit;
use crate::db::key::PrimaryKey as _;
use crate::db::session::Session;
use crate::listen::has_in;
use crate::listen::record::Record;
use crate::write::cascade::{Action, Cascade, CascadeFuture, Keys};
use crate::write::{batch, ops, row};

/// The [`Cascade`] that deletes the rows of child model `C` whose foreign key `column` (an
/// index into its columns) references a deleted row of model `P`, for the child's derive to
/// register. `P` is only named: `schema::references`, on the same field, checks it is a model
/// whose key the column holds, and reports it once if not.
pub const fn cascade<C: Record, P: 'static>(column: usize) -> Cascade {
    Cascade {
        parent: TypeId::of::<P>,
        child: TypeId::of::<C>,
        cell: C::__listeners,
        column,
        action: Action::Delete,
        set_null: None,
        run: (run::<C, Sqlite>, run::<C, Postgres>, run::<C, MySql>),
    }
}

/// [`cascade`] that sets the foreign key, a `T` (an `Option`), to `NULL` instead.
pub const fn cascade_set_null<C: Record, P: 'static, T: Default + 'static>(
    column: usize,
) -> Cascade {
    Cascade {
        action: Action::SetNull,
        set_null: Some(set_null::<C, T>),
        ..cascade::<C, P>(column)
    }
}

fn set_null<C: Record, T: Default + 'static>(model: &mut dyn Any, column: usize) -> bool {
    match model
        .downcast_mut::<C>()
        .and_then(|model| model.__column_mut::<T>(column))
    {
        Some(key) => {
            *key = T::default();
            true
        }
        None => false,
    }
}

fn run<'a, 'c, C: Record, DB: Backend>(
    cascade: &'static Cascade,
    keys: &'a dyn Keys<DB>,
    session: &'a mut Session<'c, DB>,
) -> CascadeFuture<'a> {
    Box::pin(children::<C, DB>(cascade, keys, session))
}

async fn children<C: Record, DB: Backend>(
    cascade: &'static Cascade,
    keys: &dyn Keys<DB>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let commit_event = match cascade.action {
        Action::Delete => Event::AfterDeleteCommit,
        Action::SetNull => Event::AfterUpdateCommit,
    };
    // As `ops::write`: in a transaction model-core did not begin, nobody would run the
    // children's commit listeners.
    let state = C::__listeners().state();
    if crate::listen::needs_commit_scope(commit_event, |e| has_in::<C>(state, e))
        && !commit::is_open()
    {
        return Err(Error::CommitScope {
            model: C::__TABLE.model,
        });
    }
    let mut models = read::<C, DB>(cascade.column, keys, session).await?;
    let tree = (cascade.parent)() == TypeId::of::<C>();
    if let Some(parents) = keys
        .as_any()
        .downcast_ref::<Vec<C::__Key>>()
        .filter(|_| tree)
    {
        // A tree deleted with some of its own children: those are among the parents, which
        // their own delete deletes, once.
        let (among, children): (Vec<C>, Vec<C>) = models
            .into_iter()
            .partition(|model| model.__key().is_some_and(|key| parents.contains(&key)));
        detach::<C, DB>(cascade.column, &among, session).await?;
        models = children;
    }
    if models.is_empty() {
        return Ok(());
    }
    match cascade.set_null {
        Some(set_null) => {
            for model in &mut models {
                if !set_null(model, cascade.column) {
                    return Err(Error::Unsupported {
                        model: C::__TABLE.model,
                        what: "`on_delete = \"set_null\"` on a field that is not an `Option`",
                    });
                }
            }
            update(&mut models, session).await?;
        }
        None => delete(&models, session).await?,
    }
    if has_in::<C>(state, commit_event) {
        commit::enqueue(|queue| {
            for model in &models {
                crate::listen::after_commit(model, commit_event, queue);
            }
        });
    }
    Ok(())
}

/// The children of the parents with `keys`: `column` is one of them, in chunks of as many
/// keys as a statement binds, locked until the transaction ends.
async fn read<C: Record, DB: Backend>(
    column: usize,
    keys: &dyn Keys<DB>,
    session: &mut Session<'_, DB>,
) -> Result<Vec<C>, Error> {
    let sql = C::__statements(DB::DIALECT);
    let mut models = Vec::new();
    // A foreign key references a key of one column: one value a parent.
    let per_statement = max_binds(DB::DIALECT);
    let mut start = 0;
    while start < keys.len() {
        let end = keys.len().min(start + per_statement);
        // Built from quoted identifiers and placeholders only.
        let text = sql.select_where_in(column, end - start, true);
        let query = keys.bind(sqlx::query(AssertSqlSafe(text)), start..end);
        let rows = DB::fetch_all(session.connection(), query)
            .await
            .map_err(|e| Error::from_sqlx(C::__TABLE.model, e))?;
        models.extend(ops::load::<C, DB>(rows, session.connection()).await?);
        start = end;
    }
    Ok(models)
}

/// Makes the parents that are also children of other parents reference themselves: else
/// MySQL and SQLite, deleting a parent, delete such a child at once through `ON DELETE`, and
/// the parents' `DELETE` then misses it (PostgreSQL runs the action after the statement).
/// Their own children are the cascade's, through their listeners, before; their listeners
/// are the parents' delete's.
async fn detach<C: Record, DB: Backend>(
    column: usize,
    among: &[C],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let sql = C::__statements(DB::DIALECT);
    for chunk in among.chunks(max_binds(DB::DIALECT)) {
        // Built from quoted identifiers and placeholders only.
        let mut query = sqlx::query(AssertSqlSafe(sql.point_to_self(column, chunk.len())));
        for model in chunk {
            if let Some(key) = model.__key() {
                query = key.__bind(query);
            }
        }
        DB::execute(session.connection(), query)
            .await
            .map_err(|e| Error::from_sqlx(C::__TABLE.model, e))?;
    }
    Ok(())
}

/// As `Model::delete_all`'s rows are deleted.
async fn delete<C: Record, DB: Backend>(
    models: &[C],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    if C::__VERSION.is_some() {
        return C::__delete_versioned(models, session).await;
    }
    match models {
        [model] => row::delete::<DB>(model, session).await,
        models => batch::delete_all(models, session).await,
    }
}

/// As `Model::update_all`'s rows are updated.
async fn update<C: Record, DB: Backend>(
    models: &mut [C],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    if let Some(tracked) = C::__update_tracked_all(models, session) {
        return tracked.await;
    }
    let mut rows: Vec<&mut dyn row::WriteRow<DB>> = models
        .iter_mut()
        .map(|m| m as &mut dyn row::WriteRow<DB>)
        .collect();
    row::update_all::<DB>(&mut rows, session).await
}
