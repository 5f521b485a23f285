//! The SQL text of queries and set-based writes: the one place they are written, for every
//! dialect. Identifiers are quoted with [`Dialect::quote`]; every value is a placeholder,
//! collected in the order the statement binds them.

use super::column::Sort;
use super::filter::{Node, Op, Related};
use super::pattern::Case;
use super::{Lock, Locked};
use crate::base::dialect::Dialect;
use crate::db::value::Value;

pub(crate) use crate::base::table::Table;

/// A statement being written, and the values it binds, in order.
pub(crate) struct Sql<'v> {
    pub(crate) text: String,
    pub(crate) values: Vec<&'v dyn Value>,
    dialect: Dialect,
    table: Table,
    /// Inside an `EXISTS` of a related model's rows: its alias, and how deep it is.
    scope: Option<(String, u32)>,
}

/// What a `SELECT` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Columns {
    /// Every column, in `Model::COLUMNS` order.
    All,
    /// `1`, for `exists`, and for `count` of a page.
    One,
    /// `COUNT(*)`.
    Count,
}

impl<'v> Sql<'v> {
    pub(crate) fn new(dialect: Dialect, table: Table) -> Self {
        Sql {
            text: String::with_capacity(128),
            values: Vec::new(),
            dialect,
            table,
            scope: None,
        }
    }

