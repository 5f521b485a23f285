//! The three supported databases behind one small trait.
//!
//! Everything that differs between SQLite, PostgreSQL and MySQL/MariaDB lives in this file:
//! identifier quoting, placeholders, how a generated key comes back, and how a query runs
//! on a connection. Generated code and the operations in [`crate::write::ops`] are generic over
//! [`Backend`] and never name a driver.
//!
//! Every statement model-core sends goes through one of the methods here that take a
//! [`Query`], and each of them through [`statement::sent`]: statement listeners and
//! `tracing` see it there, once.

use std::future::Future;

use sqlx::{Database, MySql, Postgres, Row as _, Sqlite};

use crate::base::column::ColumnType;
pub use crate::base::dialect::{Dialect, Query};
use crate::db::statement;

mod sealed {
    pub trait Sealed {}
    impl Sealed for sqlx::Sqlite {}
    impl Sealed for sqlx::Postgres {}
    impl Sealed for sqlx::MySql {}
}

/// A database model-core can write to: [`sqlx::Sqlite`], [`sqlx::Postgres`] or [`sqlx::MySql`]
/// (which also serves MariaDB).
///
/// Sealed: the operations rely on every backend behaving as documented on [`Dialect`].
pub trait Backend: Database + sealed::Sealed {
    /// The SQL dialect of this backend.
    const DIALECT: Dialect;

    /// Binds one column value.
    fn bind<'q, T: ColumnType>(query: Query<'q, Self>, value: &T) -> Query<'q, Self>;

    /// Reads the column at `index` of `row`.
    fn get<T: ColumnType>(row: &Self::Row, index: usize) -> Result<T, sqlx::Error>;

    /// Runs a statement and returns the number of rows it affected (matched, on MySQL).
    fn execute<'e>(
        conn: &'e mut Self::Connection,
        query: Query<'e, Self>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'e;

    /// Runs a query that returns at most one row.
    fn fetch_optional<'e>(
        conn: &'e mut Self::Connection,
        query: Query<'e, Self>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'e;

    /// Runs a query and collects every row.
    fn fetch_all<'e>(
        conn: &'e mut Self::Connection,
        query: Query<'e, Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'e;

    /// Runs an `INSERT` built by [`crate::Statements`] for a generated key and returns the key
    /// the database chose: from `RETURNING` where the backend has it, from the driver's
    /// last-insert-id on MySQL.
    fn insert_returning_key<'e, K: ColumnType>(
        conn: &'e mut Self::Connection,
        query: Query<'e, Self>,
    ) -> impl Future<Output = Result<K, sqlx::Error>> + Send + 'e;

    /// [`Backend::insert_returning_key`] with the key read by `decode`, in place of one
    /// type's decoding: a write hands it the row, which reads its own key, so that the
    /// statement's future is one per backend, held inline, not one per key type, boxed.
    #[doc(hidden)]
    fn __insert_generated<'e, T, F>(
        conn: &'e mut Self::Connection,
        query: Query<'e, Self>,
        decode: F,
    ) -> impl Future<Output = Result<T, sqlx::Error>> + Send + 'e
    where
        T: Send + 'e,
        F: for<'r> FnOnce(GeneratedKey<'r, Self>) -> Result<T, sqlx::Error> + Send + 'e;

    /// Runs a multi-row `INSERT` of `rows` rows built by [`crate::Statements::insert_rows`]
    /// for generated keys and sent without `RETURNING`, and returns the keys in the order
    /// of the rows, as `run` says they follow from the driver's last-insert-id
    /// ([`Consecutive`]). Checks that the statement inserted `rows` rows.
    ///
    /// The rule relied on: one statement's rows get consecutive keys in the order of its
    /// `VALUES`. MySQL gives a multi-row insert consecutive keys, `auto_increment_increment`
    /// apart, from `LAST_INSERT_ID()`, when `innodb_autoinc_lock_mode` is 0 or 1, which the
    /// caller checks; SQLite gives each row the next rowid, which the caller proves before
    /// the statement and this checks after it (`db::rowids`). PostgreSQL has no
    /// last-insert-id: its keys come back through `RETURNING` (`sorted_keys`), and this is
    /// an error there.
    #[doc(hidden)]
    fn __insert_rows<'e, K: ColumnType>(
        conn: &'e mut Self::Connection,
        query: Query<'e, Self>,
        rows: usize,
        run: Consecutive,
    ) -> impl Future<Output = Result<Vec<K>, sqlx::Error>> + Send + 'e;

    /// Waits for this writer's turn at the database, where the backend needs writers
    /// queued in-process (SQLite: see `writers`); `None` where it does not.
    #[doc(hidden)]
    fn __writer_turn(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Option<crate::db::writers::Turn>, sqlx::Error>> + Send + '_;
}

