//! The SQL text of a model's operations, built once per model and backend.

use std::sync::OnceLock;

use crate::backend::Dialect;

/// The SQL of every operation of one model on one backend.
///
/// Built from the model's table and column names by [`Statements::build`], the only place in
/// model-core that writes SQL. Identifiers are always quoted with [`Dialect::quote`] and every
/// value is a placeholder: no value ever becomes SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statements {
    /// `INSERT` of every column but the key, which the database generates (the key comes
    /// back through `RETURNING` or the driver's last-insert-id).
    pub insert: String,
    /// `INSERT` of every column, key included.
    pub insert_with_key: String,
    /// `UPDATE` of every column, key included, `WHERE` key = the key the row had.
    pub update: String,
    /// `DELETE ... WHERE` key = ?.
    pub delete: String,
    /// `SELECT` of every column `WHERE` key = ?.
    pub select_by_key: String,
    /// `SELECT` of every column of every row, by key.
    pub select_all: String,
    /// `SELECT` of every column, by key ascending, `LIMIT ? OFFSET ?`.
    pub select_page_asc: String,
    /// `SELECT` of every column, by key descending, `LIMIT ? OFFSET ?`.
    pub select_page_desc: String,
    /// What the multi-row statements are built from.
    many: Many,
}

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
    /// `DELETE FROM t WHERE key IN `.
    delete_head: String,
    /// `SELECT key FROM t WHERE key IN `.
    select_keys_head: String,
    /// How many columns there are, key included.
    columns: usize,
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
    /// Builds the statements for `table` with `columns`, of which `columns[primary_key]` is
    /// the primary key.
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build(Dialect::Postgres, "posts", &["id", "title", "order"], 0);
    /// assert_eq!(sql.insert, r#"INSERT INTO "posts" ("title", "order") VALUES ($1, $2) RETURNING "id""#);
    /// assert_eq!(sql.update, r#"UPDATE "posts" SET "id" = $1, "title" = $2, "order" = $3 WHERE "id" = $4"#);
    /// ```
    pub fn build(dialect: Dialect, table: &str, columns: &[&str], primary_key: usize) -> Self {
        let q = |ident: &str| dialect.quote(ident);
        let table = q(table);
        let key = q(columns[primary_key]);
        let all: Vec<String> = columns.iter().map(|c| q(c)).collect();
        let without_key: Vec<String> = columns
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != primary_key)
            .map(|(_, c)| q(c))
            .collect();
        let placeholders = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| dialect.placeholder(i))
                .collect::<Vec<_>>()
                .join(", ")
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
        if dialect.has_returning() {
            insert.push_str(&format!(" RETURNING {key}"));
        }
        let insert_with_key = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            all.join(", "),
            placeholders(1, all.len())
        );
        let assignments = all
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = {}", dialect.placeholder(i + 1)))
            .collect::<Vec<_>>()
            .join(", ");
        let update = format!(
            "UPDATE {table} SET {assignments} WHERE {key} = {}",
            dialect.placeholder(all.len() + 1)
        );
        let returning = if dialect.has_returning() {
            format!(" RETURNING {key}")
        } else {
            String::new()
        };
        let many = Many {
            dialect,
            insert_head: format!("INSERT INTO {table} ({}) VALUES ", without_key.join(", ")),
            insert_with_key_head: format!("INSERT INTO {table} ({}) VALUES ", all.join(", ")),
            returning,
            delete_head: format!("DELETE FROM {table} WHERE {key} IN "),
            select_keys_head: format!("SELECT {key} FROM {table} WHERE {key} IN "),
            columns: all.len(),
        };
        let page = |order: &str| {
            format!(
                "{select} ORDER BY {key} {order} LIMIT {} OFFSET {}",
                dialect.placeholder(1),
                dialect.placeholder(2)
            )
        };
        Statements {
            insert,
            insert_with_key,
            update,
            delete: format!(
                "DELETE FROM {table} WHERE {key} = {}",
                dialect.placeholder(1)
            ),
            select_by_key: format!("{select} WHERE {key} = {}", dialect.placeholder(1)),
            select_all: format!("{select} ORDER BY {key}"),
            select_page_asc: page("ASC"),
            select_page_desc: page("DESC"),
            many,
        }
    }

    /// How many values one row of a multi-row `INSERT` binds.
    pub(crate) fn insert_binds(&self, with_key: bool) -> usize {
        self.many.columns - usize::from(!with_key)
    }

    /// `INSERT` of `rows` rows in one statement: `VALUES (..), (..), ...`, returning the
    /// generated keys (`RETURNING`) unless `with_key`. Needs at least one column to insert.
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build(Dialect::Postgres, "posts", &["id", "title"], 0);
    /// assert_eq!(sql.insert_rows(2, false), r#"INSERT INTO "posts" ("title") VALUES ($1), ($2) RETURNING "id""#);
    /// ```
    pub fn insert_rows(&self, rows: usize, with_key: bool) -> String {
        let many = &self.many;
        let (head, returning) = if with_key {
            (&many.insert_with_key_head, "")
        } else {
            (&many.insert_head, many.returning.as_str())
        };
        let mut sql = head.clone();
        push_groups(&mut sql, many.dialect, rows, self.insert_binds(with_key));
        sql.push_str(returning);
        sql
    }

    /// `DELETE` of the rows with `rows` keys: `WHERE key IN (..)`.
    ///
    /// ```
    /// use model_core::{Dialect, Statements};
    /// let sql = Statements::build(Dialect::Sqlite, "posts", &["id", "title"], 0);
    /// assert_eq!(sql.delete_rows(3), r#"DELETE FROM "posts" WHERE "id" IN (?, ?, ?)"#);
    /// ```
    pub fn delete_rows(&self, rows: usize) -> String {
        let mut sql = self.many.delete_head.clone();
        push_groups(&mut sql, self.many.dialect, 1, rows);
        sql
    }

    /// `SELECT key ... WHERE key IN (..)`: which of `rows` keys name a row.
    pub fn select_keys(&self, rows: usize) -> String {
        let mut sql = self.many.select_keys_head.clone();
        push_groups(&mut sql, self.many.dialect, 1, rows);
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

    /// The statements for `dialect`, built on first use.
    pub fn get(
        &'static self,
        dialect: Dialect,
        table: &str,
        columns: &[&str],
        primary_key: usize,
    ) -> &'static Statements {
        self.slots[dialect as usize]
            .get_or_init(|| Statements::build(dialect, table, columns, primary_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_quotes_with_backticks_and_has_no_returning() {
        let sql = Statements::build(Dialect::MySql, "user", &["id", "group"], 0);
        assert_eq!(sql.insert, "INSERT INTO `user` (`group`) VALUES (?)");
        assert_eq!(sql.delete, "DELETE FROM `user` WHERE `id` = ?");
    }

    #[test]
    fn quotes_inside_identifiers_are_doubled() {
        let sql = Statements::build(Dialect::Sqlite, "we\"ird", &["k", "a\"b"], 0);
        assert_eq!(
            sql.select_by_key,
            r#"SELECT "k", "a""b" FROM "we""ird" WHERE "k" = ?"#
        );
    }

    #[test]
    fn key_only_table_inserts_default_values() {
        let sql = Statements::build(Dialect::Postgres, "t", &["id"], 0);
        assert_eq!(
            sql.insert,
            r#"INSERT INTO "t" DEFAULT VALUES RETURNING "id""#
        );
    }
}
