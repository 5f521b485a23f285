//! The SQL text of a model's operations, built once per model and backend.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::base::dialect::Dialect;
use crate::base::table::{ReadBack, ReadBy, Table};

/// The SQL of every operation of one model on one backend.
///
/// Built from the model's table and column names by [`Statements::build`], the only place in
/// model-core that writes SQL. Identifiers are always quoted with [`Dialect::quote`] and every
/// value is a placeholder: no value ever becomes SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statements {
    /// `INSERT` of every column but the key, which the database generates (the key comes
    /// back through `RETURNING` or the driver's last-insert-id). A model's generated
    /// columns ([`ReadBack`]) are never written, and come back through `RETURNING` with the
    /// key where the backend reads them so.
    pub insert: String,
    /// `INSERT` of every column, key included.
    pub insert_with_key: String,
    /// `UPDATE` of every column but the key, `WHERE` key = ? (every part of a composite key:
    /// `a = ? AND b = ?`), and `AND` version = ? for a model with a `#[model(version)]`
    /// column. The key is never set: it names the row, and
    /// a key the database generates may refuse to be written (PostgreSQL's `GENERATED
    /// ALWAYS`). Empty for a table of just its key, which has nothing to set.
    pub update: String,
    /// `DELETE ... WHERE` key = ?, and `AND` version = ? for a model with a version column.
    pub delete: String,
    /// `SELECT` of every column `WHERE` key = ?.
    pub select_by_key: String,
    /// [`Statements::select_by_key`], locking the row until the transaction ends (`FOR
    /// UPDATE` on PostgreSQL and MySQL; SQLite's write transaction holds the whole database).
    pub select_for_update: String,
    /// `SELECT` of every column of every row, by key.
    pub select_all: String,
    /// `SELECT` of every column, by key ascending, `LIMIT ? OFFSET ?`.
    pub select_page_asc: String,
    /// `SELECT` of every column, by key descending, `LIMIT ? OFFSET ?`.
    pub select_page_desc: String,
    /// What the multi-row statements are built from.
    many: Many,
    /// The model's generated and defaulted columns: what a write reads back, and how.
    back: Back,
}

/// What a write of a model with generated or defaulted columns ([`ReadBack`]) reads back,
/// and the statements that read it; all empty for any other model.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Back {
    /// How this dialect reads them back; `None`: there is nothing to read.
    by: Option<ReadBy>,
    /// The columns read back (generated first, then defaulted), indices into the columns.
    columns: Vec<usize>,
    /// How many of `columns` are generated (what an update reads back).
    generated: usize,
    /// The defaulted columns: bit `j` of an insert's `omitted` mask is `defaulted[j]`.
    defaulted: Vec<usize>,
    /// The quoted table name.
    table: String,
    /// The columns an insert writes (all but the generated ones), key included.
    writes: Vec<usize>,
    /// ` RETURNING key, read back...` of an insert that brings its key, where `by` is
    /// `Returning`: the key tells a multi-row insert's returned rows apart.
    returning_with_key: String,
    /// ` RETURNING generated...` of an update, where `by` is `Returning`.
    update_returning: String,
    /// `SELECT read back... FROM t WHERE key = ?`: the `Select` way, and the lookup of an
    /// update that has nothing to set.
    select: String,
    /// `SELECT key, read back... FROM t WHERE key IN `, for a multi-row insert.
    select_rows_head: String,
    /// One cached `INSERT` per set of omitted defaulted columns (and with or without the
    /// key), for a model with at most [`CACHED_SHAPES`] defaulted columns; other shapes are
    /// written per insert.
    shapes: Box<[OnceLock<String>]>,
}

/// The most defaulted columns whose `INSERT`s are cached, one per combination (`2 * 2^4`
/// strings at most).
const CACHED_SHAPES: usize = 4;

/// The parts of the multi-row statements, whose text depends on the number of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Many {
    dialect: Dialect,
    /// `INSERT INTO t (every column but the key) VALUES `.
    insert_head: String,
    /// `INSERT INTO t (every column) VALUES `.
    insert_with_key_head: String,
    /// ` RETURNING key`, or nothing where there is no `RETURNING`.
    returning: String,
    /// `DELETE FROM t WHERE key IN `, or `(a, b) IN ` for a composite key.
    delete_head: String,
    /// `SELECT key FROM t WHERE key IN `, every key column for a composite key.
    select_keys_head: String,
    /// `SELECT every column FROM t WHERE `, for [`Statements::select_where_in`].
    select_where_head: String,
    /// The key's columns, quoted and comma-separated, to order by.
    key_list: String,
    /// How many columns there are, key included.
    columns: usize,
    /// `UPDATE t SET `, and every column quoted, for [`Statements::update_columns`].
    update_head: String,
    quoted: Vec<String>,
    /// The key's columns, indices into `quoted`.
    key: Vec<usize>,
    /// The index of the `#[model(version)]` column, if there is one.
    version: Option<usize>,
}

