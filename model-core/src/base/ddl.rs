//! `CREATE TABLE` and `CREATE INDEX` per dialect, from a model's column descriptions. The
//! types are those of [`crate::ColumnType`]'s table; every identifier is quoted.

use std::fmt::Write as _;

use super::def::{ColumnDef, ForeignKey, OnDelete, SqlType};
use crate::base::dialect::Dialect;

/// One model's table, as the DDL needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableDef {
    pub(crate) model: &'static str,
    pub(crate) schema: Option<&'static str>,
    pub(crate) name: &'static str,
    pub(crate) columns: &'static [&'static str],
    pub(crate) defs: &'static [ColumnDef],
    /// `Model::PRIMARY_KEY`: one column, or several for a composite key.
    pub(crate) key: &'static [usize],
}

impl TableDef {
    /// The index of an `Option<_>` primary key, which the database generates.
    pub(crate) fn generated_key(&self) -> Option<usize> {
        match self.key {
            &[key] => self.defs[key].nullable.then_some(key),
            // A composite key is never generated: the derive refuses `Option` parts.
            _ => None,
        }
    }
}

/// What MySQL needs to index text or bytes: a length. Used for unique and indexed text
/// without a declared `length`, and for a text primary key.
const MYSQL_KEY_LENGTH: u32 = 255;

