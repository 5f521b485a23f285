//! A connection cut while a write's `COMMIT` is under way is `Error::OutcomeUnknown`: the
//! server may have committed, and the client cannot tell. Never a plain `Error::Database`,
//! which says that nothing was stored.
//!
//! Every cut here is deterministic: the test holds the `COMMIT` where it wants it, then cuts.
//!
//! - PostgreSQL, on the server, in the middle of `COMMIT`: a deferred constraint trigger
//!   sleeps when the transaction commits; once `pg_stat_activity` shows the session running
//!   `COMMIT` in that sleep, `pg_terminate_backend` ends it. The commit never completed:
//!   the rows are not stored.
//! - PostgreSQL and MariaDB, on the wire, through a TCP proxy of the test's own that reads
//!   the protocol and cuts at the `COMMIT` (in plain text: the proxied connections do not use
//!   TLS):
//!   - before the server gets it: not stored;
//!   - after the server has committed and answered, the answer dropped: **stored**, and
//!     still an unknown outcome for the client (why the variant exists);
//!   - the `COMMIT` held in the proxy while the server ends the session
//!     (`pg_terminate_backend`, MariaDB's `KILL CONNECTION`), then the client reads what the
//!     server sent: PostgreSQL's `FATAL` 57P01; from MariaDB, which sends nothing to a
//!     session it kills while the session waits for a command, only the end of the
//!     connection. Not stored.
//!
//! MariaDB has no way to hold one session inside `COMMIT` on the server: no deferred
//! constraint or trigger runs at commit, and what does block a `COMMIT` (`FLUSH TABLES WITH
//! READ LOCK`, `BACKUP STAGE BLOCK_COMMIT`) blocks every commit of the server, which a test
//! on a shared server must not do. So the window in which MariaDB's server is executing the
//! `COMMIT` when the session is killed is not covered there; the windows on either side of
//! it are (held before it arrives; answered, the answer lost).
//!
//! Each cut goes through four writes that end in `COMMIT`: `model_core::transaction`,
//! a one-row insert that owns its transaction (its model has an `after_insert` listener),
//! `insert_all` of two rows, and a set-based `update` of a model with listeners (per row).
//!
//! SQLite is not here: it runs in the process, there is no connection to cut.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model_core::{transaction, Conn, Dialect, Error, Model};
use model_tests::{per_backend, TestBackend, TestDb};
use sqlx::pool::PoolOptions;
use sqlx::Pool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// No listener: written through `transaction` and `insert_all`.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "entries")]
struct Entry {
    id: Option<i64>,
    name: String,
}

/// An `after_insert` and an `after_update` listener: a one-row insert runs in a
/// transaction of its own, a set-based update reads and writes row by row in one.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "audited")]
#[listens_for(after_insert, inserted)]
#[listens_for(after_update, updated)]
struct Audited {
    id: Option<i64>,
    name: String,
}

fn inserted(_: &Audited) {}

fn updated(_: &Audited) {}

/// How a write reaches its `COMMIT`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Path {
    /// An `Entry` inserted in a `model_core::transaction` body.
    Transaction,
    /// An `Audited` inserted on the pool: the write owns its transaction.
    Insert,
    /// Two `Entry` rows through `insert_all`.
    InsertAll,
    /// A set-based update of an `Audited` row (stored beforehand, named `<label>-old`).
    SetUpdate,
}

const PATHS: [Path; 4] = [
    Path::Transaction,
    Path::Insert,
    Path::InsertAll,
    Path::SetUpdate,
];

impl Path {
    /// What the error names.
    fn model(self) -> &'static str {
        match self {
            Path::Transaction => "transaction",
            Path::Insert | Path::SetUpdate => "Audited",
            Path::InsertAll => "Entry",
        }
    }

    /// The rows named `label` the write stores when it commits.
    fn rows(self) -> u64 {
        match self {
            Path::InsertAll => 2,
            Path::Transaction | Path::Insert | Path::SetUpdate => 1,
        }
    }
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    Entry::create_table(&db.pool).await.unwrap();
    Audited::create_table(&db.pool).await.unwrap();
}

