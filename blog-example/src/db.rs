//! Pools configured per backend, and the migrations embedded in the binary.

use std::any::Any;
use std::str::FromStr;
use std::time::Duration;

use model_core::{Backend, Dialect};
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{MySql, Pool, Postgres, SqlSafeStr as _, Sqlite};

/// The pools a server uses: writes go to `write`, reads to `read`. On PostgreSQL and MySQL
/// they are the same pool; on SQLite, which has one writer at a time, `write` is a single
/// connection (writers queue in the pool, in order, instead of sleeping in SQLite's busy
/// handler) and `read` is a few connections reading the WAL concurrently.
#[derive(Debug)]
pub struct Pools<DB: Backend> {
    /// Where inserts, updates and deletes run.
    pub write: Pool<DB>,
    /// Where reads run.
    pub read: Pool<DB>,
}

impl<DB: Backend> Clone for Pools<DB> {
    fn clone(&self) -> Self {
        Pools {
            write: self.write.clone(),
            read: self.read.clone(),
        }
    }
}

impl<DB: Backend> Pools<DB> {
    /// One pool for both reads and writes.
    pub fn single(pool: Pool<DB>) -> Self {
        Pools {
            write: pool.clone(),
            read: pool,
        }
    }
}

/// How long a request waits for a connection before it fails with 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) the SQLite database at `url`, set up for concurrent web
/// traffic: WAL, `synchronous = NORMAL` (durable across crashes of the app, not of the
/// machine, as WAL intends), a busy timeout, foreign keys on.
pub async fn connect_sqlite(url: &str) -> Result<Pools<Sqlite>, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings a connection on every acquire by default: a round trip per request
        // for nothing on an embedded database.
        .test_before_acquire(false)
        .connect_with(options.clone())
        .await?;
    let read = SqlitePoolOptions::new()
        .max_connections(4)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    Ok(Pools { write, read })
}

/// Connects to PostgreSQL.
pub async fn connect_postgres(url: &str) -> Result<Pools<Postgres>, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .connect_with(PgConnectOptions::from_str(url)?)
        .await?;
    Ok(Pools::single(pool))
}

/// Connects to MySQL or MariaDB.
pub async fn connect_mysql(url: &str) -> Result<Pools<MySql>, sqlx::Error> {
    let pool = MySqlPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .connect_with(MySqlConnectOptions::from_str(url)?)
        .await?;
    Ok(Pools::single(pool))
}

/// The schema's history, one migration per version, each with its SQL per dialect in the
/// order of [`Dialect`]'s discriminants. Append only: sqlx's migrator refuses to start when
/// an applied migration's text changed.
///
/// The files are generated from the models (`model_core::schema::Schema::write_migration`),
/// and `tests/migrations.rs` checks that they still are what the models declare. They are
/// embedded, so the binary needs no files at run time; `sqlx::migrate!` would embed them
/// too, but needs sqlx's `macros` feature, a second build of sqlx inside a proc macro, for
/// what `include_str!` does here.
const MIGRATIONS: &[(i64, &str, [&str; 3])] = &[
    (
        1,
        "create_posts",
        [
            include_str!("../migrations/sqlite/0001_create_posts.sql"),
            include_str!("../migrations/postgres/0001_create_posts.sql"),
            include_str!("../migrations/mysql/0001_create_posts.sql"),
        ],
    ),
    (
        2,
        "create_comments",
        [
            include_str!("../migrations/sqlite/0002_create_comments.sql"),
            include_str!("../migrations/postgres/0002_create_comments.sql"),
            include_str!("../migrations/mysql/0002_create_comments.sql"),
        ],
    ),
];

/// sqlx's migrator over the embedded migrations of `dialect`: what
/// `Migrator::new("migrations/<dialect>")` would read from the files, checksums included.
pub fn migrator(dialect: Dialect) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    // As sqlx names a file's migration: `0001_create_posts.sql` is
                    // "create posts".
                    name.replace('_', " ").into(),
                    MigrationType::Simple,
                    sql[dialect as usize].into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Brings the schema up to date with sqlx's migrator: runs every migration not yet recorded
/// in `_sqlx_migrations`, each in its own transaction with its record (on MySQL, DDL
/// commits implicitly, so a failed migration there may need a manual look).
pub async fn migrate<DB: Backend>(pool: &Pool<DB>) -> Result<(), MigrateError> {
    let migrator = migrator(DB::DIALECT);
    // sqlx's migrator needs the concrete driver, which `Backend` (sealed: these three)
    // does not name.
    let pool: &dyn Any = pool;
    if let Some(pool) = pool.downcast_ref::<Pool<Sqlite>>() {
        migrator.run(pool).await
    } else if let Some(pool) = pool.downcast_ref::<Pool<Postgres>>() {
        migrator.run(pool).await
    } else if let Some(pool) = pool.downcast_ref::<Pool<MySql>>() {
        migrator.run(pool).await
    } else {
        unreachable!("a Backend is SQLite, PostgreSQL or MySQL")
    }
}