/// The most values one statement may bind on each backend: SQLite's default
/// `SQLITE_MAX_VARIABLE_NUMBER` (32,766 since 3.32), and the 16-bit parameter count of the
/// PostgreSQL and MySQL protocols.
pub(crate) const fn max_binds(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Sqlite => 32_766,
        Dialect::Postgres | Dialect::MySql => 65_535,
    }
}

impl Statements {
    /// Builds the statements for `table` with `columns`, of which those at `primary_key`
    /// are the primary key (one index, or several for a composite key).
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build(Dialect::Postgres, "posts", &["id", "title", "order"], &[0]);
    /// assert_eq!(sql.insert, r#"INSERT INTO "posts" ("title", "order") VALUES ($1, $2) RETURNING "id""#);
    /// assert_eq!(sql.update, r#"UPDATE "posts" SET "title" = $1, "order" = $2 WHERE "id" = $3"#);
    ///
    /// let sql = Statements::build(Dialect::Sqlite, "post_tag", &["post_id", "tag_id", "note"], &[0, 1]);
    /// assert_eq!(sql.delete, r#"DELETE FROM "post_tag" WHERE "post_id" = ? AND "tag_id" = ?"#);
    /// ```
    pub fn build(dialect: Dialect, table: &str, columns: &[&str], primary_key: &[usize]) -> Self {
        Self::build_in(dialect, None, table, columns, primary_key, None)
    }

    /// [`Statements::build`] for a model whose `columns[version]` is its `#[model(version)]`
    /// column: `update` and `delete` also require the version the model was read with.
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build_versioned(Dialect::Sqlite, "items", &["id", "stock", "v"], &[0], Some(2));
    /// assert_eq!(sql.update, r#"UPDATE "items" SET "stock" = ?, "v" = ? WHERE "id" = ? AND "v" = ?"#);
    /// assert_eq!(sql.delete, r#"DELETE FROM "items" WHERE "id" = ? AND "v" = ?"#);
    /// ```
    pub fn build_versioned(
        dialect: Dialect,
        table: &str,
        columns: &[&str],
        primary_key: &[usize],
        version: Option<usize>,
    ) -> Self {
        Self::build_in(dialect, None, table, columns, primary_key, version)
    }

    /// The statements of a model's table.
    pub fn of(dialect: Dialect, table: &Table) -> Self {
        Self::of_model(dialect, table, &ReadBack::NONE)
    }

    /// The statements of a model's table whose `read_back` columns the database writes:
    /// generated columns are never written, and with the defaulted ones read back after an
    /// insert (`RETURNING`, or a `SELECT` by key right after the statement).
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// use model_core::__private::{ReadBack, Table};
    /// const TABLE: Table = Table {
    ///     model: "Line", schema: None, name: "lines", version: None,
    ///     columns: &["id", "qty", "total", "added"], key: &[0],
    /// };
    /// // `total` is generated, `added` has a default.
    /// const BACK: ReadBack = ReadBack { columns: &[2, 3], generated: 1, by_trigger: false };
    /// let sql = Statements::of_model(Dialect::Postgres, &TABLE, &BACK);
    /// assert_eq!(sql.insert, r#"INSERT INTO "lines" ("qty", "added") VALUES ($1, $2) RETURNING "id", "total", "added""#);
    /// assert_eq!(sql.update, r#"UPDATE "lines" SET "qty" = $1, "added" = $2 WHERE "id" = $3 RETURNING "total""#);
    /// ```
    pub fn of_model(dialect: Dialect, table: &Table, read_back: &ReadBack) -> Self {
        Self::build_with(
            dialect,
            table.schema,
            table.name,
            table.columns,
            table.key,
            table.version,
            read_back,
        )
    }

    /// [`Statements::build_versioned`] for a table in `schema` (`"schema"."table"`).
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build_in(Dialect::MySql, Some("library"), "books", &["id", "title"], &[0], None);
    /// assert_eq!(sql.delete, "DELETE FROM `library`.`books` WHERE `id` = ?");
    /// ```
    pub fn build_in(
        dialect: Dialect,
        schema: Option<&str>,
        table: &str,
        columns: &[&str],
        primary_key: &[usize],
        version: Option<usize>,
    ) -> Self {
        Self::build_with(
            dialect,
            schema,
            table,
            columns,
            primary_key,
            version,
            &ReadBack::NONE,
        )
    }