/// What `path` needs stored before it runs (on the test's own pool, not the victim's).
async fn prepare<DB: TestBackend>(db: &TestDb<DB>, path: Path, label: &str) {
    if path == Path::SetUpdate {
        let mut row = Audited {
            id: None,
            name: format!("{label}-old"),
        };
        row.insert(&db.pool).await.unwrap();
    }
}

/// Runs `path`'s write on `pool`, its rows named `label`. Returns what it returned, and
/// whether the models it inserted are without a key afterwards.
async fn victim<DB: TestBackend>(
    path: Path,
    pool: Pool<DB>,
    label: String,
) -> (Result<(), Error>, bool) {
    match path {
        Path::Transaction => {
            let result = transaction(&pool, move |conn| {
                Box::pin(async move {
                    Entry {
                        id: None,
                        name: label,
                    }
                    .insert(&mut *conn)
                    .await
                })
            })
            .await;
            (result, true)
        }
        Path::Insert => {
            let mut row = Audited {
                id: None,
                name: label,
            };
            let result = row.insert(&pool).await;
            (result, row.id.is_none())
        }
        Path::InsertAll => {
            let entry = || Entry {
                id: None,
                name: label.clone(),
            };
            let mut rows = vec![entry(), entry()];
            let result = Entry::insert_all(&mut rows, &pool).await;
            (result, rows.iter().all(|row| row.id.is_none()))
        }
        Path::SetUpdate => {
            let old = format!("{label}-old");
            let result = Audited::filter(|a| a.name.eq(old))
                .update(|a| a.name.set(label.clone()), &pool)
                .await;
            (result.map(drop), true)
        }
    }
}

/// How many rows named `label` `path`'s write left (read on the test's own pool).
async fn stored<DB: TestBackend>(db: &TestDb<DB>, path: Path, label: &str) -> u64 {
    let label = label.to_owned();
    match path {
        Path::Transaction | Path::InsertAll => Entry::filter(|e| e.name.eq(label))
            .count(&db.pool)
            .await
            .unwrap(),
        Path::Insert | Path::SetUpdate => Audited::filter(|a| a.name.eq(label))
            .count(&db.pool)
            .await
            .unwrap(),
    }
}

/// `error` is the unknown outcome of `path`'s commit, saying so.
fn assert_unknown(error: &Error, path: Path, cut: &str) {
    assert!(
        matches!(error, Error::OutcomeUnknown { model, .. } if *model == path.model()),
        "{cut}, {path:?}: expected Error::OutcomeUnknown of {}, got {error:?}",
        path.model()
    );
    assert!(error.is_outcome_unknown());
    assert!(
        error
            .to_string()
            .contains("may or may not have been stored"),
        "{error}"
    );
}

/// The driver error under an `OutcomeUnknown`: the server's code, or `"io"` for a
/// connection that ended without one.
fn cause(error: &Error) -> String {
    let source = match error {
        Error::OutcomeUnknown { source, .. } => source,
        other => panic!("not an unknown outcome: {other:?}"),
    };
    match source {
        sqlx::Error::Io(_) => "io".into(),
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()).unwrap_or_default(),
        other => format!("{other:?}"),
    }
}

/// A pool of one connection with `options`: the victim's, so that the session the test
/// looks up before the write is the one the write runs on.
async fn one_connection<DB: TestBackend>(
    options: <DB::Connection as sqlx::Connection>::Options,
) -> Pool<DB> {
    PoolOptions::<DB>::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .unwrap()
}

/// The server's id of the one connection of `pool`.
async fn session<DB: Proxied>(pool: &Pool<DB>) -> i64 {
    let mut conn = pool.acquire().await.unwrap();
    let row = Conn::<DB>::from_mut(&mut conn)
        .fetch_optional(sqlx::query(DB::SESSION))
        .await
        .unwrap()
        .expect("a row");
    DB::get::<i64>(&row, 0).unwrap()
}

