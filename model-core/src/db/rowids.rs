//! Layer 2, the database: the rowids SQLite will give the rows of a multi-row `INSERT`,
//! known before it is sent, so that it need not return them (`write::batch`; returning
//! rows from sqlx's SQLite worker thread costs more than inserting them). Uses only
//! [`crate::base`].
//!
//! SQLite's rule (<https://sqlite.org/autoinc.html>, and `OP_NewRowid` in its code): a row
//! inserted without a rowid takes one more than the largest rowid in the table at that
//! moment (1 in an empty table) and, with `AUTOINCREMENT`, than the table's `seq` in
//! `sqlite_sequence` (the largest it ever held, kept up to date as the statement goes); a
//! table whose largest rowid is `i64::MAX` gets random ones instead. [`next`] reads, in the
//! transaction that holds SQLite's only writer, what that rule starts from; SQLite's
//! `Backend::__insert_rows` checks after the statement that the rule held, before any key
//! is set.

use crate::base::dialect::Dialect;
use crate::base::table::Table;
use crate::db::backend::{Backend, Query};

/// What [`next`] knows of the rowids the next statement's rows will take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// They take the rowids after this one, one apart (`B`: `B + 1 ..= B + rows`).
    After(i64),
    /// Not known before the statement, but growing in the order of its rows: it returns
    /// them (`RETURNING`).
    Returned,
    /// Past `i64::MAX`, where SQLite picks random rowids, in no order: one statement a row,
    /// each returning its own.
    OneByOne,
}

/// What the next `rows` rows inserted into `table` by one statement will take ([`Next`]).
/// [`Next::Returned`] where the key is not the table's rowid (another declared type than
/// `INTEGER`, a composite key, `WITHOUT ROWID`, the `INTEGER PRIMARY KEY DESC` quirk), the
/// name may resolve to a table in another schema, a trigger on the table could insert or
/// delete rows of it between ours, or the keys would be below 1 (they are read as unsigned,
/// like MySQL's); [`Next::OneByOne`] where they would pass `i64::MAX`.
///
/// Run on `conn` inside the write's transaction, right before the statement: nothing else
/// writes the table in between (SQLite has one writer, and this transaction holds it).
/// SQLite only: its catalogue (`sqlite_master`, `pragma_table_list`).
pub(crate) async fn next<DB: Backend>(
    conn: &mut DB::Connection,
    table: &Table,
    rows: usize,
) -> Result<Next, sqlx::Error> {
    debug_assert_eq!(DB::DIALECT, Dialect::Sqlite);
    let [key] = table.key else {
        return Ok(Next::Returned);
    };
    let q = |ident: &str| Dialect::Sqlite.quote(ident);
    let schema = q(table.schema.unwrap_or("main"));
    // Unqualified, the name resolves to `temp` first, then `main`, then attached databases:
    // only a name held by `main` alone is sure to be the table the `INSERT` writes.
    let alone = match table.schema {
        Some(_) => "",
        None => "(SELECT count(*) FROM pragma_table_list WHERE name = ?1 COLLATE NOCASE) = 1 AND ",
    };
    // Identifiers quoted, values bound: ?1 the table's name, ?2 its schema, ?3 the key's.
    // Column 0: whether the key is the rowid and no trigger is on the table; 1: whether it
    // has `AUTOINCREMENT`; 2: its largest key.
    let text = format!(
        "SELECT {alone}\
         EXISTS (SELECT 1 FROM pragma_table_list WHERE schema = ?2 AND name = ?1 COLLATE NOCASE \
                 AND type = 'table' AND wr = 0) \
         AND (SELECT count(*) FROM pragma_table_info(?1, ?2) WHERE pk > 0) = 1 \
         AND EXISTS (SELECT 1 FROM pragma_table_info(?1, ?2) \
                     WHERE pk = 1 AND name = ?3 COLLATE NOCASE AND upper(type) = 'INTEGER') \
         AND NOT EXISTS (SELECT 1 FROM pragma_index_list(?1, ?2) WHERE origin = 'pk') \
         AND NOT EXISTS (SELECT 1 FROM {schema}.sqlite_master \
                         WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE) \
         AND NOT EXISTS (SELECT 1 FROM temp.sqlite_master \
                         WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE), \
         EXISTS (SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' \
                 AND name = ?1 COLLATE NOCASE AND instr(upper(sql), 'AUTOINCREMENT') > 0) \
         AND EXISTS (SELECT 1 FROM {schema}.sqlite_master \
                     WHERE type = 'table' AND name = 'sqlite_sequence'), \
         (SELECT max({}) FROM {schema}.{})",
        q(table.columns[*key]),
        q(table.name),
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(text));
    let query = bind_names::<DB>(query, table, Some(table.columns[*key]));
    // A SQLite before 3.37 has no `pragma_table_list`: its statements return their keys.
    let Ok(Some(row)) = DB::fetch_optional(conn, query).await else {
        return Ok(Next::Returned);
    };
    let known = DB::get::<i64>(&row, 0)? != 0;
    // An empty table starts from 0 (its first rowid is 1).
    let largest = DB::get::<Option<i64>>(&row, 2)?.unwrap_or(0);
    // With `AUTOINCREMENT` (the word anywhere in the table's SQL: a table without it is
    // never taken for one without), also after the largest the table ever held.
    let base = match DB::get::<i64>(&row, 1)? {
        0 => largest,
        _ => {
            let text = format!(
                "SELECT max(seq) FROM {schema}.sqlite_sequence WHERE name = ?1 COLLATE NOCASE"
            );
            let query = sqlx::query(sqlx::AssertSqlSafe(text));
            let query = bind_names::<DB>(query, table, None);
            let seq = match DB::fetch_optional(conn, query).await? {
                Some(row) => DB::get::<Option<i64>>(&row, 0)?,
                None => None,
            };
            largest.max(seq.unwrap_or(0))
        }
    };
    let fits = i64::try_from(rows)
        .ok()
        .and_then(|rows| base.checked_add(rows))
        .is_some();
    Ok(match (fits, known && base >= 0) {
        (false, _) => Next::OneByOne,
        (true, true) => Next::After(base),
        (true, false) => Next::Returned,
    })
}

/// Binds `?1` the table's name, `?2` its schema (`main` when it names none) and, if
/// given, `?3` the key column's name.
fn bind_names<'q, DB: Backend>(
    query: Query<'q, DB>,
    table: &Table,
    key: Option<&str>,
) -> Query<'q, DB> {
    let query = DB::bind(query, &table.name.to_owned());
    let query = DB::bind(query, &table.schema.unwrap_or("main").to_owned());
    match key {
        Some(key) => DB::bind(query, &key.to_owned()),
        None => query,
    }
}
