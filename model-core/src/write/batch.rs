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
//! ([`max_binds`]). Generated keys come back in one of the ways of [`Keys`]: PostgreSQL's
//! through `RETURNING`, sorted ([`sorted_keys`]); MySQL's and SQLite's from the driver's
//! last-insert-id, consecutive, by the rule documented on [`Backend::__insert_rows`]. On
//! MySQL it holds only when `innodb_autoinc_lock_mode` is 0 or 1, which is checked once
//! per batch: under mode 2 ("interleaved", which a Galera cluster requires) keys are not
//! consecutive. There MariaDB 10.5 and later return them (`INSERT ... RETURNING`), matched
//! to rows as PostgreSQL's are; on MySQL, which has no `RETURNING`, rows with generated
//! keys go one statement each. On SQLite it is checked before each statement
//! ([`rowids::next`]: no trigger on the table, the key its rowid); where it does not hold,
//! the statement returns its keys as PostgreSQL's does.

use crate::base::error::Error;
use crate::base::statements::max_binds;
use crate::base::table::ReadBy;
use crate::db::backend::{sorted_keys, Backend, Consecutive, Dialect};
use crate::db::key::{read_key, PrimaryKey};
use crate::db::rowids::{self, Next};
use crate::db::session::Session;
use crate::listen::listener::Event;
use crate::listen::record::Record;
use crate::write::read_back;
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
    let keys = match generated {
        true => generated_keys::<M, DB>(session).await?,
        // Every row brings its key: no statement generates one.
        false => Keys::Returning,
    };
    // Runs of rows that all have, or all lack, a key (and on SQLite, which has no `DEFAULT`
    // in `VALUES`, leave the same defaulted columns to the database): each run's statements
    // have one shape.
    let shape = |m: &M| {
        let omitted = match DB::DIALECT {
            Dialect::Sqlite => m.__omitted(),
            Dialect::Postgres | Dialect::MySql => 0,
        };
        (m.__key().is_some(), omitted)
    };
    let mut rest = &mut *models;
    while let Some(first) = rest.first() {
        let (with_key, omitted) = shape(first);
        let run = rest
            .iter()
            .position(|m| shape(m) != (with_key, omitted))
            .unwrap_or(rest.len());
        let (now, later) = rest.split_at_mut(run);
        let binds = sql.insert_binds_omitting(with_key, omitted);
        // A table of just a generated key has nothing to bind: `DEFAULT VALUES` rows go one
        // at a time, as do generated keys MySQL would not make consecutive. Rows that bring
        // their own keys need no consecutive keys.
        let rows_per_statement = if binds > 0 && (with_key || keys != Keys::OneByOne) {
            (max_binds(DB::DIALECT) / binds).max(1)
        } else {
            1
        };
        for chunk in now.chunks_mut(rows_per_statement) {
            insert_chunk(chunk, with_key, keys, session).await?;
            // The chunk's statement ran: its rows get `after_rollback` if anything after
            // this undoes them, a later chunk's statement or any row's `after_insert`.
            for model in chunk.iter() {
                crate::write::row::written::<DB>(model, Event::AfterInsert, session)?;
            }
        }
        rest = later;
    }
    for model in models.iter() {
        crate::listen::run_ref(model, Event::AfterInsert, session).await?;
    }
    Ok(())
}