/// The key the database generated for a one-row `INSERT`, as it came back.
#[doc(hidden)]
pub enum GeneratedKey<'r, DB: Database> {
    /// The one row `RETURNING` returned: the key is its column 0.
    Returned(&'r DB::Row),
    /// MySQL's last-insert-id.
    InsertId(u64),
}

/// How the generated keys of a multi-row `INSERT` sent without `RETURNING` follow from the
/// driver's last-insert-id ([`Backend::__insert_rows`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consecutive {
    /// MySQL and MariaDB in `innodb_autoinc_lock_mode` 0 or 1: the last-insert-id is the
    /// first row's key, and the others follow this far apart (`auto_increment_increment`).
    FromInsertId(u64),
    /// SQLite: the rows take the rowids after this one, one apart, as `db::rowids::next`
    /// found right before the statement; the last-insert-id (the last row's rowid) must
    /// agree ([`rowid_keys`]).
    AfterRowid(i64),
}

/// A generated key of type `K`.
pub(crate) fn decode_key<DB: Backend, K: ColumnType>(
    key: GeneratedKey<'_, DB>,
) -> Result<K, sqlx::Error> {
    match key {
        GeneratedKey::Returned(row) => DB::get(row, 0),
        GeneratedKey::InsertId(id) => K::__from_insert_id(id).ok_or_else(|| {
            sqlx::Error::Decode(
                format!(
                    "last insert id {id} does not fit the primary key type {}",
                    std::any::type_name::<K>()
                )
                .into(),
            )
        }),
    }
}

/// `decode` of the one row an `INSERT ... RETURNING` returned.
///
/// The statement is always run to its end (`fetch_all`), never stopped after the first row
/// (`fetch_one`): on SQLite a statement sent without `BEGIN` commits when it finishes, and
/// an error of that commit (a deferred foreign key, a full or read-only disk) is reported
/// only to whoever steps it to the end. Stopped early, sqlx resets the statement and drops
/// that error: the write is answered as a success and nothing is stored.
fn returned_key<DB: Backend, T>(
    rows: Vec<DB::Row>,
    decode: impl FnOnce(GeneratedKey<'_, DB>) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    match rows.as_slice() {
        [row] => decode(GeneratedKey::Returned(row)),
        _ => Err(sqlx::Error::Decode(
            format!(
                "INSERT ... RETURNING returned {} rows, expected 1",
                rows.len()
            )
            .into(),
        )),
    }
}

/// The keys a multi-row `INSERT ... RETURNING` returned, in the order they were generated,
/// which is the order of the rows (see [`Backend::__insert_rows`]). Also MariaDB's, in
/// `innodb_autoinc_lock_mode` 2 (`write::batch`).
pub(crate) fn sorted_keys<R, K>(rows: Vec<R>, expected: usize) -> Result<Vec<K>, sqlx::Error>
where
    R: sqlx::Row,
    R::Database: Backend,
    K: ColumnType,
{
    if rows.len() != expected {
        return Err(key_count_error(rows.len(), expected));
    }
    let mut keys = rows
        .iter()
        .map(|row| {
            let key: K = <R::Database as Backend>::get(row, 0)?;
            let order = key
                .__generated_id()
                .ok_or_else(|| key_count_error(0, expected))?;
            Ok((order, key))
        })
        .collect::<Result<Vec<(i64, K)>, sqlx::Error>>()?;
    keys.sort_by_key(|(order, _)| *order);
    Ok(keys.into_iter().map(|(_, key)| key).collect())
}

