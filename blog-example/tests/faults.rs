//! No lost or phantom writes through the blog, under real faults: the blog runs in-process
//! as it does in production (`blog_example::open` + `serve_with`), clients talk to it over
//! real HTTP, and while they stream `POST /posts` (unique titles) and some `GET`s, the
//! database is made to fail: SQLite files made immutable, SQLite on a full file system,
//! MariaDB connections killed, PostgreSQL backends terminated.
//!
//! For each fault, afterwards, with the database read directly:
//! - every `POST` answered 2xx has exactly its row (same id);
//! - no `POST` answered with a failure has a row, unless the answer was 503
//!   `outcome_unknown` (the connection was lost while committing);
//! - every request got an answer, and every error answer is the API's JSON error with
//!   nothing of the server in it (no SQL, path, driver or database text);
//! - once the fault ends, a `POST` succeeds within 1 s.
//!
//! The faults need root (`chattr`, `mount`), as CI has. A database server that is
//! unreachable skips its test with a `SKIPPED:` line, unless `CI` is set.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use blog_example::ServeOptions;
use reqwest::Client;
use serde_json::{json, Value};
use sqlx::Connection as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long each fault lasts.
const FAULT: Duration = Duration::from_millis(2000);
/// How long the service must take at most, once the fault is over, to store a post again.
const RECOVERY: Duration = Duration::from_secs(1);
/// Concurrent clients during the fault.
const CLIENTS: usize = 4;

/// Text that must never reach a client (compared in lower case): SQL, paths, the driver's
/// and the servers' own messages, the test database's name.
const LEAKS: &[&str] = &[
    "insert",
    "select",
    "returning",
    "/tmp",
    ".db",
    "sqlx",
    "sqlite",
    "error returned from database",
    "disk i/o",
    "disk is full",
    "readonly",
    "read-only",
    "os error",
    "io error",
    "mysql",
    "mariadb",
    "postgres",
    "connection was killed",
    "terminating connection",
    "administrator command",
    "blog_faults",
    "posts\"",
    "`posts`",
];

// ---------------------------------------------------------------------------------------
// The service and its clients.

/// The blog, served in this process until [`Server::stop`].
struct Server {
    base: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Opens the database at `url` (connect, migrate) exactly as the binary does, and serves
    /// it on an ephemeral port.
    async fn start(url: &str) -> Server {
        let app = blog_example::open(url).await.expect("open the blog");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let options = ServeOptions {
            shutdown_grace: Duration::from_secs(2),
            ..ServeOptions::default()
        };
        let task = tokio::spawn(blog_example::serve_with(
            listener,
            app.router,
            async move {
                let _ = stopped.await;
            },
            options,
        ));
        Server {
            base: format!("http://{addr}"),
            stop,
            task,
        }
    }

    /// Stops the server; when it returns, the router and its pools are dropped.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the server stops")
            .expect("the server task")
            .expect("the server");
    }
}

/// What the client got for one request.
#[derive(Debug, Clone)]
enum Answer {
    /// An HTTP answer: status, the error code for JSON error bodies, the body.
    Http {
        status: u16,
        code: Option<String>,
        body: String,
    },
    /// No answer at all (connection closed or reset, timed out).
    None(String),
}

impl Answer {
    fn is_success(&self) -> bool {
        matches!(self, Answer::Http { status, .. } if (200..300).contains(status))
    }

    fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            Answer::Http { status: 503, code: Some(code), .. } if code == "outcome_unknown"
        )
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Http { status, body, .. } => write!(f, "{status} {body}"),
            Answer::None(error) => write!(f, "no answer ({error})"),
        }
    }
}

/// One `POST /posts` and what it was answered.
#[derive(Debug)]
struct Posted {
    title: String,
    answer: Answer,
    /// The id in a 2xx answer.
    id: Option<i64>,
}

/// Sends `request` and reads the whole answer.
async fn exchange(request: reqwest::RequestBuilder) -> Answer {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Answer::None(error.to_string()),
    };
    let status = response.status().as_u16();
    let body = match response.text().await {
        Ok(body) => body,
        Err(error) => return Answer::None(format!("{status}, body lost: {error}")),
    };
    let code = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
    Answer::Http { status, code, body }
}

async fn post(client: &Client, base: &str, title: String, timeout: Option<Duration>) -> Posted {
    let mut request = client
        .post(format!("{base}/posts"))
        .json(&json!({"title": title, "content": format!("written under a fault: {title}")}));
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    let answer = exchange(request).await;
    let id = match &answer {
        Answer::Http {
            status: 201, body, ..
        } => serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["id"].as_i64()),
        _ => None,
    };
    Posted { title, answer, id }
}

