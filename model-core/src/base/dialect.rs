//! The SQL dialects: how each backend quotes identifiers, writes placeholders and reads
//! back a generated key, as plain data that every layer can use.

use sqlx::Database;

/// A query with its arguments already bound, ready to run on `DB`.
pub type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments>;

/// The SQL dialect of a backend: how identifiers are quoted, how placeholders are written and
/// how an auto-generated key is read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite: `"ident"`, `?` placeholders, `RETURNING`.
    Sqlite = 0,
    /// PostgreSQL: `"ident"`, `$1` placeholders, `RETURNING`.
    Postgres = 1,
    /// MySQL and MariaDB: `` `ident` ``, `?` placeholders, the driver's last-insert-id.
    MySql = 2,
}

impl Dialect {
    /// Every dialect, in the order of their discriminants.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

    /// Quotes an identifier (table or column name) for this dialect, doubling any quote
    /// character inside it, so that keywords (`order`, `user`) and odd names are safe.
    ///
    /// ```
    /// use model_core::Dialect;
    /// assert_eq!(Dialect::Postgres.quote("order"), r#""order""#);
    /// assert_eq!(Dialect::MySql.quote("we`ird"), "`we``ird`");
    /// ```
    pub fn quote(self, ident: &str) -> String {
        let q = match self {
            Dialect::Sqlite | Dialect::Postgres => '"',
            Dialect::MySql => '`',
        };
        let mut out = String::with_capacity(ident.len() + 2);
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// Quotes a table name, qualified by its schema if it has one: `"library"."books"`
    /// (`` `library`.`books` `` on MySQL, whose schemas are databases; on SQLite the schema
    /// is the name of an attached database).
    ///
    /// ```
    /// use model_core::Dialect;
    /// assert_eq!(Dialect::Postgres.quote_table(Some("library"), "books"), r#""library"."books""#);
    /// assert_eq!(Dialect::MySql.quote_table(None, "books"), "`books`");
    /// ```
    pub fn quote_table(self, schema: Option<&str>, table: &str) -> String {
        match schema {
            Some(schema) => format!("{}.{}", self.quote(schema), self.quote(table)),
            None => self.quote(table),
        }
    }

    /// The statement that opens a write transaction, where the backend's plain `BEGIN` is
    /// not the right one. SQLite's `BEGIN` is deferred: it takes the write lock at the first
    /// write, and when another connection holds it then, SQLite fails at once with "database
    /// is locked" instead of waiting out the busy timeout (the wait could deadlock). `BEGIN
    /// IMMEDIATE` takes the lock up front, where waiting is safe, so concurrent writers queue
    /// instead of failing.
    pub fn begin_write(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => Some("BEGIN IMMEDIATE"),
            Dialect::Postgres | Dialect::MySql => None,
        }
    }

    /// The placeholder for the `n`-th bound value (1-based): `$n` on PostgreSQL, `?` elsewhere.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite | Dialect::MySql => "?".to_owned(),
        }
    }

    /// Whether `INSERT ... RETURNING` is used to read a generated key. MySQL has no
    /// `RETURNING`; its driver reports the last insert id instead.
    pub fn has_returning(self) -> bool {
        !matches!(self, Dialect::MySql)
    }
}
