//! The committed migration files are what the models declare: they are generated from
//! `Post`, then `Comment` and `CommentLog`, by `model_core::schema::Schema`, and cannot drift
//! from them unnoticed.

use blog_example::model::{Comment, CommentLog, Post};
use model_core::schema::Schema;
use model_core::Dialect;

/// The migrations, in order: each creates the tables of the models it names.
const MIGRATIONS: [(&str, &str); 2] = [
    ("0001_create_posts.sql", "create posts"),
    ("0002_create_comments.sql", "create comments"),
];

/// The migration `n` (from 0) as the models declare it.
fn generated(n: usize, dialect: Dialect) -> String {
    match n {
        0 => Schema::new().model::<Post>().to_sql(dialect),
        _ => Schema::new()
            .model::<Comment>()
            .model::<CommentLog>()
            .to_sql(dialect),
    }
}

#[test]
fn committed_migrations_are_what_the_models_declare() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for (dialect, name) in [
        (Dialect::Sqlite, "sqlite"),
        (Dialect::Postgres, "postgres"),
        (Dialect::MySql, "mysql"),
    ] {
        for (n, (file, _)) in MIGRATIONS.iter().enumerate() {
            let path = dir.join(name).join(file);
            let empty = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
            if std::env::var_os("BLESS_MIGRATIONS").is_some() && empty {
                // A new migration's file (missing, or created empty for the binary's
                // `include_str!`), written once from the models; never an applied one.
                std::fs::write(&path, generated(n, dialect)).unwrap();
            }
            let committed = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // A changed model needs a new migration (sqlx refuses an applied one that
            // changed): write it with `Schema::write_migration`, or by hand for an `ALTER
            // TABLE`, and compare the new tables here.
            assert_eq!(
                committed,
                generated(n, dialect),
                "{} is not what the models declare",
                path.display()
            );
        }
    }
}

/// What the binary runs is those files, through sqlx's migrator.
#[test]
fn the_embedded_migrator_runs_the_committed_files() {
    for dialect in Dialect::ALL {
        let migrator = blog_example::db::migrator(dialect);
        let migrations: Vec<_> = migrator.iter().collect();
        assert_eq!(migrations.len(), MIGRATIONS.len());
        for (n, migration) in migrations.iter().enumerate() {
            assert_eq!(migration.version, n as i64 + 1);
            assert_eq!(migration.description, MIGRATIONS[n].1);
            assert_eq!(migration.sql.as_str(), generated(n, dialect));
        }
    }
}