async fn insert_chunk<M: Record, DB: Backend>(
    chunk: &mut [M],
    with_key: bool,
    keys: Keys,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let sql = M::__statements(DB::DIALECT);
    if chunk.len() == 1 || sql.insert_binds(with_key) == 0 {
        return insert_one_by_one::<M, DB>(chunk, session).await;
    }
    let by = sql.read_by();
    // SQLite: whether this statement's rowids are known before it is sent, so that it need
    // not return them (not where it returns read-back columns anyway: the keys come with
    // them); else it returns its keys, or its rows go one a statement.
    let keys = match keys {
        Keys::Rowids if !with_key => {
            let next = rowids::next::<DB>(session.conn(), &M::__TABLE, chunk.len())
                .await
                .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
            match next {
                Next::After(after) if by != Some(ReadBy::Returning) => {
                    Keys::Consecutive(Consecutive::AfterRowid(after))
                }
                Next::After(_) | Next::Returned => Keys::Returning,
                Next::OneByOne => Keys::OneByOne,
            }
        }
        keys => keys,
    };
    if !with_key && keys == Keys::OneByOne {
        return insert_one_by_one::<M, DB>(chunk, session).await;
    }
    // Built from quoted identifiers and placeholders only (`Statements::insert_rows`),
    // ending in `RETURNING` the key on a backend that has it.
    let mut text = match M::__READ_BACK.defaulted().is_empty() {
        true => sql.insert_rows(chunk.len(), with_key),
        false => {
            let omitted: Vec<u64> = chunk.iter().map(Record::__omitted).collect();
            sql.insert_rows_omitting(with_key, &omitted)
        }
    };
    // MariaDB's `RETURNING`: the keys, and the read-back columns.
    let appended = !with_key && keys == Keys::Returning && !DB::DIALECT.has_returning();
    if appended {
        text.push_str(&sql.returning_keys());
    }
    if !with_key && matches!(keys, Keys::Consecutive(Consecutive::AfterRowid(_))) {
        sql.without_returning(&mut text);
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
    for model in chunk.iter() {
        query = model.__bind_insert(query, with_key);
    }
    // Whether the statement returns the read-back columns with the keys.
    let returned = by == Some(ReadBy::Returning) || (by.is_some() && appended);
    let conn = session.conn();
    if returned {
        let rows = DB::fetch_all(conn, query)
            .await
            .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
        return match with_key {
            true => read_back::by_key::<M, DB>(chunk, &rows),
            false => read_back::in_key_order::<M, DB>(chunk, &rows),
        };
    }
    if with_key {
        DB::execute(conn, query)
            .await
            .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    } else {
        generated_chunk_keys::<M, DB>(chunk, query, keys, session).await?;
    }
    if by == Some(ReadBy::Select) {
        read_back::select::<M, DB>(chunk, session).await?;
    }
    Ok(())
}

/// Inserts each of `chunk`'s rows with the single-row statement, already prepared and
/// cached: a chunk of one row, rows with nothing to bind, and generated keys that one
/// statement would not give in the order of its rows ([`Keys::OneByOne`]).
async fn insert_one_by_one<M: Record, DB: Backend>(
    chunk: &mut [M],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    for model in chunk {
        crate::write::row::insert_prepared::<DB>(model, session).await?;
    }
    Ok(())
}

/// Runs a multi-row `INSERT` of generated keys and sets them on the chunk's models.
async fn generated_chunk_keys<M: Record, DB: Backend>(
    chunk: &mut [M],
    query: crate::db::backend::Query<'_, DB>,
    keys: Keys,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let conn = session.conn();
    let keys = match keys {
        Keys::Consecutive(run) => {
            DB::__insert_rows::<Generated<M>>(conn, query, chunk.len(), run).await
        }
        // `insert_chunk` settles `Rowids` per statement, and sends `OneByOne` rows one a
        // statement: neither reaches here, and a statement that did would return its keys
        // or fail, never give wrong ones.
        Keys::Returning | Keys::Rowids | Keys::OneByOne => match DB::fetch_all(conn, query).await {
            Ok(rows) => sorted_keys::<DB::Row, Generated<M>>(rows, chunk.len()),
            Err(e) => Err(e),
        },
    }
    .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    for (model, key) in chunk.iter_mut().zip(keys) {
        model.__set_key(Some(generated::<M::__Key>(key, M::__TABLE.model)?));
    }
    Ok(())
}

/// How the generated keys of one multi-row `INSERT` come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// From `RETURNING`, sorted ([`sorted_keys`]): PostgreSQL; MariaDB 10.5 and later in
    /// mode 2, whose keys of one statement still grow in the order of its rows (each row
    /// takes the next value of the table's counter) but need not be consecutive; SQLite
    /// where its rowids are not known before the statement ([`Keys::Rowids`]).
    Returning,
    /// Not returned: consecutive in the order of the rows, from the driver's
    /// last-insert-id ([`Backend::__insert_rows`]): MySQL and MariaDB in
    /// `innodb_autoinc_lock_mode` 0 or 1 (from the first key, `auto_increment_increment`
    /// apart); SQLite's statements that [`Keys::Rowids`] settles so.
    Consecutive(Consecutive),
    /// SQLite: settled before each statement ([`rowids::next`]) as
    /// [`Consecutive::AfterRowid`] where the statement's rowids are known, else as
    /// [`Keys::Returning`]. Reading the rowids back through `RETURNING` costs more than
    /// inserting them (sqlx moves each returned row from its SQLite worker thread).
    Rowids,
    /// Not known from one statement: MySQL in mode 2; SQLite past `i64::MAX`, where rowids
    /// are random ([`Next::OneByOne`]). One statement a row.
    OneByOne,
}