/// What is wrong with an answer to `what`, if anything: every request is answered, and an
/// error answer is `{"error": {"code", "message"}}` with nothing of the server in it.
fn answer_problem(what: &str, answer: &Answer) -> Option<String> {
    let (status, body) = match answer {
        Answer::None(error) => return Some(format!("{what}: no answer: {error}")),
        Answer::Http { status, body, .. } => (*status, body),
    };
    if (200..300).contains(&status) {
        return None;
    }
    let json: Option<Value> = serde_json::from_str(body).ok();
    let well_formed = json.as_ref().is_some_and(|v| {
        v["error"]["code"].as_str().is_some_and(|c| !c.is_empty())
            && v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
    });
    if !well_formed {
        return Some(format!(
            "{what}: {status} without the JSON error body: {body:?}"
        ));
    }
    let lower = body.to_lowercase();
    let leaked: Vec<&str> = LEAKS
        .iter()
        .copied()
        .filter(|leak| lower.contains(leak))
        .collect();
    (!leaked.is_empty()).then(|| format!("{what}: {status} body leaks {leaked:?}: {body}"))
}

/// What one client did.
#[derive(Debug, Default)]
struct ClientReport {
    posted: Vec<Posted>,
    gets: usize,
    problems: Vec<String>,
}

/// `CLIENTS` clients, each sending `POST /posts` with unique titles and, every fourth
/// request, a `GET` (the newest posts, or the post it created last), until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<ClientReport>>,
}

impl Load {
    fn start(client: &Client, base: &str, tag: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..CLIENTS)
            .map(|c| {
                let (client, base, stop) = (client.clone(), base.to_owned(), stop.clone());
                let tag = tag.to_owned();
                tokio::spawn(async move {
                    let mut report = ClientReport::default();
                    let mut last_id = None;
                    let mut n = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        // Of every 8 requests: 6 POSTs, a GET of the newest posts and
                        // one of the post this client created last.
                        let get = match (n % 8, last_id) {
                            (3, _) | (7, None) => Some("/posts?limit=5".to_owned()),
                            (7, Some(id)) => Some(format!("/posts/{id}")),
                            _ => None,
                        };
                        if let Some(path) = get {
                            let answer = exchange(client.get(format!("{base}{path}"))).await;
                            report.gets += 1;
                            report
                                .problems
                                .extend(answer_problem(&format!("GET {path}"), &answer));
                        } else {
                            let posted = post(&client, &base, format!("{tag}-{c}-{n}"), None).await;
                            last_id = posted.id.or(last_id);
                            report.posted.push(posted);
                        }
                        // Failures come back fast: leave the other tests some CPU.
                        tokio::time::sleep(Duration::from_millis(3)).await;
                    }
                    report
                })
            })
            .collect();
        Load { stop, clients }
    }

    async fn finish(self) -> ClientReport {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = ClientReport::default();
        for client in self.clients {
            let report = client.await.expect("a client task");
            total.posted.extend(report.posted);
            total.gets += report.gets;
            total.problems.extend(report.problems);
        }
        total
    }
}

