//! `insert_all` and `delete_all` of more than one row: multi-row statements, with every
//! row's listeners.
//!
//! Listener order in a batch is SQLAlchemy's flush order: the `before_*` listeners of every
//! row (in slice order), then the statements, then the `after_*` listeners of every row, as
//! in `update_all` ([`crate::write::row::update_all`], [`crate::write::tracked::update_tracked_all`]). A
//! listener therefore never sees a half-written batch, and one failure anywhere rolls back
//! the whole batch (the caller's [`crate::write::ops`] transaction).
//!
//! Rows are sent in as few statements as each backend's bind limit allows
//! ([`max_binds`]). Generated keys are matched to rows by the rule documented on
//! [`Backend::__insert_rows`]; on MySQL it holds only when `innodb_autoinc_lock_mode` is 0
//! or 1 (consecutive keys for a multi-row insert), which is checked once per batch: under
//! mode 2 ("interleaved") keys are not consecutive, and rows with generated keys go one
//! statement each.

use crate::base::error::Error;
use crate::base::statements::max_binds;
use crate::db::backend::{Backend, Dialect};
use crate::db::key::{read_key, PrimaryKey};
use crate::db::session::Session;
use crate::listen::listener::Event;
use crate::listen::record::Record;
use crate::write::row::{generated, Generated};
use crate::write::rules::{not_found, prepare};
use crate::write::version;

/// Inserts `models`: `before_insert` on each, the rows in multi-row statements, the keys
/// set, `after_insert` on each.
pub(crate) async fn insert_all<M: Record, DB: Backend>(
    models: &mut [M],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    for model in models.iter_mut() {
        crate::listen::run_mut(model, Event::BeforeInsert, session).await?;
        prepare(model, DB::DIALECT)?;
    }
    let sql = M::__statements(DB::DIALECT);
    let generated = models.iter().any(|m| m.__key().is_none());
    let increment = match generated {
        true => key_increment::<M, DB>(session).await?,
        false => Some(1),
    };
    // Runs of rows that all have, or all lack, a key: each run's statements have one shape.
    let mut rest = &mut *models;
    while let Some(first) = rest.first() {
        let with_key = first.__key().is_some();
        let run = rest
            .iter()
            .position(|m| m.__key().is_some() != with_key)
            .unwrap_or(rest.len());
        let (now, later) = rest.split_at_mut(run);
        let binds = sql.insert_binds(with_key);
        // A table of just a generated key has nothing to bind: `DEFAULT VALUES` rows go one
        // at a time, as do generated keys MySQL would not make consecutive. Rows that bring
        // their own keys need no consecutive keys.
        let rows_per_statement = if binds > 0 && (with_key || increment.is_some()) {
            (max_binds(DB::DIALECT) / binds).max(1)
        } else {
            1
        };
        for chunk in now.chunks_mut(rows_per_statement) {
            insert_chunk(chunk, with_key, increment.unwrap_or(1), session).await?;
        }
        rest = later;
    }
    for model in models.iter() {
        crate::write::row::written::<DB>(model, session)?;
        crate::listen::run_ref(model, Event::AfterInsert, session).await?;
    }
    Ok(())
}

async fn insert_chunk<M: Record, DB: Backend>(
    chunk: &mut [M],
    with_key: bool,
    increment: u64,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let sql = M::__statements(DB::DIALECT);
    if chunk.len() == 1 || sql.insert_binds(with_key) == 0 {
        // One row: the single-row statement, already prepared and cached.
        for model in chunk {
            crate::write::row::insert_prepared::<DB>(model, session).await?;
        }
        return Ok(());
    }
    // Built from quoted identifiers and placeholders only (`Statements::insert_rows`).
    let text = sqlx::AssertSqlSafe(sql.insert_rows(chunk.len(), with_key));
    let mut query = sqlx::query(text);
    for model in chunk.iter() {
        query = model.__bind(query, with_key);
    }
    let conn = session.conn();
    if with_key {
        DB::execute(conn, query)
            .await
            .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
        return Ok(());
    }
    let keys = DB::__insert_rows::<Generated<M>>(conn, query, chunk.len(), increment)
        .await
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    for (model, key) in chunk.iter_mut().zip(keys) {
        model.__set_key(Some(generated::<M>(key)?));
    }
    Ok(())
}

