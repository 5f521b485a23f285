//! A model's table as statements need it: its constants, untyped, so that writing SQL is one
//! function for every model rather than one per model.

use crate::base::dialect::Dialect;

/// The table of one model: what `#[derive(Model)]` declares, as plain data
/// (`Record::__TABLE`). Not part of the public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The model's name, for errors: `"Post"`.
    pub model: &'static str,
    /// The schema, if the model names one.
    pub schema: Option<&'static str>,
    /// The table's name, unquoted.
    pub name: &'static str,
    /// The column names, unquoted, in field order.
    pub columns: &'static [&'static str],
    /// The primary key's columns: indices into `columns`.
    pub key: &'static [usize],
    /// The `#[model(version)]` column, if there is one.
    pub version: Option<usize>,
}

/// The columns whose stored value the database chooses, which a write reads back into the
/// model (`Record::__READ_BACK`): `#[model(generated)]` columns, which no write sets and
/// every insert and update reads back, and the `#[model(default = "...")]` columns of
/// `Option` fields, which an insert leaves to their default when `None` and reads back.
/// Not part of the public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBack {
    /// Indices into `Table::columns`: the generated columns first, then the defaulted ones,
    /// each in column order. A write reads them back in this order.
    pub columns: &'static [usize],
    /// How many of `columns` are generated: an update reads back these only.
    pub generated: usize,
    /// Whether a generated column may be kept by a trigger (a bare `#[model(generated)]`,
    /// with no expression): see [`ReadBack::by`].
    pub by_trigger: bool,
}

/// How a write reads back the values of [`ReadBack`]'s columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadBy {
    /// In the statement itself, `RETURNING`.
    Returning,
    /// With a `SELECT` by key right after the statement, in the same transaction.
    Select,
}

impl ReadBack {
    /// A model whose every column the model writes: nothing to read back.
    pub const NONE: ReadBack = ReadBack {
        columns: &[],
        generated: 0,
        by_trigger: false,
    };

    /// The generated columns.
    pub fn generated(&self) -> &'static [usize] {
        &self.columns[..self.generated]
    }

    /// The defaulted columns of `Option` fields.
    pub fn defaulted(&self) -> &'static [usize] {
        &self.columns[self.generated..]
    }

    /// How `dialect` reads these columns back; `None` when there are none.
    ///
    /// `RETURNING` where the backend's `RETURNING` shows what is stored: PostgreSQL's shows
    /// the row after its `BEFORE` triggers (where a trigger keeps a column up to date).
    /// SQLite's shows the row as the statement wrote it, before its `AFTER` triggers, the
    /// only ones that can change a row there: so a column that a trigger may keep is read
    /// with a `SELECT` on SQLite, and a default or a `GENERATED ALWAYS AS` column with
    /// `RETURNING`. MySQL has no `RETURNING` (MariaDB's has no `UPDATE ... RETURNING`).
    pub(crate) fn by(&self, dialect: Dialect) -> Option<ReadBy> {
        if self.columns.is_empty() {
            return None;
        }
        Some(match dialect {
            Dialect::Postgres => ReadBy::Returning,
            Dialect::Sqlite if !self.by_trigger => ReadBy::Returning,
            Dialect::Sqlite | Dialect::MySql => ReadBy::Select,
        })
    }
}