/// Has the server end session `id` (from the test's own pool) and waits until it is gone.
async fn end_session<DB: Proxied>(db: &TestDb<DB>, id: i64) {
    let mut conn = db.pool.acquire().await.unwrap();
    let conn = Conn::<DB>::from_mut(&mut conn);
    conn.execute(DB::bind(sqlx::query(DB::END), &id))
        .await
        .unwrap();
    for _ in 0..200 {
        let row = conn
            .fetch_optional(DB::bind(sqlx::query(DB::ALIVE), &id))
            .await
            .unwrap()
            .expect("a row");
        if DB::get::<i64>(&row, 0).unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("session {id} outlived its end");
}

const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// The proxy.

/// The wire protocol the proxy reads, to find the `COMMIT` among the client's messages.
#[derive(Debug, Clone, Copy)]
enum Wire {
    Postgres,
    MySql,
}

impl Wire {
    /// The length of the message at the start of `buf`, once it is all there. `first`: the
    /// client's first message (PostgreSQL's startup message has no type byte).
    fn frame(self, buf: &[u8], first: bool) -> Option<usize> {
        let length = match self {
            Wire::Postgres if first => {
                let length = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?);
                usize::try_from(length).ok()?
            }
            Wire::Postgres => {
                let length = u32::from_be_bytes(buf.get(1..5)?.try_into().ok()?);
                1 + usize::try_from(length).ok()?
            }
            Wire::MySql => {
                let header = buf.get(..4)?;
                4 + (usize::from(header[0])
                    | usize::from(header[1]) << 8
                    | usize::from(header[2]) << 16)
            }
        };
        (buf.len() >= length).then_some(length)
    }

    /// Whether `message` is the text query `COMMIT` (how sqlx commits on both).
    fn is_commit(self, message: &[u8]) -> bool {
        match self {
            Wire::Postgres => {
                message.first() == Some(&b'Q') && message.get(5..) == Some(b"COMMIT\0")
            }
            Wire::MySql => message.get(4..) == Some(b"\x03COMMIT"),
        }
    }
}

/// What the proxy does at the next `COMMIT` a client sends.
enum Cut {
    /// Drops the `COMMIT` and the connection: the server never gets it.
    BeforeTheServer,
    /// Sends the `COMMIT` on, and once the server answers (it has committed), drops the
    /// answer and the connection.
    AfterTheServer,
    /// Holds the `COMMIT` until the receiver fires (the test has the server end the session
    /// meanwhile), drops it, and relays what the server sends until the connection ends.
    Held(oneshot::Receiver<()>),
}

struct Armed {
    cut: Cut,
    /// Fires when the cut is made (for `AfterTheServer`: when the server has answered).
    reached: oneshot::Sender<()>,
}