/// How far apart MySQL's generated keys of one multi-row insert are
/// (`auto_increment_increment`), or `None` when they are not consecutive at all
/// (`innodb_autoinc_lock_mode` = 2). Always 1 elsewhere.
async fn key_increment<M: Record, DB: Backend>(
    session: &mut Session<'_, DB>,
) -> Result<Option<u64>, Error> {
    if DB::DIALECT != Dialect::MySql {
        return Ok(Some(1));
    }
    let query = sqlx::query(
        "SELECT CAST(@@innodb_autoinc_lock_mode AS SIGNED), \
         CAST(@@auto_increment_increment AS SIGNED)",
    );
    let row = DB::fetch_optional(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    let settings = row.map(|row| (DB::get::<i64>(&row, 0), DB::get::<i64>(&row, 1)));
    Ok(match settings {
        Some((Ok(0 | 1), Ok(increment))) => u64::try_from(increment).ok().filter(|&i| i > 0),
        _ => None,
    })
}

/// Deletes `models`: `before_delete` on each, the rows by key in multi-row `DELETE`s, a
/// check that every row existed (else [`Error::NotFound`] naming the first missing key, and
/// nothing is deleted), `after_delete` on each.
pub(crate) async fn delete_all<M: Record, DB: Backend>(
    models: &[M],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let mut keys = Vec::with_capacity(models.len());
    for model in models {
        keys.push(model.__key().ok_or(Error::Unsaved {
            model: M::__TABLE.model,
        })?);
        crate::listen::run_ref(model, Event::BeforeDelete, session).await?;
    }
    let sql = M::__statements(DB::DIALECT);
    // A savepoint to go back to if a row is missing, to find out which one: the rows the
    // DELETE did find are gone from this transaction's view until it is undone. (Cheaper
    // than `RETURNING` every key, or reading them first: one round trip per batch.)
    savepoint::<M, DB>(session, "SAVEPOINT model_core_delete_all").await?;
    for chunk in keys.chunks(max_binds(DB::DIALECT) / M::__Key::__COLUMNS) {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.delete_rows(chunk.len())));
        for key in chunk {
            query = key.__bind(query);
        }
        let deleted = DB::execute(session.conn(), query)
            .await
            .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
        if deleted != chunk.len() as u64 {
            savepoint::<M, DB>(session, "ROLLBACK TO SAVEPOINT model_core_delete_all").await?;
            return Err(missing::<M, DB>(chunk, session).await);
        }
    }
    for model in models {
        crate::write::row::written::<DB>(model, session)?;
        crate::listen::run_ref(model, Event::AfterDelete, session).await?;
    }
    Ok(())
}

async fn savepoint<M: Record, DB: Backend>(
    session: &mut Session<'_, DB>,
    statement: &'static str,
) -> Result<(), Error> {
    DB::execute(session.conn(), sqlx::query(statement))
        .await
        .map(drop)
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))
}

/// [`Error::NotFound`] for the first key of `keys` that names no row (a key given twice is
/// found once: the second is the missing one).
async fn missing<M: Record, DB: Backend>(
    keys: &[M::__Key],
    session: &mut Session<'_, DB>,
) -> Error {
    let sql = M::__statements(DB::DIALECT);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.select_keys(keys.len())));
    for key in keys {
        query = key.__bind(query);
    }
    let found: Result<Vec<M::__Key>, sqlx::Error> = async {
        let rows = DB::fetch_all(session.conn(), query).await?;
        rows.iter().map(read_key::<M::__Key, DB>).collect()
    }
    .await;
    let mut unmatched = match found {
        Ok(found) => found,
        Err(e) => return Error::from_sqlx(M::__TABLE.model, e),
    };
    let missing = keys
        .iter()
        .find(|key| match unmatched.iter().position(|f| f == *key) {
            Some(i) => {
                unmatched.swap_remove(i);
                false
            }
            None => true,
        })
        .unwrap_or(&keys[0]);
    not_found::<M>(missing)
}

/// `delete` and `delete_all` of a versioned model: `before_delete` on each row, one
/// `DELETE ... WHERE key = ? AND version = ?` per row (a multi-row `DELETE` could not say
/// which row was stale), then `after_delete` on each, in the order of
/// [`delete_all`]. A stale or missing row fails the whole call. Reached
/// through `Model::__delete_versioned`, which only the derive of a versioned model
/// writes: no other model compiles it.
#[doc(hidden)]
pub async fn delete_versioned<M: Record, DB: Backend>(
    models: &[M],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let mut keys = Vec::with_capacity(models.len());
    for model in models {
        keys.push(model.__key().ok_or(Error::Unsaved {
            model: M::__TABLE.model,
        })?);
        crate::listen::run_ref(model, Event::BeforeDelete, session).await?;
    }
    let sql = M::__statements(DB::DIALECT);
    for (model, key) in models.iter().zip(keys) {
        let query = key.__bind(sqlx::query(sql.delete.as_str()));
        let query = M::__bind_version(query, model.__version());
        let deleted = DB::execute(session.conn(), query)
            .await
            .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
        if deleted == 0 {
            return Err(version::no_row::<M, DB>(&key, session).await);
        }
    }
    for model in models {
        crate::write::row::written::<DB>(model, session)?;
        crate::listen::run_ref(model, Event::AfterDelete, session).await?;
    }
    Ok(())
}