    fn build_with(
        dialect: Dialect,
        schema: Option<&str>,
        table: &str,
        columns: &[&str],
        primary_key: &[usize],
        version: Option<usize>,
        read_back: &ReadBack,
    ) -> Self {
        assert!(!primary_key.is_empty(), "a model has a primary key");
        let q = |ident: &str| dialect.quote(ident);
        let table = dialect.quote_table(schema, table);
        let all: Vec<String> = columns.iter().map(|c| q(c)).collect();
        let keys: Vec<&str> = primary_key.iter().map(|&i| all[i].as_str()).collect();
        let key_list = keys.join(", ");
        // Generated columns are read, never written.
        let generated = read_back.generated();
        let writes: Vec<usize> = (0..columns.len())
            .filter(|i| !generated.contains(i))
            .collect();
        let written: Vec<String> = writes.iter().map(|&i| all[i].clone()).collect();
        let without_key: Vec<String> = writes
            .iter()
            .filter(|i| !primary_key.contains(i))
            .map(|&i| all[i].clone())
            .collect();
        let by = read_back.by(dialect);
        let list = |columns: &[usize]| {
            columns
                .iter()
                .map(|&i| all[i].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let read_list = list(read_back.columns);
        let placeholders = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| dialect.placeholder(i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // `"a" = ? AND "b" = ?`, the key's placeholders numbered on from `after`.
        let key_is = |after: usize| {
            keys.iter()
                .enumerate()
                .map(|(i, key)| format!("{key} = {}", dialect.placeholder(after + i + 1)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let select = format!("SELECT {} FROM {table}", all.join(", "));

        let mut insert = if without_key.is_empty() {
            // A table of just a generated key.
            match dialect {
                Dialect::MySql => format!("INSERT INTO {table} () VALUES ()"),
                Dialect::Sqlite | Dialect::Postgres => {
                    format!("INSERT INTO {table} DEFAULT VALUES")
                }
            }
        } else {
            format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                without_key.join(", "),
                placeholders(1, without_key.len())
            )
        };
        let returning = match (dialect.has_returning(), by) {
            (true, Some(ReadBy::Returning)) => format!(" RETURNING {key_list}, {read_list}"),
            (true, _) => format!(" RETURNING {key_list}"),
            (false, _) => String::new(),
        };
        insert.push_str(&returning);
        let returning_with_key = match by {
            Some(ReadBy::Returning) => format!(" RETURNING {key_list}, {read_list}"),
            _ => String::new(),
        };
        let mut insert_with_key = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            written.join(", "),
            placeholders(1, written.len())
        );
        insert_with_key.push_str(&returning_with_key);
        let update_returning = match by {
            Some(ReadBy::Returning) if !generated.is_empty() => {
                format!(" RETURNING {}", list(generated))
            }
            _ => String::new(),
        };
        // `AND version = ?` after the key, bound after it.
        let version_check = |after: usize| match version {
            Some(v) => format!(" AND {} = {}", all[v], dialect.placeholder(after + 1)),
            None => String::new(),
        };
        let update = if without_key.is_empty() {
            String::new()
        } else {
            let assignments = without_key
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = {}", dialect.placeholder(i + 1)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "UPDATE {table} SET {assignments} WHERE {}{}{update_returning}",
                key_is(without_key.len()),
                version_check(without_key.len() + keys.len())
            )
        };
        let lock = match dialect {
            Dialect::Postgres | Dialect::MySql => " FOR UPDATE",
            Dialect::Sqlite => "",
        };
        // `"id" IN ` for one key column, `("a", "b") IN ` for a composite key: every
        // backend compares row values (SQLite since 3.15).
        let key_in = match keys.as_slice() {
            [one] => format!("{one} IN "),
            _ => format!("({key_list}) IN "),
        };
        let many = Many {
            dialect,
            insert_head: format!("INSERT INTO {table} ({}) VALUES ", without_key.join(", ")),
            insert_with_key_head: format!("INSERT INTO {table} ({}) VALUES ", written.join(", ")),
            returning,
            delete_head: format!("DELETE FROM {table} WHERE {key_in}"),
            select_keys_head: format!("SELECT {key_list} FROM {table} WHERE {key_in}"),
            select_where_head: format!("{select} WHERE "),
            key_list: key_list.clone(),
            columns: written.len(),
            update_head: format!("UPDATE {table} SET "),
            quoted: all.clone(),
            key: primary_key.to_vec(),
            version,
        };
        let order = |direction: &str| {
            keys.iter()
                .map(|key| format!("{key} {direction}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let page = |direction: &str| {
            format!(
                "{select} ORDER BY {} LIMIT {} OFFSET {}",
                order(direction),
                dialect.placeholder(1),
                dialect.placeholder(2)
            )
        };
        let defaulted = read_back.defaulted().to_vec();
        let shapes = match defaulted.len() {
            1..=CACHED_SHAPES => (0..2 << defaulted.len()).map(|_| OnceLock::new()).collect(),
            _ => Box::default(),
        };
        let back = Back {
            by,
            columns: read_back.columns.to_vec(),
            generated: generated.len(),
            defaulted,
            select: match by {
                Some(_) => format!("SELECT {read_list} FROM {table} WHERE {}", key_is(0)),
                None => String::new(),
            },
            select_rows_head: match by {
                Some(_) => format!("SELECT {key_list}, {read_list} FROM {table} WHERE {key_in}"),
                None => String::new(),
            },
            table: table.clone(),
            writes,
            returning_with_key,
            update_returning,
            shapes,
        };
        Statements {
            insert,
            insert_with_key,
            update,
            delete: format!(
                "DELETE FROM {table} WHERE {}{}",
                key_is(0),
                version_check(keys.len())
            ),
            select_by_key: format!("{select} WHERE {}", key_is(0)),
            select_for_update: format!("{select} WHERE {}{lock}", key_is(0)),
            select_all: format!("{select} ORDER BY {key_list}"),
            select_page_asc: page("ASC"),
            select_page_desc: page("DESC"),
            many,
            back,
        }
    }

    /// How many values one row of a multi-row `INSERT` binds.
    pub(crate) fn insert_binds(&self, with_key: bool) -> usize {
        if with_key {
            self.many.columns
        } else {
            self.many.columns - self.many.key.len()
        }
    }

    /// `INSERT` of `rows` rows in one statement: `VALUES (..), (..), ...`, returning the
    /// generated keys (`RETURNING`) unless `with_key`. Needs at least one column to insert.
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build(Dialect::Postgres, "posts", &["id", "title"], &[0]);
    /// assert_eq!(sql.insert_rows(2, false), r#"INSERT INTO "posts" ("title") VALUES ($1), ($2) RETURNING "id""#);
    /// ```
    pub fn insert_rows(&self, rows: usize, with_key: bool) -> String {
        let many = &self.many;
        let (head, returning) = if with_key {
            (
                &many.insert_with_key_head,
                self.back.returning_with_key.as_str(),
            )
        } else {
            (&many.insert_head, many.returning.as_str())
        };
        let mut sql = head.clone();
        push_groups(&mut sql, many.dialect, rows, self.insert_binds(with_key));
        sql.push_str(returning);
        sql
    }

    /// How a write reads back the model's generated and defaulted columns; `None` for a
    /// model without any.
    pub(crate) fn read_by(&self) -> Option<ReadBy> {
        self.back.by
    }

    /// How many columns an insert reads back (generated and defaulted) and an update
    /// (generated), in that order in [`ReadBack::columns`]: the update's are the first.
    pub(crate) fn read_back_count(&self, insert: bool) -> usize {
        match insert {
            true => self.back.columns.len(),
            false => self.back.generated,
        }
    }

    /// `SELECT` of the read-back columns `WHERE` key = ?: the `Select` way of reading them
    /// back (MySQL; SQLite where a trigger may keep a column), and what an update with
    /// nothing to set looks up. Empty for a model without such columns.
    pub(crate) fn select_read_back(&self) -> &str {
        &self.back.select
    }

    /// `SELECT key, read back... WHERE key IN (..)` of `rows` rows: the `Select` way after
    /// a multi-row insert.
    pub(crate) fn select_read_back_rows(&self, rows: usize) -> String {
        let mut sql = self.back.select_rows_head.clone();
        self.push_keys(&mut sql, rows);
        sql
    }

    /// ` RETURNING key, read back...`, for MariaDB's multi-row `INSERT ... RETURNING`
    /// (`write::batch`), which the dialect does not use otherwise.
    pub(crate) fn returning_keys(&self) -> String {
        let many = &self.many;
        let mut sql = format!(" RETURNING {}", many.key_list);
        for &column in &self.back.columns {
            sql.push_str(", ");
            sql.push_str(&many.quoted[column]);
        }
        sql
    }

    /// The one-row `INSERT` that leaves the defaulted columns in `omitted` (bit `j` for
    /// [`ReadBack::defaulted`]`[j]`) to the database: [`Statements::insert`] or
    /// [`Statements::insert_with_key`] when none is, else built once per combination and
    /// kept (or, past [`CACHED_SHAPES`] defaulted columns, built per insert).
    pub(crate) fn insert_omitting(
        &'static self,
        with_key: bool,
        omitted: u64,
    ) -> Cow<'static, str> {
        if omitted == 0 {
            return Cow::Borrowed(match with_key {
                true => &self.insert_with_key,
                false => &self.insert,
            });
        }
        let slot = (usize::from(with_key) << self.back.defaulted.len()) | omitted as usize;
        match self.back.shapes.get(slot) {
            Some(cell) => {
                Cow::Borrowed(cell.get_or_init(|| self.insert_shaped(with_key, &[omitted])))
            }
            None => Cow::Owned(self.insert_shaped(with_key, &[omitted])),
        }
    }

    /// How many values a row of an insert binds when it leaves the defaulted columns in
    /// `omitted` to the database.
    pub(crate) fn insert_binds_omitting(&self, with_key: bool, omitted: u64) -> usize {
        self.insert_binds(with_key) - omitted.count_ones() as usize
    }

    /// [`Statements::insert_rows`] of rows that leave the defaulted columns of their
    /// `omitted` mask (one per row) to the database. On SQLite, which has no `DEFAULT` in
    /// `VALUES`, every row of one statement must leave out the same columns (`write::batch`
    /// groups them so), and a statement that then writes no column is of one row.
    pub(crate) fn insert_rows_omitting(&self, with_key: bool, omitted: &[u64]) -> String {
        match omitted.iter().any(|&mask| mask != 0) {
            true => self.insert_shaped(with_key, omitted),
            false => self.insert_rows(omitted.len(), with_key),
        }
    }

    /// Takes the ` RETURNING key` off `sql`, a statement of rows without keys from
    /// [`Statements::insert_rows`] or [`Statements::insert_rows_omitting`]: for rows whose
    /// generated keys are known without it (SQLite's rowids, `write::batch`). Only for a
    /// model that reads nothing back through `RETURNING` ([`Statements::read_by`]), whose
    /// statement returns the key alone.
    pub(crate) fn without_returning(&self, sql: &mut String) {
        debug_assert_ne!(self.back.by, Some(ReadBy::Returning));
        if let Some(len) = sql.strip_suffix(self.many.returning.as_str()).map(str::len) {
            sql.truncate(len);
        }
    }

    /// An `INSERT` of one row per `omitted` mask: on SQLite without the first mask's
    /// columns, elsewhere with `DEFAULT` in each omitted column's place.
    fn insert_shaped(&self, with_key: bool, omitted: &[u64]) -> String {
        use std::fmt::Write as _;
        let (many, back) = (&self.many, &self.back);
        let left_out = |mask: u64, column: usize| {
            back.defaulted
                .iter()
                .position(|&d| d == column)
                .is_some_and(|j| mask & (1 << j) != 0)
        };
        let sqlite = many.dialect == Dialect::Sqlite;
        let shared = omitted.first().copied().unwrap_or(0);
        debug_assert!(!sqlite || omitted.iter().all(|&mask| mask == shared));
        let columns: Vec<usize> = back
            .writes
            .iter()
            .copied()
            .filter(|column| with_key || !many.key.contains(column))
            .filter(|&column| !(sqlite && left_out(shared, column)))
            .collect();
        let mut sql = format!("INSERT INTO {}", back.table);
        if columns.is_empty() {
            debug_assert_eq!(
                omitted.len(),
                1,
                "a row that writes no column is one statement"
            );
            sql.push_str(match many.dialect {
                Dialect::MySql => " () VALUES ()",
                Dialect::Sqlite | Dialect::Postgres => " DEFAULT VALUES",
            });
        } else {
            let names: Vec<&str> = columns.iter().map(|&c| many.quoted[c].as_str()).collect();
            let _ = write!(sql, " ({}) VALUES ", names.join(", "));
            let mut n = 0;
            for (row, &mask) in omitted.iter().enumerate() {
                sql.push_str(if row == 0 { "(" } else { ", (" });
                for (i, &column) in columns.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    if left_out(mask, column) {
                        sql.push_str("DEFAULT");
                    } else {
                        n += 1;
                        match many.dialect {
                            Dialect::Postgres => {
                                let _ = write!(sql, "${n}");
                            }
                            Dialect::Sqlite | Dialect::MySql => sql.push('?'),
                        }
                    }
                }
                sql.push(')');
            }
        }
        sql.push_str(match with_key {
            true => &back.returning_with_key,
            false => &many.returning,
        });
        sql
    }

    /// `DELETE` of the rows with `rows` keys: `WHERE key IN (..)`.
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build(Dialect::Sqlite, "posts", &["id", "title"], &[0]);
    /// assert_eq!(sql.delete_rows(3), r#"DELETE FROM "posts" WHERE "id" IN (?, ?, ?)"#);
    /// ```
    ///
    /// A composite key's rows are row values: `WHERE ("a", "b") IN ((?, ?), (?, ?))`.
    pub fn delete_rows(&self, rows: usize) -> String {
        let mut sql = self.many.delete_head.clone();
        self.push_keys(&mut sql, rows);
        sql
    }

    /// `(?, ?, ?)` for `rows` keys of one column, `((?, ?), (?, ?))` for a composite key.
    fn push_keys(&self, sql: &mut String, rows: usize) {
        let many = &self.many;
        match many.key.len() {
            1 => push_groups(sql, many.dialect, 1, rows),
            columns => {
                sql.push('(');
                push_groups(sql, many.dialect, rows, columns);
                sql.push(')');
            }
        }
    }

    /// `UPDATE` of just `columns` (indices into the model's columns, none of them the key
    /// or the version column), `WHERE` key = ?; for a model with a version column, it is
    /// set too (after `columns`) and required (after the key): what an update of a
    /// `#[model(track_changes)]` model sends.
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build_versioned(Dialect::Postgres, "items", &["id", "name", "stock", "v"], &[0], Some(3));
    /// assert_eq!(
    ///     sql.update_columns(&[2]),
    ///     r#"UPDATE "items" SET "stock" = $1, "v" = $2 WHERE "id" = $3 AND "v" = $4"#
    /// );
    /// ```
    pub fn update_columns(&self, columns: &[usize]) -> String {
        use std::fmt::Write as _;
        let many = &self.many;
        let mut sql = String::with_capacity(many.update_head.len() + 24 * (columns.len() + 3));
        sql.push_str(&many.update_head);
        let mut n = 0;
        let mut placeholder = |sql: &mut String| {
            n += 1;
            match many.dialect {
                Dialect::Postgres => {
                    let _ = write!(sql, "${n}");
                }
                Dialect::Sqlite | Dialect::MySql => sql.push('?'),
            }
        };
        for (i, &column) in columns.iter().chain(&many.version).enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&many.quoted[column]);
            sql.push_str(" = ");
            placeholder(&mut sql);
        }
        sql.push_str(" WHERE ");
        for (i, &key) in many.key.iter().enumerate() {
            if i > 0 {
                sql.push_str(" AND ");
            }
            sql.push_str(&many.quoted[key]);
            sql.push_str(" = ");
            placeholder(&mut sql);
        }
        if let Some(version) = many.version {
            sql.push_str(" AND ");
            sql.push_str(&many.quoted[version]);
            sql.push_str(" = ");
            placeholder(&mut sql);
        }
        sql.push_str(&self.back.update_returning);
        sql
    }

    /// `SELECT key ... WHERE key IN (..)`: which of `rows` keys name a row.
    pub fn select_keys(&self, rows: usize) -> String {
        let mut sql = self.many.select_keys_head.clone();
        self.push_keys(&mut sql, rows);
        sql
    }

    /// `UPDATE t SET column = key WHERE key IN (..)`: rows of a table that references itself
    /// made to reference themselves, so that deleting them together with their parents
    /// leaves nothing for the database's `ON DELETE` to do among them (a cascade deletes the
    /// rest through their listeners first). The key is one column: a foreign key references
    /// no other.
    pub fn point_to_self(&self, column: usize, rows: usize) -> String {
        let many = &self.many;
        let key = &many.quoted[many.key[0]];
        let mut sql = many.update_head.clone();
        sql.push_str(&many.quoted[column]);
        sql.push_str(" = ");
        sql.push_str(key);
        sql.push_str(" WHERE ");
        sql.push_str(key);
        sql.push_str(" IN ");
        push_groups(&mut sql, many.dialect, 1, rows);
        sql
    }

    /// `SELECT` of every column of the rows whose `column` is one of `values` values, in key
    /// order; locked (`FOR UPDATE` on PostgreSQL and MySQL) when `lock`: the rows that
    /// reference the parents a cascade deletes, or that eager loading reads.
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build(Dialect::Postgres, "comments", &["id", "post_id"], &[0]);
    /// assert_eq!(
    ///     sql.select_where_in(1, 2, true),
    ///     r#"SELECT "id", "post_id" FROM "comments" WHERE "post_id" IN ($1, $2) ORDER BY "id" FOR UPDATE"#
    /// );
    /// ```
    pub fn select_where_in(&self, column: usize, values: usize, lock: bool) -> String {
        let many = &self.many;
        let mut sql = many.select_where_head.clone();
        sql.push_str(&many.quoted[column]);
        sql.push_str(" IN ");
        push_groups(&mut sql, many.dialect, 1, values);
        sql.push_str(" ORDER BY ");
        sql.push_str(&many.key_list);
        if lock && many.dialect != Dialect::Sqlite {
            sql.push_str(" FOR UPDATE");
        }
        sql
    }
}

/// Appends `groups` comma-separated groups of `per_group` placeholders each:
/// `(?, ?), (?, ?)`, numbered on from 1 on PostgreSQL.
fn push_groups(sql: &mut String, dialect: Dialect, groups: usize, per_group: usize) {
    use std::fmt::Write as _;
    sql.reserve(groups * (per_group * 5 + 4));
    let mut n = 0;
    for group in 0..groups {
        sql.push_str(if group == 0 { "(" } else { ", (" });
        for value in 0..per_group {
            if value > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match dialect {
                Dialect::Postgres => {
                    let _ = write!(sql, "${n}");
                }
                Dialect::Sqlite | Dialect::MySql => sql.push('?'),
            }
        }
        sql.push(')');
    }
}

/// Where a model keeps its [`Statements`], one slot per dialect, each built on first use.
///
/// The derive puts one in a `static` per model, so a write costs one atomic load, not a
/// string build.
#[derive(Debug)]
pub struct StatementCache {
    slots: [OnceLock<Statements>; 3],
}

impl StatementCache {
    /// An empty cache, for a `static`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StatementCache {
            slots: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
        }
    }

    /// The statements of `table` for `dialect`, built on first use.
    pub fn get(&'static self, dialect: Dialect, table: &Table) -> &'static Statements {
        self.slots[dialect as usize].get_or_init(|| Statements::of(dialect, table))
    }

    /// The statements of `table`, whose `read_back` columns the database writes, for
    /// `dialect`, built on first use ([`Statements::of_model`]).
    pub fn get_with(
        &'static self,
        dialect: Dialect,
        table: &Table,
        read_back: &ReadBack,
    ) -> &'static Statements {
        self.slots[dialect as usize].get_or_init(|| Statements::of_model(dialect, table, read_back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_quotes_with_backticks_and_has_no_returning() {
        let sql = Statements::build(Dialect::MySql, "user", &["id", "group"], &[0]);
        assert_eq!(sql.insert, "INSERT INTO `user` (`group`) VALUES (?)");
        assert_eq!(sql.delete, "DELETE FROM `user` WHERE `id` = ?");
    }

    #[test]
    fn quotes_inside_identifiers_are_doubled() {
        let sql = Statements::build(Dialect::Sqlite, "we\"ird", &["k", "a\"b"], &[0]);
        assert_eq!(
            sql.select_by_key,
            r#"SELECT "k", "a""b" FROM "we""ird" WHERE "k" = ?"#
        );
    }

    #[test]
    fn update_never_sets_the_key() {
        let sql = Statements::build(Dialect::MySql, "t", &["a", "id", "b"], &[1]);
        assert_eq!(sql.update, "UPDATE `t` SET `a` = ?, `b` = ? WHERE `id` = ?");
        assert_eq!(
            sql.update_columns(&[2]),
            "UPDATE `t` SET `b` = ? WHERE `id` = ?"
        );
        assert_eq!(
            Statements::build(Dialect::Sqlite, "t", &["id"], &[0]).update,
            ""
        );
    }

    #[test]
    fn versioned_statements_check_the_version_after_the_key() {
        let sql =
            Statements::build_versioned(Dialect::Postgres, "t", &["id", "v", "a"], &[0], Some(1));
        assert_eq!(
            sql.update,
            r#"UPDATE "t" SET "v" = $1, "a" = $2 WHERE "id" = $3 AND "v" = $4"#
        );
        assert_eq!(
            sql.delete,
            r#"DELETE FROM "t" WHERE "id" = $1 AND "v" = $2"#
        );
        assert_eq!(
            sql.update_columns(&[]),
            r#"UPDATE "t" SET "v" = $1 WHERE "id" = $2 AND "v" = $3"#
        );
        assert_eq!(
            sql.select_for_update,
            r#"SELECT "id", "v", "a" FROM "t" WHERE "id" = $1 FOR UPDATE"#
        );
    }

    #[test]
    fn key_only_table_inserts_default_values() {
        let sql = Statements::build(Dialect::Postgres, "t", &["id"], &[0]);
        assert_eq!(
            sql.insert,
            r#"INSERT INTO "t" DEFAULT VALUES RETURNING "id""#
        );
    }

    #[test]
    fn composite_keys_name_every_key_column() {
        let sql = Statements::build_versioned(
            Dialect::Postgres,
            "post_tag",
            &["post_id", "note", "tag_id", "v"],
            &[0, 2],
            Some(3),
        );
        assert_eq!(
            sql.update,
            r#"UPDATE "post_tag" SET "note" = $1, "v" = $2 WHERE "post_id" = $3 AND "tag_id" = $4 AND "v" = $5"#
        );
        assert_eq!(
            sql.update_columns(&[1]),
            r#"UPDATE "post_tag" SET "note" = $1, "v" = $2 WHERE "post_id" = $3 AND "tag_id" = $4 AND "v" = $5"#
        );
        assert_eq!(
            sql.select_by_key,
            r#"SELECT "post_id", "note", "tag_id", "v" FROM "post_tag" WHERE "post_id" = $1 AND "tag_id" = $2"#
        );
        assert_eq!(
            sql.delete_rows(2),
            r#"DELETE FROM "post_tag" WHERE ("post_id", "tag_id") IN (($1, $2), ($3, $4))"#
        );
        assert_eq!(
            sql.select_keys(1),
            r#"SELECT "post_id", "tag_id" FROM "post_tag" WHERE ("post_id", "tag_id") IN (($1, $2))"#
        );
        assert_eq!(
            sql.select_page_desc,
            r#"SELECT "post_id", "note", "tag_id", "v" FROM "post_tag" ORDER BY "post_id" DESC, "tag_id" DESC LIMIT $1 OFFSET $2"#
        );
        assert_eq!(sql.insert_binds(true), 4);
    }

    /// `id`, `qty`, `total` (generated), `added` (defaulted).
    fn lines(dialect: Dialect, by_trigger: bool) -> Statements {
        const TABLE: Table = Table {
            model: "Line",
            schema: None,
            name: "lines",
            columns: &["id", "qty", "total", "added"],
            key: &[0],
            version: None,
        };
        let back = ReadBack {
            columns: &[2, 3],
            generated: 1,
            by_trigger,
        };
        Statements::of_model(dialect, &TABLE, &back)
    }

    #[test]
    fn generated_columns_are_never_written_and_come_back_where_returning_shows_them() {
        let sql = lines(Dialect::Sqlite, false);
        assert_eq!(
            sql.insert,
            r#"INSERT INTO "lines" ("qty", "added") VALUES (?, ?) RETURNING "id", "total", "added""#
        );
        assert_eq!(
            sql.insert_with_key,
            r#"INSERT INTO "lines" ("id", "qty", "added") VALUES (?, ?, ?) RETURNING "id", "total", "added""#
        );
        assert_eq!(
            sql.update_columns(&[1]),
            r#"UPDATE "lines" SET "qty" = ? WHERE "id" = ? RETURNING "total""#
        );
        assert_eq!(sql.read_by(), Some(ReadBy::Returning));
        assert_eq!(
            (sql.read_back_count(true), sql.read_back_count(false)),
            (2, 1)
        );
        // A column a trigger may keep: SQLite's `RETURNING` shows the row before its
        // `AFTER` triggers, so it is read after the statement.
        let sql = lines(Dialect::Sqlite, true);
        assert_eq!(
            sql.insert,
            r#"INSERT INTO "lines" ("qty", "added") VALUES (?, ?) RETURNING "id""#
        );
        assert_eq!(
            sql.update,
            r#"UPDATE "lines" SET "qty" = ?, "added" = ? WHERE "id" = ?"#
        );
        assert_eq!(sql.read_by(), Some(ReadBy::Select));
        assert_eq!(
            sql.select_read_back(),
            r#"SELECT "total", "added" FROM "lines" WHERE "id" = ?"#
        );
        let sql = lines(Dialect::MySql, false);
        assert_eq!(
            sql.insert,
            "INSERT INTO `lines` (`qty`, `added`) VALUES (?, ?)"
        );
        assert_eq!(
            sql.select_read_back_rows(2),
            "SELECT `id`, `total`, `added` FROM `lines` WHERE `id` IN (?, ?)"
        );
        assert_eq!(sql.returning_keys(), " RETURNING `id`, `total`, `added`");
    }

    #[test]
    fn a_defaulted_column_left_out_is_default_in_values_or_absent_on_sqlite() {
        let sql: &'static Statements = Box::leak(Box::new(lines(Dialect::Postgres, false)));
        assert_eq!(
            sql.insert_omitting(false, 1),
            r#"INSERT INTO "lines" ("qty", "added") VALUES ($1, DEFAULT) RETURNING "id", "total", "added""#
        );
        assert_eq!(sql.insert_omitting(false, 0), sql.insert);
        assert_eq!(
            sql.insert_rows_omitting(true, &[1, 0]),
            r#"INSERT INTO "lines" ("id", "qty", "added") VALUES ($1, $2, DEFAULT), ($3, $4, $5) RETURNING "id", "total", "added""#
        );
        assert_eq!(sql.insert_binds_omitting(true, 1), 2);
        let sql: &'static Statements = Box::leak(Box::new(lines(Dialect::Sqlite, false)));
        assert_eq!(
            sql.insert_rows_omitting(false, &[1, 1]),
            r#"INSERT INTO "lines" ("qty") VALUES (?), (?) RETURNING "id", "total", "added""#
        );
        assert_eq!(
            sql.insert_rows_omitting(false, &[0, 0]),
            sql.insert_rows(2, false)
        );
    }

    #[test]
    fn rows_whose_keys_are_known_are_inserted_without_returning() {
        let sql = Statements::build(Dialect::Sqlite, "posts", &["id", "title"], &[0]);
        let mut text = sql.insert_rows(2, false);
        sql.without_returning(&mut text);
        assert_eq!(text, r#"INSERT INTO "posts" ("title") VALUES (?), (?)"#);
        // Read back with a `SELECT` (a column a trigger may keep): the key alone is dropped.
        let sql = lines(Dialect::Sqlite, true);
        let mut text = sql.insert_rows_omitting(false, &[1, 1]);
        sql.without_returning(&mut text);
        assert_eq!(text, r#"INSERT INTO "lines" ("qty") VALUES (?), (?)"#);
    }

    #[test]
    fn a_schema_qualifies_the_table_everywhere() {
        let sql = Statements::build_in(
            Dialect::Sqlite,
            Some("lib"),
            "books",
            &["id", "t"],
            &[0],
            None,
        );
        for text in [
            &sql.insert,
            &sql.insert_with_key,
            &sql.update,
            &sql.delete,
            &sql.select_by_key,
            &sql.select_all,
            &sql.delete_rows(2),
            &sql.select_keys(2),
            &sql.update_columns(&[1]),
            &sql.insert_rows(2, true),
        ] {
            assert!(text.contains(r#""lib"."books""#), "{text}");
        }
    }
}