    /// The model's name, for errors.
    pub(crate) fn model(&self) -> &'static str {
        self.table.model
    }

    /// Refuses the statement if it binds more values than its backend takes, before it is
    /// sent: the driver would refuse it too, but as an error that reads like a broken
    /// connection.
    pub(crate) fn check_binds(&self) -> Result<(), crate::Error> {
        let limit = crate::base::statements::max_binds(self.dialect);
        match self.values.len() {
            values if values > limit => Err(crate::Error::TooManyValues {
                model: self.table.model,
                values,
                limit,
            }),
            _ => Ok(()),
        }
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn column(&mut self, index: usize) {
        let quoted = self.dialect.quote(self.table.columns[index]);
        self.push(&quoted);
    }

    fn bind(&mut self, value: &'v dyn Value) {
        self.values.push(value);
        let placeholder = self.dialect.placeholder(self.values.len());
        self.push(&placeholder);
    }

    /// `SELECT <columns> FROM <table>`.
    pub(crate) fn select(&mut self, columns: Columns) {
        self.push("SELECT ");
        match columns {
            Columns::All => {
                for i in 0..self.table.columns.len() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.column(i);
                }
            }
            Columns::One => self.push("1"),
            Columns::Count => self.push("COUNT(*)"),
        }
        self.from();
    }

    fn from(&mut self) {
        self.push(" FROM ");
        let table = self.dialect.quote_table(self.table.schema, self.table.name);
        self.push(&table);
    }

    /// `UPDATE <table> SET a = ?, b = ?`.
    pub(crate) fn update(&mut self, assignments: &[(usize, &'v dyn Value)]) {
        let table = self.dialect.quote_table(self.table.schema, self.table.name);
        self.push("UPDATE ");
        self.push(&table);
        self.push(" SET ");
        for (i, (column, value)) in assignments.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.column(*column);
            self.push(" = ");
            self.bind(*value);
        }
    }

    /// `, <version> = <version> + 1`, after [`Sql::update`]: the version bump of a model's
    /// `#[model(version)]` column (issue 14).
    pub(crate) fn bump(&mut self, column: usize) {
        self.push(", ");
        self.column(column);
        self.push(" = ");
        self.column(column);
        self.push(" + 1");
    }

    /// `DELETE FROM <table>`.
    pub(crate) fn delete(&mut self) {
        self.push("DELETE");
        self.from();
    }

    /// ` WHERE <filter> [AND <key> >/< ?]`, or nothing when there is no condition. A
    /// composite key compares as a row value: `("a", "b") > (?, ?)`.
    pub(crate) fn where_(
        &mut self,
        filter: Option<&'v Node>,
        after: Option<(bool, &[&'v dyn Value])>,
    ) {
        if filter.is_none() && after.is_none() {
            return;
        }
        self.push(" WHERE ");
        if let Some(node) = filter {
            // The user's filter is one operand of whatever follows it: `a OR b` rendered bare
            // before `AND "id" > ?` would bind the key condition to `b` alone (issue 23: a
            // stream of an `or` filter read its first chunk again, forever).
            let bracket = after.is_some();
            if bracket {
                self.push("(");
            }
            self.node(node);
            if bracket {
                self.push(")");
            }
        }
        if let Some((descending, key)) = after {
            if filter.is_some() {
                self.push(" AND ");
            }
            let composite = self.table.key.len() > 1;
            if composite {
                self.push("(");
            }
            for (i, &column) in self.table.key.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.column(column);
            }
            self.push(match (descending, composite) {
                (false, false) => " > ",
                (true, false) => " < ",
                (false, true) => ") > (",
                (true, true) => ") < (",
            });
            for (i, value) in key.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.bind(*value);
            }
            if composite {
                self.push(")");
            }
        }
    }

    /// ` ORDER BY ...`, then the primary key's columns that are not ordered already, so
    /// that the order is total and `LIMIT`/`OFFSET` pages neither repeat nor skip rows.
    pub(crate) fn order_by(&mut self, sorts: &[Sort]) {
        self.push(" ORDER BY ");
        let tie_breakers = self
            .table
            .key
            .iter()
            .filter(|&&key| !sorts.iter().any(|s| s.column == key))
            .map(|&column| Sort::key(column, false));
        for (i, sort) in sorts.iter().copied().chain(tie_breakers).enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.sort(sort);
        }
    }

    fn sort(&mut self, sort: Sort) {
        self.column(sort.column);
        // `NULL` sorts lowest everywhere, as `None` does in Rust: SQLite and MySQL do that
        // already; PostgreSQL puts it highest unless told.
        self.push(
            match (
                sort.descending,
                sort.nullable && self.dialect == Dialect::Postgres,
            ) {
                (false, false) => " ASC",
                (true, false) => " DESC",
                (false, true) => " ASC NULLS FIRST",
                (true, true) => " DESC NULLS LAST",
            },
        );
    }

    /// ` LIMIT ? OFFSET ?`, where either is set. Every backend takes both as bound
    /// integers; SQLite and MySQL have no `OFFSET` without `LIMIT`, so "no limit" is
    /// `i64::MAX`.
    pub(crate) fn limit(&mut self, limit: &'v Option<i64>, offset: &'v i64) {
        if limit.is_none() && *offset == 0 {
            return;
        }
        self.push(" LIMIT ");
        match limit {
            Some(limit) => self.bind(limit),
            None => self.bind(&i64::MAX),
        }
        self.push(" OFFSET ");
        self.bind(offset);
    }

    /// ` FOR UPDATE` where the backend locks rows that way. SQLite has no row locks: the
    /// write transaction it runs in (`BEGIN IMMEDIATE`) already keeps other writers out.
    pub(crate) fn for_update(&mut self) {
        if self.dialect != Dialect::Sqlite {
            self.push(" FOR UPDATE");
        }
    }

    /// The locking clause of a locking read (see [`Select::for_update`](crate::Select)),
    /// after `LIMIT`: ` FOR UPDATE SKIP LOCKED`, ... SQLite has no row locks: nothing (its
    /// `BEGIN IMMEDIATE` already holds the one write lock).
    pub(crate) fn lock(&mut self, lock: Option<Lock>) {
        let Some(Lock { shared, locked }) = lock else {
            return;
        };
        self.push(match (self.dialect, shared) {
            (Dialect::Sqlite, _) => return,
            (_, false) => " FOR UPDATE",
            (Dialect::Postgres, true) => " FOR SHARE",
            // MariaDB has no `FOR SHARE`; MySQL 8 takes both.
            (Dialect::MySql, true) => " LOCK IN SHARE MODE",
        });
        self.push(match locked {
            Locked::Wait => "",
            Locked::Skip => " SKIP LOCKED",
            Locked::Fail => " NOWAIT",
        });
    }

    /// Wraps the statement so far as `SELECT COUNT(*) FROM (...) AS "counted"`.
    pub(crate) fn count_of_subquery(&mut self) {
        let counted = self.dialect.quote("counted");
        self.text = format!("SELECT COUNT(*) FROM ({}) AS {counted}", self.text);
    }

    fn node(&mut self, node: &'v Node) {
        match node {
            Node::Compare {
                column,
                op,
                value,
                null_aware: true,
            } => {
                // `= v` that is `IS NULL` when `v` is: one form on every backend, and one
                // an index serves (PostgreSQL's `IS NOT DISTINCT FROM` is not).
                let (op, null) = match op {
                    Op::Ne => ("<>", "IS NOT NULL"),
                    _ => ("=", "IS NULL"),
                };
                self.push("(");
                self.column(*column);
                self.push(" ");
                self.push(op);
                self.push(" ");
                self.bind(&**value);
                self.push(" OR (");
                self.column(*column);
                self.push(" ");
                self.push(null);
                self.push(" AND ");
                self.bind(&**value);
                self.push(" IS NULL))");
            }
            Node::Compare {
                column, op, value, ..
            } => {
                self.column(*column);
                self.push(" ");
                self.push(op.sql());
                self.push(" ");
                self.bind(&**value);
            }
            Node::Match {
                column,
                pattern,
                glob,
                case,
            } => self.pattern(*column, pattern, glob.as_ref(), *case),
            Node::Null { column, negated } => {
                self.column(*column);
                self.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            Node::In { values, .. } if values.is_empty() => self.push("1 = 0"),
            Node::In { column, values } => {
                self.column(*column);
                self.push(" IN (");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.bind(&**value);
                }
                self.push(")");
            }
            Node::And(a, b) => self.pair(a, " AND ", b),
            Node::Or(a, b) => self.pair(a, " OR ", b),
            Node::Not(inner) => {
                self.push("NOT (");
                self.node(inner);
                self.push(")");
            }
            Node::Exists(related) => self.exists(related),
        }
    }

    /// `EXISTS (SELECT 1 FROM "other" AS "related_1" WHERE "related_1"."inner" =
    /// "table"."outer" AND (filter))`: the filter's columns, unqualified, are the other
    /// table's (the innermost that has them); this statement's own is named in full, or by
    /// its alias inside another `EXISTS`.
    fn exists(&mut self, related: &'v Related) {
        let outer = match &self.scope {
            Some((alias, _)) => alias.clone(),
            None => self.dialect.quote_table(self.table.schema, self.table.name),
        };
        let depth = self.scope.as_ref().map_or(1, |(_, depth)| depth + 1);
        let alias = self.dialect.quote(&format!("related_{depth}"));
        self.push("EXISTS (SELECT 1 FROM ");
        let inner_table = self
            .dialect
            .quote_table(related.table.schema, related.table.name);
        self.push(&inner_table);
        self.push(" AS ");
        self.push(&alias);
        self.push(" WHERE ");
        self.push(&alias);
        self.push(".");
        let inner = self.dialect.quote(related.table.columns[related.inner]);
        self.push(&inner);
        self.push(" = ");
        self.push(&outer);
        self.push(".");
        self.column(related.outer);
        self.push(" AND (");
        let table = std::mem::replace(&mut self.table, related.table);
        let scope = self.scope.replace((alias, depth));
        self.node(&related.filter);
        self.table = table;
        self.scope = scope;
        self.push("))");
    }

    /// A pattern match, told each backend's way to follow `case`. The escape character is
    /// `\` everywhere: PostgreSQL's and MySQL's default, given to SQLite.
    fn pattern(&mut self, column: usize, like: &'v String, glob: Option<&'v String>, case: Case) {
        match (self.dialect, case, glob) {
            // SQLite's `LIKE` folds ASCII case whatever it is told; its `GLOB` does not.
            (Dialect::Sqlite, Case::Sensitive, Some(glob)) => {
                self.column(column);
                self.push(" GLOB ");
                self.bind(glob);
            }
            (Dialect::Sqlite, _, _) => {
                self.column(column);
                self.push(" LIKE ");
                self.bind(like);
                self.push(r" ESCAPE '\'");
            }
            (Dialect::Postgres, Case::Insensitive, _) => {
                self.column(column);
                self.push(" ILIKE ");
                self.bind(like);
            }
            (Dialect::Postgres, _, _) | (Dialect::MySql, Case::Backend, _) => {
                self.column(column);
                self.push(" LIKE ");
                self.bind(like);
            }
            // MySQL's `LIKE` follows the column's collation, which is usually case- and
            // accent-insensitive: compared as bytes, the match is exact; of lowered text,
            // it ignores case only.
            (Dialect::MySql, Case::Sensitive, _) => {
                self.push("CAST(");
                self.column(column);
                self.push(" AS BINARY) LIKE CAST(");
                self.bind(like);
                self.push(" AS BINARY)");
            }
            (Dialect::MySql, Case::Insensitive, _) => {
                self.push("CAST(LOWER(");
                self.column(column);
                self.push(") AS BINARY) LIKE CAST(LOWER(");
                self.bind(like);
                self.push(") AS BINARY)");
            }
        }
    }

    fn pair(&mut self, a: &'v Node, op: &str, b: &'v Node) {
        self.push("(");
        self.node(a);
        self.push(")");
        self.push(op);
        self.push("(");
        self.node(b);
        self.push(")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTS: Table = Table {
        model: "Post",
        schema: None,
        name: "posts",
        columns: &["id", "title", "views"],
        key: &[0],
        version: None,
    };

    fn compare(column: usize, op: Op, value: impl Value + 'static) -> Node {
        Node::Compare {
            column,
            op,
            value: Box::new(value),
            null_aware: false,
        }
    }

    #[test]
    fn a_filtered_page_binds_filter_then_limit_and_offset() {
        let filter = Node::And(
            Box::new(Node::Match {
                column: 1,
                pattern: "a%".to_owned(),
                glob: None,
                case: Case::Backend,
            }),
            Box::new(Node::Not(Box::new(compare(2, Op::Gt, 3_i64)))),
        );
        let (limit, offset) = (Some(10), 20);
        let mut sql = Sql::new(Dialect::Postgres, POSTS);
        sql.select(Columns::All);
        sql.where_(Some(&filter), None);
        sql.order_by(&[Sort {
            column: 2,
            descending: true,
            nullable: true,
        }]);
        sql.limit(&limit, &offset);
        assert_eq!(
            sql.text,
            r#"SELECT "id", "title", "views" FROM "posts" WHERE ("title" LIKE $1) AND (NOT ("views" > $2)) ORDER BY "views" DESC NULLS LAST, "id" ASC LIMIT $3 OFFSET $4"#
        );
        assert_eq!(sql.values.len(), 4);
    }

    #[test]
    fn an_empty_in_list_matches_nothing() {
        let filter = Node::In {
            column: 2,
            values: Vec::new(),
        };
        let mut sql = Sql::new(Dialect::MySql, POSTS);
        sql.delete();
        sql.where_(Some(&filter), None);
        assert_eq!(sql.text, "DELETE FROM `posts` WHERE 1 = 0");
    }

    #[test]
    fn set_values_come_before_filter_values() {
        let filter = compare(1, Op::Eq, "x".to_owned());
        let value = true;
        let mut sql = Sql::new(Dialect::Sqlite, POSTS);
        sql.update(&[(2, &value)]);
        sql.where_(Some(&filter), None);
        assert_eq!(
            sql.text,
            r#"UPDATE "posts" SET "views" = ? WHERE "title" = ?"#
        );
    }

    #[test]
    fn eq_with_a_value_that_may_be_none_is_null_aware() {
        let filter = Node::Compare {
            column: 2,
            op: Op::Eq,
            value: Box::new(None::<i64>),
            null_aware: true,
        };
        let mut sql = Sql::new(Dialect::Postgres, POSTS);
        sql.select(Columns::Count);
        sql.where_(Some(&filter), None);
        assert_eq!(
            sql.text,
            r#"SELECT COUNT(*) FROM "posts" WHERE ("views" = $1 OR ("views" IS NULL AND $2 IS NULL))"#
        );
    }

    #[test]
    fn a_filter_is_one_operand_before_the_keyset_condition() {
        let filter = Node::Or(
            Box::new(compare(2, Op::Lt, 1100_i64)),
            Box::new(compare(2, Op::Gt, 2000_i64)),
        );
        let after_id = 1000_i64;
        let after: [&dyn Value; 1] = [&after_id];
        let mut sql = Sql::new(Dialect::Sqlite, POSTS);
        sql.select(Columns::One);
        sql.where_(Some(&filter), Some((false, &after)));
        assert_eq!(
            sql.text,
            r#"SELECT 1 FROM "posts" WHERE (("views" < ?) OR ("views" > ?)) AND "id" > ?"#
        );
    }

    #[test]
    fn the_key_is_ordered_once() {
        let mut sql = Sql::new(Dialect::Sqlite, POSTS);
        sql.select(Columns::One);
        sql.order_by(&[Sort {
            column: 0,
            descending: true,
            nullable: false,
        }]);
        assert_eq!(sql.text, r#"SELECT 1 FROM "posts" ORDER BY "id" DESC"#);
    }

    #[test]
    fn a_composite_key_breaks_ties_and_continues_as_a_row_value() {
        const POST_TAGS: Table = Table {
            model: "PostTag",
            schema: Some("blog"),
            name: "post_tag",
            columns: &["post_id", "note", "tag"],
            key: &[0, 2],
            version: None,
        };
        let (post, tag) = (7_i64, String::from("rust"));
        let after: [&dyn Value; 2] = [&post, &tag];
        let mut sql = Sql::new(Dialect::Postgres, POST_TAGS);
        sql.select(Columns::One);
        sql.where_(None, Some((false, &after)));
        sql.order_by(&[Sort {
            column: 2,
            descending: false,
            nullable: false,
        }]);
        assert_eq!(
            sql.text,
            r#"SELECT 1 FROM "blog"."post_tag" WHERE ("post_id", "tag") > ($1, $2) ORDER BY "tag" ASC, "post_id" ASC"#
        );
        assert_eq!(sql.values.len(), 2);
    }

    #[test]
    fn a_locking_read_ends_with_each_backends_clause_and_sqlite_takes_none() {
        let cases = [
            (false, Locked::Wait, Dialect::Postgres, " FOR UPDATE"),
            (true, Locked::Fail, Dialect::Postgres, " FOR SHARE NOWAIT"),
            (
                false,
                Locked::Skip,
                Dialect::MySql,
                " FOR UPDATE SKIP LOCKED",
            ),
            (true, Locked::Wait, Dialect::MySql, " LOCK IN SHARE MODE"),
            (false, Locked::Skip, Dialect::Sqlite, ""),
        ];
        for (shared, locked, dialect, clause) in cases {
            let (limit, offset) = (Some(1), 0);
            let mut sql = Sql::new(dialect, POSTS);
            sql.select(Columns::One);
            sql.limit(&limit, &offset);
            let unlocked = sql.text.clone();
            sql.lock(Some(Lock { shared, locked }));
            assert_eq!(sql.text, format!("{unlocked}{clause}"), "{dialect:?}");
        }
    }
}