/// Once the fault is over: `POST`s until one is stored (201), for at most [`RECOVERY`].
/// Every attempt is kept, to be checked against the database like the others.
async fn recover(client: &Client, base: &str, tag: &str, attempts: &mut Vec<Posted>) -> bool {
    let start = Instant::now();
    for k in 0.. {
        let left = RECOVERY.saturating_sub(start.elapsed());
        if left.is_zero() {
            return false;
        }
        let attempt = post(client, base, format!("{tag}-recovery-{k}"), Some(left)).await;
        let stored = attempt.answer.is_success();
        attempts.push(attempt);
        if stored {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    unreachable!()
}

// ---------------------------------------------------------------------------------------
// One run: load, fault, recovery, check.

/// The rows of `posts`, by title: every id stored under it.
type Stored = HashMap<String, Vec<i64>>;

fn by_title(rows: Vec<(i64, String)>) -> Stored {
    let mut stored = Stored::new();
    for (id, title) in rows {
        stored.entry(title).or_default().push(id);
    }
    stored
}

/// Serves the blog on `url`, starts the load, runs `fault` (which induces the fault, keeps
/// it for [`FAULT`], ends it, and describes what it did), checks the recovery, stops the
/// load and the server, reads every row back with `stored` and checks each answer against
/// it. Panics with every problem found.
async fn run_under_fault<F, Fut>(
    tag: &str,
    url: &str,
    fault: F,
    stored: impl AsyncFnOnce() -> Stored,
) where
    F: FnOnce() -> Fut,
    Fut: Future<Output = String>,
{
    let server = Server::start(url).await;
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let base = server.base.clone();
    let mut problems = Vec::new();

    // Before the fault: the service works (and has its connections open).
    let mut posted = Vec::new();
    for n in 0..3 {
        let first = post(&client, &base, format!("{tag}-before-{n}"), None).await;
        assert!(
            first.answer.is_success(),
            "{tag}: the blog does not work before the fault: {}",
            first.answer
        );
        posted.push(first);
        let answer = exchange(client.get(format!("{base}/posts?limit=5"))).await;
        assert!(answer.is_success(), "{tag}: GET before the fault: {answer}");
    }

    let load = Load::start(&client, &base, tag);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fault_started = Instant::now();
    let what = fault().await;
    let fault_took = fault_started.elapsed();

    let recovered = recover(&client, &base, tag, &mut posted).await;
    if !recovered {
        let last: Vec<String> = posted
            .iter()
            .rev()
            .take(3)
            .map(|p| p.answer.to_string())
            .collect();
        problems.push(format!(
            "no POST succeeded within {RECOVERY:?} after the fault ended; last answers: {last:?}"
        ));
    }
    // The load goes on for a moment after the recovery, then every answer is in.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = load.finish().await;
    drop(client);
    server.stop().await;
    posted.extend(report.posted);
    problems.extend(report.problems);

    let stored = stored().await;
    let (mut ok, mut failed, mut unknown, mut unanswered) = (0, 0, 0, 0);
    let mut unknown_stored = 0;
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for p in &posted {
        let rows = stored.get(&p.title).map_or(&[][..], Vec::as_slice);
        let what = format!("POST {:?}", p.title);
        problems.extend(answer_problem(&what, &p.answer));
        if let Answer::Http { status, code, .. } = &p.answer {
            let key = format!("{status} {}", code.as_deref().unwrap_or(""));
            *statuses.entry(key.trim().to_owned()).or_default() += 1;
        }
        if p.answer.is_success() {
            ok += 1;
            if rows.len() != 1 || p.id.is_none() || rows[0] != p.id.unwrap_or_default() {
                problems.push(format!(
                    "LOST: {what} answered {} but the rows with its title are {rows:?}",
                    p.answer
                ));
            }
        } else if p.answer.is_outcome_unknown() {
            unknown += 1;
            unknown_stored += usize::from(rows.len() == 1);
            if rows.len() > 1 {
                problems.push(format!("{what}: stored {} times: {rows:?}", rows.len()));
            }
        } else if matches!(p.answer, Answer::None(_)) {
            // Reported above as unanswered; whether it was stored cannot be told.
            unanswered += 1;
        } else {
            failed += 1;
            if !rows.is_empty() {
                problems.push(format!(
                    "PHANTOM: {what} answered {} but stored as {rows:?}",
                    p.answer
                ));
            }
        }
    }
    // Nothing stored that no request asked for.
    let sent: std::collections::HashSet<&str> = posted.iter().map(|p| p.title.as_str()).collect();
    for (title, rows) in &stored {
        if !sent.contains(title.as_str()) {
            problems.push(format!("a row no request sent: {title:?} {rows:?}"));
        }
    }
    let mut statuses: Vec<_> = statuses.into_iter().collect();
    statuses.sort();
    let summary = format!(
        "{tag}: {what} in {fault_took:.1?}; {} POSTs: {ok} 2xx, {failed} failed, {unknown} \
         outcome unknown ({unknown_stored} of them stored), {unanswered} unanswered; {} GETs; \
         answers {statuses:?}; recovered: {recovered}",
        posted.len(),
        report.gets,
    );
    eprintln!("{summary}");
    if failed + unknown + unanswered == 0 {
        problems.push("the fault changed nothing: every POST succeeded".to_owned());
    }
    assert!(
        problems.is_empty(),
        "{summary}\n{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Helpers for the faults.

/// Runs a command that must succeed for the fault to be real (root tools: chattr, mount).
fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status();
    match status {
        Ok(status) if status.success() => {}
        other => panic!(
            "`{program} {}` failed ({other:?}): the fault tests run as root (CI does)",
            args.join(" ")
        ),
    }
}

/// A fresh directory for one test's SQLite files.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("blog-faults-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/blog.db", dir.display())
}

/// Every row of the SQLite database at `url`, read on a connection of its own.
async fn sqlite_rows(url: &str) -> Stored {
    let mut conn = sqlx::SqliteConnection::connect(url)
        .await
        .expect("read the SQLite database back");
    let rows = sqlx::query_as("SELECT id, title FROM posts")
        .fetch_all(&mut conn)
        .await
        .expect("read the posts back");
    conn.close().await.ok();
    by_title(rows)
}

/// Handles an unreachable server as the workspace's harness does: a failure in CI, else a
/// `SKIPPED:` line written straight to stderr (so it shows although output is captured).
fn unreachable_server(test: &str, server: &str, url: &str, error: sqlx::Error) {
    let ci = std::env::var("CI").ok();
    if model_tests::is_ci(ci.as_deref()) {
        panic!("{test}: {server} is unreachable at {url} and CI is set: {error}");
    }
    let line = format!(
        "SKIPPED: {test}: {server} unreachable at {url} ({error}); set CI=1 to make this a failure\n"
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, rest) = url.rsplit_once('/').expect("a database in the URL");
    match rest.split_once('?') {
        Some((_, query)) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

async fn admin_sql<C>(conn: &mut C, sql: String)
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Re-raises the panic of a test body once its clean-up is done.
fn resume(result: Result<(), tokio::task::JoinError>) {
    if let Err(error) = result {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("the test body did not finish: {error}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. SQLite: database files made immutable while serving.

/// `chattr -i` on drop: the files are writable again however the test ends.
struct Immutable(Vec<String>);

impl Immutable {
    fn set(files: Vec<String>) -> Immutable {
        let mut args = vec!["+i"];
        args.extend(files.iter().map(String::as_str));
        run("chattr", &args);
        Immutable(files)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let mut args = vec!["-i"];
        args.extend(self.0.iter().map(String::as_str));
        let _ = Command::new("chattr").args(&args).status();
    }
}

/// `blog.db` and `blog.db-wal` made immutable under the running blog (not `-shm`: SQLite
/// maps it into memory, and a write to a mapped page of an immutable file is a SIGBUS, not
/// an error), then writable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_immutable_files_lose_nothing_and_recover() {
    let dir = scratch_dir("immutable");
    let url = sqlite_url(&dir);
    let files: Vec<String> = ["blog.db", "blog.db-wal"]
        .iter()
        .map(|name| dir.join(name).display().to_string())
        .collect();
    let fault = || async move {
        for file in &files {
            assert!(Path::new(file).exists(), "{file} exists while serving");
        }
        let immutable = Immutable::set(files);
        tokio::time::sleep(FAULT).await;
        drop(immutable);
        "blog.db and blog.db-wal immutable".to_owned()
    };
    let read_url = url.clone();
    run_under_fault("immutable", &url, fault, async || {
        sqlite_rows(&read_url).await
    })
    .await;
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------
// 2. SQLite on a full file system.

/// Unmounts `dir`, waiting for the files the closed pools held to be released; lazily if
/// they never are, so that no mount is left behind.
fn unmount(dir: &Path) {
    let dir = dir.display().to_string();
    for _ in 0..30 {
        let unmounted = Command::new("umount")
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if unmounted {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    run("umount", &["-l", &dir]);
}

/// The blog's data directory is a 2 MiB tmpfs, filled up by another file while the blog
/// serves, then freed. (The WAL is never checkpointed on so small a disk: SQLite's
/// automatic checkpoint waits for 1,000 pages, 4 MiB. So the load fills the disk again by
/// itself some 90 posts after the filler is gone, and the write failures that follow are
/// checked like the others.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_full_file_system_loses_nothing_and_recovers() {
    let dir = scratch_dir("full");
    let dir_text = dir.display().to_string();
    run(
        "mount",
        &["-t", "tmpfs", "-o", "size=2m", "tmpfs", &dir_text],
    );
    let result = tokio::spawn(full_file_system(dir.clone())).await;
    unmount(&dir);
    std::fs::remove_dir_all(&dir).ok();
    resume(result);
}

async fn full_file_system(dir: PathBuf) {
    let url = sqlite_url(&dir);
    let filler = dir.join("filler");
    let fault = || async move {
        let mut written = 0usize;
        {
            let mut file = std::fs::File::create(&filler).unwrap();
            let chunk = [7u8; 4096];
            while file.write_all(&chunk).is_ok() {
                written += chunk.len();
            }
            let _ = file.sync_all();
        }
        tokio::time::sleep(FAULT).await;
        std::fs::remove_file(&filler).unwrap();
        format!("file system full ({} KiB of filler)", written / 1024)
    };
    let read_url = url.clone();
    run_under_fault("full", &url, fault, async || sqlite_rows(&read_url).await).await;
}

// ---------------------------------------------------------------------------------------
// 3. MariaDB: the blog's connections killed.

/// The blog on a MariaDB database of its own, whose connections are killed (`KILL`, from
/// an admin connection) every 25 ms while it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_killed_connections_lose_nothing_and_recover() {
    const TEST: &str = "mariadb_killed_connections_lose_nothing_and_recover";
    let admin_url = model_tests::mysql_url();
    let mut admin = match sqlx::MySqlConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(error) => return unreachable_server(TEST, "MariaDB", &admin_url, error),
    };
    let name = format!("blog_faults_{}", std::process::id());
    admin_sql(&mut admin, format!("DROP DATABASE IF EXISTS `{name}`")).await;
    admin_sql(
        &mut admin,
        format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
    )
    .await;
    let url = with_database(&admin_url, &name);
    let result = tokio::spawn(mariadb_body(admin_url.clone(), url, name.clone())).await;
    admin_sql(&mut admin, format!("DROP DATABASE IF EXISTS `{name}`")).await;
    admin.close().await.ok();
    resume(result);
}

async fn mariadb_body(admin_url: String, url: String, name: String) {
    let killer_name = name.clone();
    let fault = || async move {
        let mut admin = sqlx::MySqlConnection::connect(&admin_url).await.unwrap();
        let deadline = Instant::now() + FAULT;
        let (mut rounds, mut kills) = (0, 0);
        while Instant::now() < deadline {
            rounds += 1;
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
                 WHERE DB = ? AND ID <> CONNECTION_ID()",
            )
            .bind(&killer_name)
            .fetch_all(&mut admin)
            .await
            .expect("list the blog's connections");
            for id in ids {
                // A connection may end on its own between the list and the KILL.
                let kill = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("KILL {id}")));
                if kill.execute(&mut admin).await.is_ok() {
                    kills += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        admin.close().await.ok();
        assert!(kills > 0, "no connection of the blog was killed");
        format!("{kills} connections killed in {rounds} rounds")
    };
    let read_url = url.clone();
    run_under_fault("mariadb", &url, fault, async || {
        let mut conn = sqlx::MySqlConnection::connect(&read_url).await.unwrap();
        let rows = sqlx::query_as("SELECT id, title FROM posts")
            .fetch_all(&mut conn)
            .await
            .expect("read the posts back");
        conn.close().await.ok();
        by_title(rows)
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 4. PostgreSQL: the blog's backends terminated.

/// The blog on a PostgreSQL database of its own (other tests share the server: only
/// backends of this database are terminated), whose backends are terminated
/// (`pg_terminate_backend`) every 25 ms while it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_terminated_backends_lose_nothing_and_recover() {
    const TEST: &str = "postgres_terminated_backends_lose_nothing_and_recover";
    let admin_url = model_tests::pg_url();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(error) => return unreachable_server(TEST, "PostgreSQL", &admin_url, error),
    };
    let name = format!("blog_faults_{}", std::process::id());
    // One statement each: several in one string would run as one transaction block.
    admin_sql(
        &mut admin,
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
    admin_sql(&mut admin, format!("CREATE DATABASE \"{name}\"")).await;
    let url = with_database(&admin_url, &name);
    let result = tokio::spawn(postgres_body(admin_url.clone(), url, name.clone())).await;
    admin_sql(
        &mut admin,
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
    admin.close().await.ok();
    resume(result);
}

async fn postgres_body(admin_url: String, url: String, name: String) {
    let killer_name = name.clone();
    let fault = || async move {
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        let deadline = Instant::now() + FAULT;
        let (mut rounds, mut kills) = (0, 0);
        while Instant::now() < deadline {
            rounds += 1;
            let terminated: Vec<bool> = sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&killer_name)
            .fetch_all(&mut admin)
            .await
            .expect("terminate the blog's backends");
            kills += terminated.into_iter().filter(|t| *t).count();
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        admin.close().await.ok();
        assert!(kills > 0, "no backend of the blog was terminated");
        format!("{kills} backends terminated in {rounds} rounds")
    };
    let read_url = url.clone();
    run_under_fault("postgres", &url, fault, async || {
        let mut conn = sqlx::PgConnection::connect(&read_url).await.unwrap();
        let rows = sqlx::query_as("SELECT id, title FROM posts")
            .fetch_all(&mut conn)
            .await
            .expect("read the posts back");
        conn.close().await.ok();
        by_title(rows)
    })
    .await;
}