/// A TCP proxy in front of the test's server.
struct Proxy {
    addr: SocketAddr,
    armed: Arc<Mutex<Option<Armed>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(server: (String, u16), wire: Wire) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let armed = Arc::new(Mutex::new(None));
        let shared = armed.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (server, armed) = (server.clone(), shared.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect((server.0.as_str(), server.1)).await {
                        relay(client, server, wire, armed).await;
                    }
                });
            }
        });
        Proxy {
            addr,
            armed,
            accept,
        }
    }

    /// Makes `cut` at the next `COMMIT`; the receiver fires when it is made.
    fn arm(&self, cut: Cut) -> oneshot::Receiver<()> {
        let (reached, made) = oneshot::channel();
        *self.armed.lock().unwrap() = Some(Armed { cut, reached });
        made
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Relays one connection, message by message from the client, until either side ends it
/// or a cut does.
async fn relay(client: TcpStream, server: TcpStream, wire: Wire, armed: Arc<Mutex<Option<Armed>>>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let (mut pending, mut first) = (Vec::new(), true);
    // Set once the COMMIT went on and its answer is to be dropped.
    let mut answered: Option<oneshot::Sender<()>> = None;
    let mut client_buf = vec![0_u8; 1 << 16];
    let mut server_buf = vec![0_u8; 1 << 16];
    loop {
        tokio::select! {
            read = from_client.read(&mut client_buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                pending.extend_from_slice(&client_buf[..n]);
                while let Some(length) = wire.frame(&pending, first) {
                    let message: Vec<u8> = pending.drain(..length).collect();
                    first = false;
                    let cut = match wire.is_commit(&message) {
                        true => armed.lock().unwrap().take(),
                        false => None,
                    };
                    match cut {
                        None => {
                            if to_server.write_all(&message).await.is_err() {
                                return;
                            }
                        }
                        Some(Armed { cut: Cut::BeforeTheServer, reached }) => {
                            let _ = reached.send(());
                            return;
                        }
                        Some(Armed { cut: Cut::AfterTheServer, reached }) => {
                            if to_server.write_all(&message).await.is_err() {
                                return;
                            }
                            answered = Some(reached);
                        }
                        Some(Armed { cut: Cut::Held(release), reached }) => {
                            let _ = reached.send(());
                            let _ = release.await;
                        }
                    }
                }
            }
            read = from_server.read(&mut server_buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if let Some(reached) = answered.take() {
                    let _ = reached.send(());
                    return;
                }
                if to_client.write_all(&server_buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A server the proxy can stand in front of.
trait Proxied: TestBackend {
    const WIRE: Wire;
    /// The session's id on the server, as a `BIGINT`.
    const SESSION: &'static str;
    /// Ends session `$1` from another session.
    const END: &'static str;
    /// 1 while session `$1` exists, else 0, as a `BIGINT`.
    const ALIVE: &'static str;
    /// Where the server of `pool` listens.
    fn server(pool: &Pool<Self>) -> (String, u16);
    /// `pool`'s connect options (database, schema), through `proxy`, without TLS.
    fn through(
        pool: &Pool<Self>,
        proxy: SocketAddr,
    ) -> <Self::Connection as sqlx::Connection>::Options;
}

impl Proxied for sqlx::Postgres {
    const WIRE: Wire = Wire::Postgres;
    const SESSION: &'static str = "SELECT CAST(pg_backend_pid() AS BIGINT)";
    const END: &'static str = "SELECT pg_terminate_backend(CAST($1 AS INTEGER))";
    const ALIVE: &'static str =
        "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = CAST($1 AS INTEGER)";

    fn server(pool: &Pool<Self>) -> (String, u16) {
        let options = pool.connect_options();
        (options.get_host().to_owned(), options.get_port())
    }

    fn through(pool: &Pool<Self>, proxy: SocketAddr) -> sqlx::postgres::PgConnectOptions {
        (*pool.connect_options())
            .clone()
            .host(&proxy.ip().to_string())
            .port(proxy.port())
            .ssl_mode(sqlx::postgres::PgSslMode::Disable)
    }
}

impl Proxied for sqlx::MySql {
    const WIRE: Wire = Wire::MySql;
    const SESSION: &'static str = "SELECT CAST(CONNECTION_ID() AS SIGNED)";
    const END: &'static str = "KILL CONNECTION ?";
    const ALIVE: &'static str =
        "SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.PROCESSLIST WHERE ID = ?";

    fn server(pool: &Pool<Self>) -> (String, u16) {
        let options = pool.connect_options();
        (options.get_host().to_owned(), options.get_port())
    }

    fn through(pool: &Pool<Self>, proxy: SocketAddr) -> sqlx::mysql::MySqlConnectOptions {
        (*pool.connect_options())
            .clone()
            .host(&proxy.ip().to_string())
            .port(proxy.port())
            .ssl_mode(sqlx::mysql::MySqlSslMode::Disabled)
    }
}

async fn proxy<DB: Proxied>(db: &TestDb<DB>) -> Proxy {
    Proxy::start(DB::server(&db.pool), DB::WIRE).await
}

// ---------------------------------------------------------------------------------------
// The cuts.

/// The `COMMIT` is sent and lost on the way: the server never commits, the client cannot
/// know that.
async fn a_commit_lost_on_its_way_to_the_server_is_an_unknown_outcome<DB: Proxied>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let proxy = proxy(db).await;
    for path in PATHS {
        let label = format!("lost-{path:?}");
        prepare(db, path, &label).await;
        let pool = one_connection::<DB>(DB::through(&db.pool, proxy.addr)).await;
        let mut made = proxy.arm(Cut::BeforeTheServer);
        let (result, keys_cleared) = victim(path, pool.clone(), label.clone()).await;
        assert!(made.try_recv().is_ok(), "{path:?}: the proxy saw no COMMIT");
        let error = result.expect_err("the COMMIT was lost");
        assert_unknown(&error, path, "COMMIT lost");
        assert_eq!(cause(&error), "io", "{path:?}: {error:?}");
        assert!(keys_cleared, "{path:?}: a key of a row that may not exist");
        assert_eq!(stored(db, path, &label).await, 0, "{path:?}: not committed");
        pool.close().await;
    }
}

/// The server commits and answers, and the answer is lost: the rows are stored, and the
/// client, which cannot know that, says the outcome is unknown (a plain error here would
/// be the lie this variant exists to prevent). The models get no key: the caller reads the
/// rows back by what identifies them.
async fn a_commit_whose_answer_is_lost_is_an_unknown_outcome_and_stored<DB: Proxied>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let proxy = proxy(db).await;
    for path in PATHS {
        let label = format!("answered-{path:?}");
        prepare(db, path, &label).await;
        let pool = one_connection::<DB>(DB::through(&db.pool, proxy.addr)).await;
        let mut answered = proxy.arm(Cut::AfterTheServer);
        let (result, keys_cleared) = victim(path, pool.clone(), label.clone()).await;
        assert!(
            answered.try_recv().is_ok(),
            "{path:?}: the server did not answer the COMMIT"
        );
        let error = result.expect_err("the answer was lost");
        assert_unknown(&error, path, "answer lost");
        assert_eq!(cause(&error), "io", "{path:?}: {error:?}");
        assert!(
            keys_cleared,
            "{path:?}: keys are not set on an unknown outcome"
        );
        assert_eq!(
            stored(db, path, &label).await,
            path.rows(),
            "{path:?}: committed"
        );
        pool.close().await;
    }
}

/// The `COMMIT` is on its way (held in the proxy) when the server ends the session: the
/// client reads what the server sent where it waits for the COMMIT's answer. PostgreSQL
/// (`pg_terminate_backend`): `FATAL` 57P01. MariaDB (`KILL CONNECTION`) sends nothing to a
/// session that waits for its next command: the connection just ends. Not committed.
async fn a_session_ended_while_its_commit_is_on_the_way_is_an_unknown_outcome<DB: Proxied>(
    db: &TestDb<DB>,
) {
    schema(db).await;
    let proxy = proxy(db).await;
    for path in PATHS {
        let label = format!("ended-{path:?}");
        prepare(db, path, &label).await;
        let pool = one_connection::<DB>(DB::through(&db.pool, proxy.addr)).await;
        let id = session(&pool).await;
        let (release, held) = oneshot::channel();
        let made = proxy.arm(Cut::Held(held));
        let write = tokio::spawn(victim(path, pool.clone(), label.clone()));
        tokio::time::timeout(PATIENCE, made)
            .await
            .unwrap_or_else(|_| panic!("{path:?}: no COMMIT reached the proxy"))
            .unwrap();
        end_session(db, id).await;
        release.send(()).unwrap();
        let (result, keys_cleared) = tokio::time::timeout(PATIENCE, write)
            .await
            .unwrap_or_else(|_| panic!("{path:?}: the write never returned"))
            .unwrap();
        let error = result.expect_err("the session was ended");
        assert_unknown(&error, path, "session ended");
        let expected = match DB::DIALECT {
            Dialect::Postgres => "57P01",
            _ => "io",
        };
        assert_eq!(cause(&error), expected, "{path:?}: {error:?}");
        assert!(
            keys_cleared,
            "{path:?}: keys are not set on an unknown outcome"
        );
        assert_eq!(stored(db, path, &label).await, 0, "{path:?}: not committed");
        pool.close().await;
    }
}

/// PostgreSQL: the session is ended by the server while it runs the `COMMIT`. A deferred
/// constraint trigger sleeps at the commit of a row named `slow-...`; once
/// `pg_stat_activity` shows the session in `COMMIT`, asleep in it, `pg_terminate_backend`
/// ends it. The client gets `FATAL` 57P01 as the answer to its `COMMIT`: an unknown outcome.
/// The server had not finished the commit (the trigger runs before the commit record is
/// written), so the rows are not stored: PostgreSQL rolls back the session's transaction
/// when it ends.
async fn postgres_a_commit_ended_while_the_server_runs_it_is_an_unknown_outcome<DB: Proxied>(
    db: &TestDb<DB>,
) {
    assert_eq!(DB::DIALECT, Dialect::Postgres);
    schema(db).await;
    db.exec(
        "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.name LIKE 'slow-%' AND NEW.name NOT LIKE '%-old' THEN PERFORM pg_sleep(60); \
         END IF; RETURN NULL; END $$",
    )
    .await;
    for table in ["entries", "audited"] {
        db.exec(&format!(
            "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE ON {table} \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()"
        ))
        .await;
    }
    for path in PATHS {
        let label = format!("slow-{path:?}");
        prepare(db, path, &label).await;
        let pool = one_connection::<DB>((*db.pool.connect_options()).clone()).await;
        let id = session(&pool).await;
        let write = tokio::spawn(victim(path, pool.clone(), label.clone()));

        let mut admin = db.pool.acquire().await.unwrap();
        let admin = Conn::<DB>::from_mut(&mut admin);
        let mut in_commit = false;
        for _ in 0..400 {
            let row = admin
                .fetch_optional(DB::bind(
                    sqlx::query(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_stat_activity \
                         WHERE pid = CAST($1 AS INTEGER) AND state = 'active' \
                         AND query = 'COMMIT' AND wait_event = 'PgSleep'",
                    ),
                    &id,
                ))
                .await
                .unwrap()
                .expect("a row");
            if DB::get::<i64>(&row, 0).unwrap() == 1 {
                in_commit = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(in_commit, "{path:?}: the session never slept in COMMIT");
        end_session(db, id).await;

        let (result, keys_cleared) = tokio::time::timeout(PATIENCE, write)
            .await
            .unwrap_or_else(|_| panic!("{path:?}: the write never returned"))
            .unwrap();
        let error = result.expect_err("the session was ended in COMMIT");
        assert_unknown(&error, path, "ended in COMMIT");
        assert_eq!(cause(&error), "57P01", "{path:?}: {error:?}");
        assert!(
            keys_cleared,
            "{path:?}: keys are not set on an unknown outcome"
        );
        assert_eq!(
            stored(db, path, &label).await,
            0,
            "{path:?}: the commit never completed"
        );
        pool.close().await;
    }
}

per_backend!(@backend postgres, ::sqlx::Postgres, [
    a_commit_lost_on_its_way_to_the_server_is_an_unknown_outcome,
    a_commit_whose_answer_is_lost_is_an_unknown_outcome_and_stored,
    a_session_ended_while_its_commit_is_on_the_way_is_an_unknown_outcome,
    postgres_a_commit_ended_while_the_server_runs_it_is_an_unknown_outcome,
], []);
per_backend!(@backend mysql, ::sqlx::MySql, [
    a_commit_lost_on_its_way_to_the_server_is_an_unknown_outcome,
    a_commit_whose_answer_is_lost_is_an_unknown_outcome_and_stored,
    a_session_ended_while_its_commit_is_on_the_way_is_an_unknown_outcome,
], []);
