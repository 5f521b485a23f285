//! The committed migration files are what the model declares: they are generated from
//! `Post` by `model_core::schema::Schema`, and cannot drift from it unnoticed.

use blog_example::model::Post;
use model_core::schema::Schema;
use model_core::Dialect;

/// The migration that creates the tables of today's models.
fn generated(dialect: Dialect) -> String {
    Schema::new().model::<Post>().to_sql(dialect)
}

#[test]
fn committed_migrations_are_what_the_model_declares() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for (dialect, name) in [
        (Dialect::Sqlite, "sqlite"),
        (Dialect::Postgres, "postgres"),
        (Dialect::MySql, "mysql"),
    ] {
        let path = dir.join(name).join("0001_create_posts.sql");
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A changed model needs a new migration (sqlx refuses an applied one that changed):
        // write it with `Schema::write_migration`, or by hand for an `ALTER TABLE`, and
        // compare the new tables here.
        assert_eq!(
            committed,
            generated(dialect),
            "{} is not what `Post` declares",
            path.display()
        );
    }
}

/// What the binary runs is those files, through sqlx's migrator.
#[test]
fn the_embedded_migrator_runs_the_committed_files() {
    for dialect in Dialect::ALL {
        let migrator = blog_example::db::migrator(dialect);
        let migrations: Vec<_> = migrator.iter().collect();
        assert_eq!(migrations.len(), 1);
        assert_eq!(migrations[0].version, 1);
        assert_eq!(migrations[0].description, "create posts");
        assert_eq!(migrations[0].sql.as_str(), generated(dialect));
    }
}
