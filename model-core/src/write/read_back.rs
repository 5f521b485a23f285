//! Values the database wrote, read back into the models of a multi-row insert: the
//! generated columns and the defaulted ones left to the database
//! ([`ReadBack`](crate::base::table::ReadBack)), from the statement's `RETURNING` or from one
//! `SELECT` by key right after it, in the write's transaction. (One row's are read in
//! [`crate::write::row`].)
//!
//! `RETURNING` promises no order, so each row is matched to its model: by the generated
//! key's order (see `Backend::__insert_rows`), or by key.

use crate::base::error::Error;
use crate::db::backend::Backend;
use crate::db::key::PrimaryKey;
use crate::db::session::Session;
use crate::listen::record::Record;
use crate::write::row::{generated, Generated};

/// Gives `chunk`'s models, whose keys the database generated, their keys and read-back
/// columns from the rows of `RETURNING key, read back...`, one per model: the rows in the
/// order of their keys are the models in theirs.
pub(crate) fn in_key_order<M: Record, DB: Backend>(
    chunk: &mut [M],
    rows: &[DB::Row],
) -> Result<(), Error> {
    let name = M::__TABLE.model;
    if rows.len() != chunk.len() {
        return Err(Error::from_sqlx(name, count_error(rows.len(), chunk.len())));
    }
    let mut order = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let key: Generated<M> = DB::get(row, 0)?;
            let id = crate::base::column::ColumnType::__generated_id(&key)
                .ok_or_else(|| count_error(0, chunk.len()))?;
            Ok((id, i, key))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(|e| Error::from_sqlx(name, e))?;
    order.sort_by_key(|(id, _, _)| *id);
    let count = M::__statements(DB::DIALECT).read_back_count(true);
    for (model, (_, i, key)) in chunk.iter_mut().zip(order) {
        model.__set_key(Some(generated::<M::__Key>(key, M::__TABLE.model)?));
        model
            .__read_back::<DB>(&rows[i], 1, count)
            .map_err(|e| Error::from_sqlx(name, e))?;
    }
    Ok(())
}

/// Gives `chunk`'s models, whose keys are set, their read-back columns from `rows`, each
/// `key..., read back...` of one of them (in any order).
pub(crate) fn by_key<M: Record, DB: Backend>(
    chunk: &mut [M],
    rows: &[DB::Row],
) -> Result<(), Error> {
    let name = M::__TABLE.model;
    let columns: Vec<usize> = (0..M::__Key::__COLUMNS).collect();
    let keys = rows
        .iter()
        .map(|row| M::__Key::__get::<DB>(row, &columns))
        .collect::<Result<Vec<M::__Key>, sqlx::Error>>()
        .map_err(|e| Error::from_sqlx(name, e))?;
    let count = M::__statements(DB::DIALECT).read_back_count(true);
    for (i, model) in chunk.iter_mut().enumerate() {
        let key = model.__key().ok_or(Error::Unsaved { model: name })?;
        // The rows come back in the order of the `VALUES` in practice: one comparison
        // each, and a search only when they do not.
        let at = match keys.get(i) {
            Some(found) if *found == key => Some(i),
            _ => keys.iter().position(|found| *found == key),
        };
        let Some(at) = at else {
            return Err(crate::write::rules::not_found::<M>(&key));
        };
        model
            .__read_back::<DB>(&rows[at], columns.len(), count)
            .map_err(|e| Error::from_sqlx(name, e))?;
    }
    Ok(())
}

/// Reads `chunk`'s read-back columns with one `SELECT ... WHERE key IN (..)`, right after
/// their `INSERT`: the way of MySQL, and of SQLite where a trigger may keep a column.
pub(crate) async fn select<M: Record, DB: Backend>(
    chunk: &mut [M],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let name = M::__TABLE.model;
    let sql = M::__statements(DB::DIALECT);
    // Safe: quoted identifiers and placeholders only (`Statements::select_read_back_rows`).
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.select_read_back_rows(chunk.len())));
    for model in chunk.iter() {
        query = model
            .__key()
            .ok_or(Error::Unsaved { model: name })?
            .__bind(query);
    }
    let rows = DB::fetch_all(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(name, e))?;
    by_key::<M, DB>(chunk, &rows)
}

fn count_error(got: usize, expected: usize) -> sqlx::Error {
    sqlx::Error::Decode(
        format!("a multi-row INSERT of {expected} rows returned {got} usable rows").into(),
    )
}