/// How the keys of this batch's multi-row inserts come back ([`Keys`]): on MySQL and
/// MariaDB, from the session's `innodb_autoinc_lock_mode`, `auto_increment_increment` and
/// server version, read in one query before the batch (nothing is cached: a pool may reach
/// several servers). On SQLite, settled before each statement; returned on PostgreSQL.
async fn generated_keys<M: Record, DB: Backend>(
    session: &mut Session<'_, DB>,
) -> Result<Keys, Error> {
    match DB::DIALECT {
        Dialect::Postgres => return Ok(Keys::Returning),
        Dialect::Sqlite => return Ok(Keys::Rowids),
        Dialect::MySql => {}
    }
    let query = sqlx::query(
        "SELECT CAST(@@innodb_autoinc_lock_mode AS SIGNED), \
         CAST(@@auto_increment_increment AS SIGNED), VERSION()",
    );
    let row = DB::fetch_optional(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    let Some(row) = row else {
        return Ok(Keys::OneByOne);
    };
    let (mode, increment) = (DB::get::<i64>(&row, 0), DB::get::<i64>(&row, 1));
    let version = DB::get::<String>(&row, 2).unwrap_or_default();
    Ok(match (mode, increment) {
        (Ok(0 | 1), Ok(increment)) => match u64::try_from(increment) {
            Ok(increment) if increment > 0 => {
                Keys::Consecutive(Consecutive::FromInsertId(increment))
            }
            _ => Keys::OneByOne,
        },
        _ if has_returning(&version) => Keys::Returning,
        _ => Keys::OneByOne,
    })
}

/// Whether a MySQL-protocol server's `VERSION()` is MariaDB 10.5 or later, which has
/// `INSERT ... RETURNING` (`10.11.6-MariaDB-0+deb12u1`, `11.4.2-MariaDB`); MySQL has none.
fn has_returning(version: &str) -> bool {
    if !version.contains("MariaDB") {
        return false;
    }
    // MariaDB before 11 could announce itself to old clients as `5.5.5-10.x`.
    let version = version.strip_prefix("5.5.5-").unwrap_or(version);
    let mut numbers = version.split(['.', '-']).map(|n| n.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (10, 5),
        _ => false,
    }
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
    // The children first, before the savepoint below (MySQL has one savepoint of a name,
    // and the children's own `delete_all` sets it too).
    crate::write::cascade::before_delete::<M, DB>(&keys, session).await?;
    let sql = M::__statements(DB::DIALECT);
    // A savepoint to go back to if a row is missing, to find out which one: the rows the
    // DELETE did find are gone from this transaction's view until it is undone. (Cheaper
    // than `RETURNING` every key, or reading them first: one round trip per batch.)
    savepoint::<M, DB>(session, "SAVEPOINT model_core_delete_all").await?;
    let rows_per_statement = max_binds(DB::DIALECT) / M::__Key::__COLUMNS;
    for (chunk, chunk_models) in keys
        .chunks(rows_per_statement)
        .zip(models.chunks(rows_per_statement))
    {
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
        // The chunk's rows are deleted: `after_rollback` for them if anything undoes it.
        for model in chunk_models {
            crate::write::row::written::<DB>(model, Event::AfterDelete, session)?;
        }
    }
    for model in models {
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
    crate::write::cascade::before_delete::<M, DB>(&keys, session).await?;
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
        crate::write::row::written::<DB>(model, Event::AfterDelete, session)?;
    }
    for model in models {
        crate::listen::run_ref(model, Event::AfterDelete, session).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::has_returning;

    #[test]
    fn mariadb_from_10_5_has_returning_and_mysql_has_none() {
        for version in [
            "10.11.19-MariaDB-0+deb12u1",
            "10.5.1-MariaDB",
            "11.4.2-MariaDB-log",
        ] {
            assert!(has_returning(version), "{version}");
        }
        assert!(has_returning("5.5.5-10.6.12-MariaDB"));
        for version in ["10.4.30-MariaDB", "8.0.36", "8.4.0-log", "9.1.0", "MariaDB"] {
            assert!(!has_returning(version), "{version}");
        }
    }
}