/// The keys of the `rows` rows of a SQLite statement sent after `db::rowids::next`
/// answered `Next::After(after)` ([`Consecutive::AfterRowid`]), from what the statement
/// reports: the rows it inserted and the last rowid it gave (its last row's). An error if
/// the rowids are not `after + 1 ..= after + rows`; the write's transaction then rolls
/// back, and no model gets a key.
fn rowid_keys(inserted: u64, last: i64, rows: usize, after: i64) -> Result<Vec<u64>, sqlx::Error> {
    let error = |what: String| {
        sqlx::Error::Protocol(format!(
            "a multi-row INSERT of {rows} rows after rowid {after} {what}: its keys are unknown"
        ))
    };
    if inserted != rows as u64 {
        return Err(error(format!("inserted {inserted} rows")));
    }
    // Why `last == after + rows` proves that the i-th row (from 1) took `after + i`: no
    // trigger runs (`rowids::next` found none) and this transaction is the only writer, so
    // while the statement runs the table gains only our rows. By SQLite's rule each row takes a
    // rowid larger than every rowid the table held before it (one more than the largest;
    // with `AUTOINCREMENT`, at least one more than the largest it ever held, `seq`), until
    // a rowid reaches `i64::MAX`: then a table without `AUTOINCREMENT` gets random ones and
    // one with it fails. `after` is at least the largest before the statement, so our rows
    // are increasing and all above `after`: `rows` distinct integers in
    // `after + 1 ..= last`. If `last == after + rows`, that range holds exactly `rows`
    // integers, so the i-th row took `after + i`. (No row went random: without
    // `AUTOINCREMENT` the rowids go up exactly one at a time from at most `after`, so none
    // reaches `i64::MAX` before `after + rows`, which `rowids::next` checked fits.)
    // Otherwise (a rule we do not know) the keys are refused.
    let expected = after
        .checked_add(rows as i64)
        .ok_or_else(|| error("passes i64::MAX".into()))?;
    if last != expected {
        return Err(error(format!("ended at rowid {last}, not {expected}")));
    }
    // `after` is at least 0 (`rowids::next`): the keys are from 1 up.
    let first = u64::try_from(after).map_err(|_| error("is below 0".into()))? + 1;
    Ok((first..first + rows as u64).collect())
}

/// `ids`, generated keys as the driver reports them, as keys of type `K`.
fn keys_from_ids<K: ColumnType>(
    ids: impl Iterator<Item = Option<u64>>,
    rows: usize,
) -> Result<Vec<K>, sqlx::Error> {
    ids.map(|id| {
        id.and_then(K::__from_insert_id)
            .ok_or_else(|| key_count_error(0, rows))
    })
    .collect()
}

/// The error of [`Backend::__insert_rows`] called with a [`Consecutive`] of another backend.
fn not_this_backend(dialect: Dialect, run: Consecutive) -> sqlx::Error {
    sqlx::Error::Protocol(format!(
        "{dialect:?} reports no generated keys as {run:?}: its multi-row inserts return them"
    ))
}

fn key_count_error(got: usize, expected: usize) -> sqlx::Error {
    sqlx::Error::Decode(
        format!("a multi-row INSERT of {expected} rows gave {got} usable generated keys").into(),
    )
}

/// Implements [`Backend`] for one driver. The bodies are the same text for each driver, but
/// they must be written against the concrete type: sqlx implements `Executor` for each
/// driver's connection separately, not for `Database::Connection` in general.
macro_rules! backend {
    (
        $db:ty,
        $dialect:expr,
        bind: |$bind_query:ident, $value:ident| $bind:expr,
        insert_key: |$conn:ident, $query:ident, $decode:ident| $insert_key:expr,
        insert_rows: |$rows_conn:ident, $rows_query:ident, $rows:ident, $run:ident| $insert_rows:expr,
        writer_turn: |$turn_conn:ident| $writer_turn:expr $(,)?
    ) => {
        impl Backend for $db {
            const DIALECT: Dialect = $dialect;

            #[inline]
            fn bind<'q, T: ColumnType>(
                $bind_query: Query<'q, Self>,
                $value: &T,
            ) -> Query<'q, Self> {
                $bind
            }

            #[inline]
            fn get<T: ColumnType>(row: &Self::Row, index: usize) -> Result<T, sqlx::Error> {
                let value = row.try_get_raw(index)?;
                if !T::__NULLABLE && sqlx::ValueRef::is_null(&value) {
                    return Err(sqlx::Error::ColumnDecode {
                        index: index.to_string(),
                        source: Box::new(sqlx::error::UnexpectedNullError),
                    });
                }
                // Each column type says how this backend stores it (`column::Stored`).
                <T as crate::base::column::Stored<Self>>::decode(value).map_err(|source| {
                    sqlx::Error::ColumnDecode {
                        index: index.to_string(),
                        source,
                    }
                })
            }

            fn execute<'e>(
                conn: &'e mut Self::Connection,
                query: Query<'e, Self>,
            ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'e {
                let send = move |query: Query<'e, Self>| async move {
                    Ok(query.execute(conn).await?.rows_affected())
                };
                statement::sent(Self::DIALECT, query, |affected| *affected, send)
            }

            fn fetch_optional<'e>(
                conn: &'e mut Self::Connection,
                query: Query<'e, Self>,
            ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'e {
                // Every row is read, not just the first: see `returned_key`.
                let send = move |query: Query<'e, Self>| async move {
                    Ok(query.fetch_all(conn).await?.into_iter().next())
                };
                let rows = |row: &Option<Self::Row>| u64::from(row.is_some());
                statement::sent(Self::DIALECT, query, rows, send)
            }

            fn fetch_all<'e>(
                conn: &'e mut Self::Connection,
                query: Query<'e, Self>,
            ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'e {
                let rows = |rows: &Vec<Self::Row>| rows.len() as u64;
                statement::sent(Self::DIALECT, query, rows, move |query| query.fetch_all(conn))
            }

            fn insert_returning_key<'e, K: ColumnType>(
                conn: &'e mut Self::Connection,
                query: Query<'e, Self>,
            ) -> impl Future<Output = Result<K, sqlx::Error>> + Send + 'e {
                Self::__insert_generated(conn, query, decode_key::<Self, K>)
            }

            fn __insert_generated<'e, T, F>(
                $conn: &'e mut Self::Connection,
                $query: Query<'e, Self>,
                $decode: F,
            ) -> impl Future<Output = Result<T, sqlx::Error>> + Send + 'e
            where
                T: Send + 'e,
                F: for<'r> FnOnce(GeneratedKey<'r, Self>) -> Result<T, sqlx::Error> + Send + 'e,
            {
                let send = move |$query: Query<'e, Self>| async move { $insert_key };
                statement::sent(Self::DIALECT, $query, |_| 1, send)
            }

            fn __insert_rows<'e, K: ColumnType>(
                $rows_conn: &'e mut Self::Connection,
                $rows_query: Query<'e, Self>,
                $rows: usize,
                $run: Consecutive,
            ) -> impl Future<Output = Result<Vec<K>, sqlx::Error>> + Send + 'e {
                let send = move |$rows_query: Query<'e, Self>| async move { $insert_rows };
                let rows = |keys: &Vec<K>| keys.len() as u64;
                statement::sent(Self::DIALECT, $rows_query, rows, send)
            }

            fn __writer_turn(
                $turn_conn: &mut Self::Connection,
            ) -> impl Future<Output = Result<Option<crate::db::writers::Turn>, sqlx::Error>> + Send + '_
            {
                $writer_turn
            }
        }
    };
}