/// The statements that create `table` and its indexes, if they do not exist yet.
pub(crate) fn create(dialect: Dialect, table: &TableDef) -> Vec<String> {
    let q = |ident: &str| dialect.quote(ident);
    let name = dialect.quote_table(table.schema, table.name);
    let generated = table.generated_key();
    let mut lines: Vec<String> = Vec::with_capacity(table.columns.len() + 2);
    for (i, (column, def)) in table.columns.iter().zip(table.defs).enumerate() {
        let mut line = q(column);
        line.push(' ');
        if generated == Some(i) {
            line.push_str(&generated_key(dialect, def.sql_type));
            lines.push(line);
            continue;
        }
        // MySQL indexes a foreign key's column, so it is bounded like an indexed one.
        let keyed = def.unique || def.index || def.references.is_some() || table.key.contains(&i);
        line.push_str(&type_name(dialect, def, keyed));
        if let Some(expression) = def.generated {
            // Stored, not virtual: SQLite cannot add a virtual column's index later, and
            // the value is computed once per write rather than per read.
            let _ = write!(line, " GENERATED ALWAYS AS ({expression}) STORED");
        }
        // MariaDB refuses `NOT NULL` on a generated column (MySQL and the others take it).
        let mariadb_generated = def.generated.is_some() && dialect == Dialect::MySql;
        if !def.nullable && !mariadb_generated {
            line.push_str(" NOT NULL");
        }
        if let Some(default) = def.default {
            let _ = write!(line, " DEFAULT {default}");
        }
        if def.unique {
            line.push_str(" UNIQUE");
        }
        // SQLite does not enforce a declared length: the check does, so that SQL written
        // by hand is held to it as on the other backends.
        if let (Dialect::Sqlite, Some(length), SqlType::Text) = (dialect, def.length, def.sql_type)
        {
            let _ = write!(line, " CHECK (length({}) <= {length})", q(column));
        }
        // InnoDB parses a column's `REFERENCES` and ignores it: MySQL's is a table
        // constraint, below.
        if let (Some(fk), false) = (&def.references, dialect == Dialect::MySql) {
            line.push(' ');
            line.push_str(&references(dialect, table, fk));
        }
        lines.push(line);
    }
    if generated.is_none() {
        let key: Vec<String> = table.key.iter().map(|&i| q(table.columns[i])).collect();
        lines.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    let indexed = || {
        table
            .columns
            .iter()
            .zip(table.defs)
            .filter(|(_, def)| def.index)
            .map(|(column, _)| *column)
    };
    // MySQL has no `CREATE INDEX IF NOT EXISTS`: its indexes are part of the table.
    if dialect == Dialect::MySql {
        for column in indexed() {
            lines.push(format!(
                "INDEX {} ({})",
                q(&index_name(table.name, column)),
                q(column)
            ));
        }
    }
    if dialect == Dialect::MySql {
        for (column, def) in table.columns.iter().zip(table.defs) {
            if let Some(fk) = &def.references {
                let clause = references(dialect, table, fk);
                lines.push(format!("FOREIGN KEY ({}) {clause}", q(column)));
            }
        }
    }
    let options = match dialect {
        Dialect::MySql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        Dialect::Sqlite | Dialect::Postgres => "",
    };
    let mut statements = vec![format!(
        "CREATE TABLE IF NOT EXISTS {name} (\n    {}\n){options}",
        lines.join(",\n    ")
    )];
    if dialect != Dialect::MySql {
        statements.extend(indexed().map(|column| {
            let index = index_name(table.name, column);
            // An index is in its table's schema: SQLite names the schema on the index,
            // PostgreSQL on the table.
            let (index, on) = match dialect {
                Dialect::Sqlite => (dialect.quote_table(table.schema, &index), q(table.name)),
                Dialect::Postgres | Dialect::MySql => (q(&index), name.clone()),
            };
            format!("CREATE INDEX IF NOT EXISTS {index} ON {on} ({})", q(column))
        }));
    }
    statements
}

/// `REFERENCES "members" ("id")`, and its `ON DELETE` action if the model names one.
fn references(dialect: Dialect, table: &TableDef, fk: &ForeignKey) -> String {
    let Some(column) = fk.column() else {
        panic!(
            "{}: a foreign key references one column, and {} has a composite primary key",
            table.model, fk.model
        )
    };
    // SQLite's syntax takes no schema: the referenced table is in the same database.
    let referenced = match dialect {
        Dialect::Sqlite => dialect.quote(fk.table),
        Dialect::Postgres | Dialect::MySql => dialect.quote_table(fk.schema, fk.table),
    };
    let mut clause = format!("REFERENCES {referenced} ({})", dialect.quote(column));
    match (dialect, fk.on_delete) {
        // SQLite runs `RESTRICT` as a trigger's `RAISE(ABORT)`, which fails with
        // SQLITE_CONSTRAINT_TRIGGER, not a foreign key error. Its default (`NO ACTION`)
        // refuses the same deletes of a key that cannot be deferred (checked at the end of
        // the statement rather than at the row), with SQLITE_CONSTRAINT_FOREIGNKEY.
        (Dialect::Sqlite, Some(OnDelete::Restrict)) | (_, None) => {}
        (_, Some(action)) => {
            let _ = write!(clause, " ON DELETE {}", action.sql());
        }
    }
    clause
}

/// `posts_title_idx`: PostgreSQL index names share the schema with tables, so the table's
/// name is in it.
fn index_name(table: &str, column: &str) -> String {
    format!("{table}_{column}_idx")
}

/// The column type, without nullability. `keyed`: the column is unique, indexed or the
/// primary key, which MySQL allows only for text and bytes of a bounded length.
fn type_name(dialect: Dialect, def: &ColumnDef, keyed: bool) -> String {
    use Dialect::{MySql, Postgres, Sqlite};
    let fixed = match (def.sql_type, dialect) {
        (SqlType::Bool, _) => "BOOLEAN",
        (SqlType::SmallInt | SqlType::Int | SqlType::BigInt, Sqlite) => "INTEGER",
        (SqlType::UnsignedInt | SqlType::UnsignedBigInt, Sqlite) => "INTEGER",
        (SqlType::SmallInt, _) => "SMALLINT",
        (SqlType::Int, Postgres) => "INTEGER",
        (SqlType::Int, MySql) => "INT",
        (SqlType::BigInt, _) => "BIGINT",
        (SqlType::UnsignedInt | SqlType::UnsignedBigInt, Postgres) => "BIGINT",
        (SqlType::UnsignedInt, MySql) => "INT UNSIGNED",
        (SqlType::UnsignedBigInt, MySql) => "BIGINT UNSIGNED",
        (SqlType::Float, MySql) => "FLOAT",
        (SqlType::Float, _) => "REAL",
        (SqlType::Double, Sqlite) => "REAL",
        (SqlType::Double, Postgres) => "DOUBLE PRECISION",
        (SqlType::Double, MySql) => "DOUBLE",
        (SqlType::Text, _) => {
            return match (def.length, dialect) {
                (Some(length), _) => format!("VARCHAR({length})"),
                (None, MySql) if keyed => format!("VARCHAR({MYSQL_KEY_LENGTH})"),
                (None, MySql) => "LONGTEXT".to_owned(),
                (None, Sqlite | Postgres) => "TEXT".to_owned(),
            }
        }
        (SqlType::Bytes, Sqlite) => "BLOB",
        (SqlType::Bytes, Postgres) => "BYTEA",
        (SqlType::Bytes, MySql) if keyed => {
            return format!("VARBINARY({MYSQL_KEY_LENGTH})");
        }
        (SqlType::Bytes, MySql) => "LONGBLOB",
        (SqlType::TimestampTz, Postgres) => "TIMESTAMPTZ",
        (SqlType::Timestamp, Postgres) => "TIMESTAMP",
        (SqlType::TimestampTz | SqlType::Timestamp, MySql) => "DATETIME(6)",
        (SqlType::Date, Postgres | MySql) => "DATE",
        (SqlType::Uuid, Postgres) => "UUID",
        (SqlType::Uuid, MySql) => "CHAR(36)",
        (SqlType::Json, Postgres) => "JSONB",
        (SqlType::Json, MySql) => "JSON",
        // Without a declared size, PostgreSQL's `NUMERIC` keeps each value's own scale, and
        // MySQL's `DECIMAL` has to be as wide as a `Decimal` (65 digits, 28 after the point),
        // so that every value reads back with 28 decimals: `12.50` as
        // `12.5000000000000000000000000000`. `#[model(precision = 12, scale = 2)]` is the fix.
        (SqlType::Decimal, Postgres | MySql) => {
            return match (def.decimal, dialect) {
                (Some((precision, scale)), Postgres) => format!("NUMERIC({precision}, {scale})"),
                (Some((precision, scale)), _) => format!("DECIMAL({precision}, {scale})"),
                (None, Postgres) => "NUMERIC".to_owned(),
                (None, _) => "DECIMAL(65, 28)".to_owned(),
            }
        }
        (
            SqlType::TimestampTz
            | SqlType::Timestamp
            | SqlType::Date
            | SqlType::Uuid
            | SqlType::Json
            | SqlType::Decimal,
            Sqlite,
        ) => "TEXT",
        // Issue 13: an empty `impl ColumnType for MyType {}` must compile, so the SQL type
        // has a default, which says nothing of the type; the DDL cannot guess it.
        (SqlType::Custom, _) => panic!(
            "a column of a hand-written `ColumnType` (not derived) has no SQL type model-core \
             knows: create its table by hand"
        ),
    };
    fixed.to_owned()
}

/// An integer key the database generates, with its `PRIMARY KEY`.
fn generated_key(dialect: Dialect, sql_type: SqlType) -> String {
    match dialect {
        // Only `INTEGER PRIMARY KEY` is the rowid; `AUTOINCREMENT` never reuses a key.
        Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT".to_owned(),
        Dialect::Postgres => {
            let ty = match sql_type {
                SqlType::SmallInt => "SMALLINT",
                SqlType::Int => "INTEGER",
                _ => "BIGINT",
            };
            format!("{ty} GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
        }
        Dialect::MySql => {
            let def = ColumnDef {
                sql_type,
                nullable: false,
                length: None,
                decimal: None,
                unique: false,
                index: false,
                default: None,
                generated: None,
                references: None,
            };
            format!(
                "{} AUTO_INCREMENT PRIMARY KEY",
                type_name(dialect, &def, true)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn def(sql_type: SqlType, nullable: bool) -> ColumnDef {
        ColumnDef {
            sql_type,
            nullable,
            length: None,
            decimal: None,
            unique: false,
            index: false,
            default: None,
            generated: None,
            references: None,
        }
    }

    const DEFS: &[ColumnDef] = &[
        def(SqlType::BigInt, true),
        ColumnDef {
            length: Some(80),
            ..def(SqlType::Text, false)
        },
        ColumnDef {
            unique: true,
            ..def(SqlType::Text, false)
        },
        ColumnDef {
            index: true,
            default: Some("0"),
            ..def(SqlType::Int, false)
        },
        def(SqlType::TimestampTz, true),
    ];

    fn table() -> TableDef {
        TableDef {
            model: "Post",
            schema: None,
            name: "posts",
            columns: &["id", "title", "slug", "views", "created_at"],
            defs: DEFS,
            key: &[0],
        }
    }

    #[test]
    fn sqlite_generates_the_key_and_checks_the_length() {
        assert_eq!(
            create(Dialect::Sqlite, &table()),
            [
                "CREATE TABLE IF NOT EXISTS \"posts\" (\n    \
                 \"id\" INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
                 \"title\" VARCHAR(80) NOT NULL CHECK (length(\"title\") <= 80),\n    \
                 \"slug\" TEXT NOT NULL UNIQUE,\n    \
                 \"views\" INTEGER NOT NULL DEFAULT 0,\n    \
                 \"created_at\" TEXT\n)",
                "CREATE INDEX IF NOT EXISTS \"posts_views_idx\" ON \"posts\" (\"views\")",
            ]
        );
    }

    #[test]
    fn mysql_indexes_inside_the_table_and_bounds_keyed_text() {
        assert_eq!(
            create(Dialect::MySql, &table()),
            ["CREATE TABLE IF NOT EXISTS `posts` (\n    \
              `id` BIGINT AUTO_INCREMENT PRIMARY KEY,\n    \
              `title` VARCHAR(80) NOT NULL,\n    \
              `slug` VARCHAR(255) NOT NULL UNIQUE,\n    \
              `views` INT NOT NULL DEFAULT 0,\n    \
              `created_at` DATETIME(6),\n    \
              INDEX `posts_views_idx` (`views`)\n\
              ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"]
        );
    }

    #[test]
    fn a_key_the_model_sets_is_a_table_constraint_and_the_schema_is_named() {
        let defs = [
            def(SqlType::Text, false),
            def(SqlType::Bytes, false),
            ColumnDef {
                index: true,
                ..def(SqlType::Int, false)
            },
        ];
        let table = TableDef {
            model: "File",
            schema: Some("store"),
            name: "files",
            columns: &["path", "data", "size"],
            defs: Vec::leak(defs.to_vec()),
            key: &[0, 1],
        };
        assert_eq!(
            create(Dialect::Postgres, &table),
            [
                "CREATE TABLE IF NOT EXISTS \"store\".\"files\" (\n    \
                 \"path\" TEXT NOT NULL,\n    \
                 \"data\" BYTEA NOT NULL,\n    \
                 \"size\" INTEGER NOT NULL,\n    \
                 PRIMARY KEY (\"path\", \"data\")\n)",
                "CREATE INDEX IF NOT EXISTS \"files_size_idx\" ON \"store\".\"files\" (\"size\")",
            ]
        );
        assert_eq!(
            create(Dialect::Sqlite, &table)[1],
            "CREATE INDEX IF NOT EXISTS \"store\".\"files_size_idx\" ON \"files\" (\"size\")"
        );
        let mysql = &create(Dialect::MySql, &table)[0];
        assert!(
            mysql.starts_with("CREATE TABLE IF NOT EXISTS `store`.`files` ("),
            "{mysql}"
        );
        assert!(mysql.contains("`path` VARCHAR(255) NOT NULL,"), "{mysql}");
        assert!(mysql.contains("`data` VARBINARY(255) NOT NULL,"), "{mysql}");
    }

    #[test]
    fn a_generated_column_is_stored_and_not_null_except_on_mariadb() {
        const DEFS: &[ColumnDef] = &[
            def(SqlType::BigInt, true),
            def(SqlType::BigInt, false),
            ColumnDef {
                generated: Some("qty * 2"),
                ..def(SqlType::BigInt, false)
            },
        ];
        let table = TableDef {
            model: "Line",
            schema: None,
            name: "lines",
            columns: &["id", "qty", "double"],
            defs: DEFS,
            key: &[0],
        };
        assert!(create(Dialect::Postgres, &table)[0]
            .contains("\"double\" BIGINT GENERATED ALWAYS AS (qty * 2) STORED NOT NULL"));
        assert!(create(Dialect::Sqlite, &table)[0]
            .contains("\"double\" INTEGER GENERATED ALWAYS AS (qty * 2) STORED NOT NULL"));
        assert!(create(Dialect::MySql, &table)[0]
            .contains("`double` BIGINT GENERATED ALWAYS AS (qty * 2) STORED\n"));
    }

    #[test]
    fn a_declared_precision_and_scale_size_the_decimal_and_sqlite_keeps_text() {
        let defs = [
            def(SqlType::BigInt, true),
            ColumnDef {
                decimal: Some((12, 2)),
                ..def(SqlType::Decimal, false)
            },
            ColumnDef {
                decimal: Some((5, 0)),
                ..def(SqlType::Decimal, true)
            },
            def(SqlType::Decimal, true),
        ];
        let table = TableDef {
            model: "Price",
            schema: None,
            name: "prices",
            columns: &["id", "amount", "count", "any"],
            defs: Vec::leak(defs.to_vec()),
            key: &[0],
        };
        let columns = |dialect| {
            let sql = create(dialect, &table).remove(0);
            let lines: Vec<String> = sql.lines().skip(2).take(3).map(str::to_owned).collect();
            lines
        };
        assert_eq!(
            columns(Dialect::Postgres),
            [
                "    \"amount\" NUMERIC(12, 2) NOT NULL,",
                "    \"count\" NUMERIC(5, 0),",
                "    \"any\" NUMERIC",
            ]
        );
        assert_eq!(
            columns(Dialect::MySql),
            [
                "    `amount` DECIMAL(12, 2) NOT NULL,",
                "    `count` DECIMAL(5, 0),",
                "    `any` DECIMAL(65, 28)",
            ]
        );
        // SQLite has no decimal type: the exact text, in a `TEXT` column, whatever the size.
        assert_eq!(
            columns(Dialect::Sqlite),
            [
                "    \"amount\" TEXT NOT NULL,",
                "    \"count\" TEXT,",
                "    \"any\" TEXT",
            ]
        );
    }

    const MEMBERS: ForeignKey = ForeignKey {
        model: "Member",
        schema: Some("club"),
        table: "members",
        columns: &["id", "name"],
        key: &[0],
        on_delete: Some(OnDelete::Restrict),
    };

    fn loans(fk: ForeignKey) -> TableDef {
        let defs = [
            def(SqlType::BigInt, true),
            ColumnDef {
                references: Some(fk),
                ..def(SqlType::Text, false)
            },
        ];
        TableDef {
            model: "Loan",
            schema: None,
            name: "loans",
            columns: &["id", "member"],
            defs: Vec::leak(defs.to_vec()),
            key: &[0],
        }
    }

    #[test]
    fn a_foreign_key_is_a_column_constraint_and_a_table_constraint_on_mysql() {
        let table = loans(MEMBERS);
        assert_eq!(
            create(Dialect::Postgres, &table)[0],
            "CREATE TABLE IF NOT EXISTS \"loans\" (\n    \
             \"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    \
             \"member\" TEXT NOT NULL REFERENCES \"club\".\"members\" (\"id\") ON DELETE RESTRICT\n)"
        );
        // SQLite names no schema, and writes `RESTRICT` as its default (see `references`).
        assert!(create(Dialect::Sqlite, &table)[0]
            .contains("\"member\" TEXT NOT NULL REFERENCES \"members\" (\"id\")\n)"));
        assert_eq!(
            create(Dialect::MySql, &table)[0],
            "CREATE TABLE IF NOT EXISTS `loans` (\n    \
             `id` BIGINT AUTO_INCREMENT PRIMARY KEY,\n    \
             `member` VARCHAR(255) NOT NULL,\n    \
             FOREIGN KEY (`member`) REFERENCES `club`.`members` (`id`) ON DELETE RESTRICT\n\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        );
    }

    #[test]
    #[should_panic(expected = "Member has a composite primary key")]
    fn a_foreign_key_to_a_composite_key_is_refused() {
        create(
            Dialect::Postgres,
            &loans(ForeignKey {
                key: &[0, 1],
                ..MEMBERS
            }),
        );
    }
}
