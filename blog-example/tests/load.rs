//! Sustained load on the blog, as it runs in production: `blog_example::open` with its own
//! pool settings, 64 clients on 64 connections writing posts through `GET /add_post` for
//! 30 s, on SQLite (a fresh file) and PostgreSQL (a fresh database).
//!
//! Holds: no 5xx, no dropped or failed connection, and exactly as many rows as `200`
//! answers (clients stop sending at the deadline and wait for every answer, so nothing is
//! in flight when rows are counted). Prints requests/s and latency percentiles for
//! BENCHMARKS.md.
//!
//! Ignored in the plain test run (it takes a minute); `.ci/run` runs it in release:
//! `cargo test --release -p blog-example --test load -- --ignored --nocapture --test-threads=1`.
//! `LOAD_SECONDS` and `LOAD_CONNECTIONS` change the duration and the concurrency.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use sqlx::Connection as _;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

#[derive(Default)]
struct Report {
    ok: u64,
    server_errors: u64,
    other_status: u64,
    failed: u64,
    latencies: Vec<Duration>,
}

/// Runs `connections` clients, each on its own connection, until `duration` has passed;
/// each finishes the request it has in flight.
async fn load(base: &str, connections: u64, duration: Duration) -> (Report, Duration) {
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let url = format!("{base}/add_post");
            tokio::spawn(async move {
                // One client per worker: its own keep-alive connection, as wrk's.
                let client = Client::builder()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut report = Report::default();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match client.get(&url).send().await {
                        Ok(response) => {
                            let status = response.status();
                            let body = response.bytes().await;
                            report.latencies.push(sent.elapsed());
                            match (status, body) {
                                (StatusCode::OK, Ok(body)) => {
                                    assert_eq!(&body[..], b"Post added successfully!");
                                    report.ok += 1;
                                }
                                (_, Err(_)) => report.failed += 1,
                                (status, _) if status.is_server_error() => {
                                    report.server_errors += 1;
                                }
                                _ => report.other_status += 1,
                            }
                        }
                        Err(_) => report.failed += 1,
                    }
                }
                report
            })
        })
        .collect();
    let mut total = Report::default();
    for worker in workers {
        let report = worker.await.unwrap();
        total.ok += report.ok;
        total.server_errors += report.server_errors;
        total.other_status += report.other_status;
        total.failed += report.failed;
        total.latencies.extend(report.latencies);
    }
    (total, start.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Serves the blog on `url` under load, then returns the report and the row count.
async fn run(name: &str, url: &str, count_rows: impl AsyncFnOnce() -> i64) {
    let connections = setting("LOAD_CONNECTIONS", 64);
    let seconds = setting("LOAD_SECONDS", 30);
    let app = blog_example::open(url).await.expect("open the blog");
    let addr = blog_example::spawn(app.router).await.expect("serve");
    let (mut report, elapsed) = load(
        &format!("http://{addr}"),
        connections,
        Duration::from_secs(seconds),
    )
    .await;
    let rows = count_rows().await;

    report.latencies.sort_unstable();
    let requests = report.latencies.len() as f64;
    println!(
        "{name}: {connections} connections, {:.1} s: {} answers, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         200: {}, 5xx: {}, other: {}, failed: {}; rows: {rows}",
        elapsed.as_secs_f64(),
        report.latencies.len(),
        requests / elapsed.as_secs_f64(),
        percentile(&report.latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&report.latencies, 0.99).as_secs_f64() * 1e3,
        report.latencies.last().unwrap().as_secs_f64() * 1e3,
        report.ok,
        report.server_errors,
        report.other_status,
        report.failed,
    );
    assert!(report.ok > 0, "{name}: no request succeeded");
    assert_eq!(report.server_errors, 0, "{name}: 5xx answers");
    assert_eq!(report.failed, 0, "{name}: dropped or failed connections");
    assert_eq!(report.other_status, 0, "{name}: unexpected statuses");
    assert_eq!(
        rows as u64, report.ok,
        "{name}: every 200 is exactly one row, and nothing else was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "30 s of load; .ci/run runs it in release"]
async fn sqlite_sustains_64_writers_with_nothing_lost() {
    let dir = std::env::temp_dir().join(format!("blog-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("blog.db");
    let url = format!("sqlite://{}", path.display());
    run("SQLite", &url, async || {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM posts")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    })
    .await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "30 s of load; .ci/run runs it in release"]
async fn postgres_sustains_64_writers_with_nothing_lost() {
    // A database of its own: the blog migrates its `posts` table into it.
    let admin_url = model_tests::pg_url();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(error) if std::env::var_os("CI").is_none() => {
            println!("SKIPPED: PostgreSQL at {admin_url} is unreachable ({error}); CI fails here");
            return;
        }
        Err(error) => panic!("PostgreSQL at {admin_url} is unreachable: {error}"),
    };
    let name = format!("blog_load_{}", std::process::id());
    // One statement each: several in one string would run as one transaction block.
    for statement in [
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{name}\""),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let base = admin_url.rsplit_once('/').expect("a database in PG_URL").0;
    let url = format!("{base}/{name}");
    run("PostgreSQL", &url, async || {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM posts")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    })
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "30 s of load; .ci/run runs it in release"]
async fn mariadb_sustains_64_writers_with_nothing_lost() {
    // A database of its own: the blog migrates its `posts` table into it.
    let admin_url = model_tests::mysql_url();
    let mut admin = match sqlx::MySqlConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(error) if std::env::var_os("CI").is_none() => {
            println!("SKIPPED: MariaDB at {admin_url} is unreachable ({error}); CI fails here");
            return;
        }
        Err(error) => panic!("MariaDB at {admin_url} is unreachable: {error}"),
    };
    let name = format!("blog_load_{}", std::process::id());
    for statement in [
        format!("DROP DATABASE IF EXISTS `{name}`"),
        format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let base = admin_url
        .rsplit_once('/')
        .expect("a database in MYSQL_URL")
        .0;
    let url = format!("{base}/{name}");
    run("MariaDB", &url, async || {
        let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM posts")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    })
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE `{name}`")))
        .execute(&mut admin)
        .await
        .unwrap();
}