backend!(
    Sqlite,
    Dialect::Sqlite,
    bind: |query, value| crate::base::column::Stored::bind(value, query),
    insert_key: |conn, query, decode| returned_key(query.fetch_all(conn).await?, decode),
    insert_rows: |conn, query, rows, run| {
        let Consecutive::AfterRowid(after) = run else {
            return Err(not_this_backend(Self::DIALECT, run));
        };
        let done = query.execute(conn).await?;
        let ids = rowid_keys(done.rows_affected(), done.last_insert_rowid(), rows, after)?;
        keys_from_ids(ids.into_iter().map(Some), rows)
    },
    writer_turn: |conn| crate::db::writers::turn(conn),
);

backend!(
    Postgres,
    Dialect::Postgres,
    bind: |query, value| crate::base::column::Stored::bind(value, query),
    insert_key: |conn, query, decode| returned_key(query.fetch_all(conn).await?, decode),
    insert_rows: |_conn, _query, _rows, run| Err(not_this_backend(Self::DIALECT, run)),
    writer_turn: |_conn| std::future::ready(Ok(None)),
);

backend!(
    MySql,
    Dialect::MySql,
    bind: |query, value| crate::base::column::Stored::bind(value, query),
    insert_key: |conn, query, decode| {
        decode(GeneratedKey::InsertId(query.execute(conn).await?.last_insert_id()))
    },
    insert_rows: |conn, query, rows, run| {
        let Consecutive::FromInsertId(increment) = run else {
            return Err(not_this_backend(Self::DIALECT, run));
        };
        let done = query.execute(conn).await?;
        if done.rows_affected() != rows as u64 {
            return Err(key_count_error(done.rows_affected() as usize, rows));
        }
        let first = done.last_insert_id();
        let ids = (0..rows as u64).map(|i| first.checked_add(i.checked_mul(increment)?));
        keys_from_ids(ids, rows)
    },
    writer_turn: |_conn| std::future::ready(Ok(None)),
);

#[cfg(test)]
mod tests {
    use super::rowid_keys;

    #[test]
    fn keys_follow_the_rowid_read_before_the_statement_or_are_refused() {
        assert_eq!(rowid_keys(3, 13, 3, 10).unwrap(), [11, 12, 13]);
        // A rowid taken between the rows (a trigger), or fewer rows inserted.
        assert!(rowid_keys(3, 14, 3, 10).is_err());
        assert!(rowid_keys(2, 13, 3, 10).is_err());
        // A random rowid past `i64::MAX`.
        assert!(rowid_keys(2, 7, 2, i64::MAX - 1).is_err());
    }
}
