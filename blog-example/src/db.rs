//! Pools configured per backend, and the migrations embedded in the binary.

use std::str::FromStr;
use std::time::Duration;

use model_core::{Backend, Conn, Dialect};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{MySql, Pool, Postgres, Sqlite};

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

/// A migration: a version and one SQL statement per dialect.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    mysql: &'static str,
}

/// The schema's history, embedded in the binary. Append only.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "create_posts",
    sqlite: include_str!("../migrations/sqlite/0001_create_posts.sql"),
    postgres: include_str!("../migrations/postgres/0001_create_posts.sql"),
    mysql: include_str!("../migrations/mysql/0001_create_posts.sql"),
}];

/// Brings the schema up to date: runs every migration not yet recorded in
/// `blog_migrations`, each in its own transaction with its record (on MySQL, DDL commits
/// implicitly, so a failed migration there may need a manual look). Returns how many ran.
pub async fn migrate<DB: Backend>(pool: &Pool<DB>) -> Result<usize, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let conn = Conn::<DB>::from_mut(&mut conn);
    conn.execute(sqlx::query(
        "CREATE TABLE IF NOT EXISTS blog_migrations (version BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL)",
    ))
    .await?;
    let applied: Vec<i64> = conn
        .fetch_all(sqlx::query("SELECT version FROM blog_migrations"))
        .await?
        .iter()
        .map(|row| DB::get::<i64>(row, 0))
        .collect::<Result<_, _>>()?;
    let record = match DB::DIALECT {
        Dialect::Postgres => "INSERT INTO blog_migrations (version, name) VALUES ($1, $2)",
        Dialect::Sqlite | Dialect::MySql => {
            "INSERT INTO blog_migrations (version, name) VALUES (?, ?)"
        }
    };
    let mut ran = 0;
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match DB::DIALECT {
            Dialect::Sqlite => migration.sqlite,
            Dialect::Postgres => migration.postgres,
            Dialect::MySql => migration.mysql,
        };
        let mut tx = sqlx::Connection::begin(&mut **conn).await?;
        let tx_conn = Conn::<DB>::from_mut(&mut tx);
        tx_conn.execute(sqlx::query(sql)).await?;
        let query = DB::bind(
            DB::bind(sqlx::query(record), &migration.version),
            &migration.name.to_owned(),
        );
        tx_conn.execute(query).await?;
        tx.commit().await?;
        ran += 1;
    }
    Ok(ran)
}
