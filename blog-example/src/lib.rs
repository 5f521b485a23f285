//! The Flask-SQLAlchemy tutorial blog as a Rust web service: a `Post` model whose
//! `created_at` comes from a `before_insert` listener, `GET /add_post` as in the tutorial,
//! and a small JSON API around the same model. See the README for how to run it.

pub mod db;
pub mod error;
pub mod group_commit;
pub mod logging;
pub mod model;
pub mod post_writer;
pub mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use post_writer::GroupCommitMode;
use routes::AppOptions;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Where the server listens and what it stores into: the command line, parsed by clap.
///
/// `--database-url URL` falls back to the `DATABASE_URL` environment variable, then to
/// [`DEFAULT_DATABASE_URL`]; `--bind ADDR` defaults to [`DEFAULT_BIND`]. `Config::try_parse()`
/// reads the process's arguments and environment; an `Err` is clap's usage error (exit code
/// 2), or the `--help` / `--version` text (exit code 0), to end with `error.exit()`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(
    name = "blog-example",
    version,
    about = "The Flask-SQLAlchemy tutorial blog as an axum service on model-core.",
    long_about = None
)]
pub struct Config {
    /// `sqlite://blog.db` (default), `postgres://...` or `mysql://...`.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL",
        default_value = DEFAULT_DATABASE_URL,
        help = "The database: sqlite://FILE, postgres://... or mysql://..."
    )]
    pub database_url: String,
    /// Default `127.0.0.1:5000`, like Flask's development server.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = DEFAULT_BIND,
        help = "The address to listen on"
    )]
    pub bind: String,
    /// Default `on` (see `post_writer::GroupCommitMode`).
    #[arg(
        long,
        value_name = "ON_OFF",
        value_enum,
        default_value_t = GroupCommitMode::On,
        help = "Write the new posts of concurrent requests in one transaction"
    )]
    pub group_commit: GroupCommitMode,
}

/// The SQLite file the tutorial uses, in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://blog.db";
/// Flask's development server address.
pub const DEFAULT_BIND: &str = "127.0.0.1:5000";

/// A database ready to serve: connected, migrated, wrapped in the router.
pub struct App {
    /// The router with its state.
    pub router: Router,
    /// What to tell the user about where the data is.
    pub data: String,
}

/// Connects to `database_url`, runs the migrations and builds the app with the default
/// [`AppOptions`].
pub async fn open(database_url: &str) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
    open_with(database_url, AppOptions::default()).await
}

/// Connects to `database_url`, runs the migrations and builds the app served as `options`
/// say.
pub async fn open_with(
    database_url: &str,
    options: AppOptions,
) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
    let scheme = database_url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => {
            let pools = db::connect_sqlite(database_url).await?;
            db::migrate(&pools.write).await?;
            let data = match database_url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//")
            {
                "" | ":memory:" => "an in-memory SQLite database".to_owned(),
                path => {
                    let path = path.split('?').next().unwrap_or(path);
                    let shown = std::path::absolute(path).unwrap_or_else(|_| path.into());
                    format!("SQLite database {}", shown.display())
                }
            };
            Ok(App {
                router: routes::app_with(pools, options),
                data,
            })
        }
        "postgres" | "postgresql" => {
            let pools = db::connect_postgres(database_url).await?;
            db::migrate(&pools.write).await?;
            Ok(App {
                router: routes::app_with(pools, options),
                data: format!("PostgreSQL at {}", redact(database_url)),
            })
        }
        "mysql" | "mariadb" => {
            let pools = db::connect_mysql(database_url).await?;
            db::migrate(&pools.write).await?;
            Ok(App {
                router: routes::app_with(pools, options),
                data: format!("MySQL at {}", redact(database_url)),
            })
        }
        _ => Err(format!(
            "unsupported database URL `{}`: use sqlite://, postgres:// or mysql://",
            redact(database_url)
        )
        .into()),
    }
}

/// The URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let credentials = &url[start + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// How long a client may take to send a request head (request line and headers) before
/// its connection is closed without an answer. It also bounds how long an idle keep-alive
/// connection stays open, since hyper waits for the next head the same way.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a shutdown waits for open connections to finish before closing them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How the server treats slow clients and how long it waits when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// A connection that has not sent a complete request head within this time is closed:
    /// a client that sends half a head and then nothing would otherwise hold a connection
    /// (and a shutdown) forever. Default [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// After the shutdown signal, requests in flight get this long to finish; connections
    /// still open then are closed. Default [`SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: HEADER_READ_TIMEOUT,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

/// Serves `router` on `listener` with the default [`ServeOptions`] until `shutdown`
/// completes, then finishes the requests in flight (for at most [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, ServeOptions::default()).await
}

/// Serves `router` on `listener` over HTTP/1.1 until `shutdown` completes. Then it stops
/// accepting, lets every connection finish the request it is serving (idle ones close at
/// once), and after `options.shutdown_grace` closes whatever is still open.
///
/// Dropping the returned future closes every connection at once.
pub async fn serve_with(
    mut listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    // hyper's builder rather than `axum::serve`, which cannot set a header read timeout
    // (hyper only applies one when given a timer).
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let (stop_tx, stop_rx) = watch::channel(false);
    // The connection tasks are owned here, not detached, so that a shutdown past its grace
    // period can abort them, which closes their sockets.
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            // axum's `Listener` impl retries failed accepts (and backs off on EMFILE), as
            // `axum::serve` does.
            (stream, _) = axum::serve::Listener::accept(&mut listener) => {
                let connection = builder.serve_connection(
                    TokioIo::new(stream),
                    TowerToHyperService::new(router.clone()),
                );
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    let mut connection = pin!(connection);
                    // Also done if `stop_tx` is gone: then the set, and this task, are too.
                    let stopped = async {
                        let _ = stop.wait_for(|stop| *stop).await;
                    };
                    let result = tokio::select! {
                        result = connection.as_mut() => result,
                        // Finishes the request in progress, if any, then closes.
                        () = stopped => {
                            connection.as_mut().graceful_shutdown();
                            connection.await
                        }
                    };
                    if let Err(error) = result {
                        // Clients that vanish or time out are routine: a debug line.
                        tracing::debug!("connection closed: {error}");
                    }
                });
            }
            // Reaps finished connections, so the set does not grow with every client.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Closing the listener makes new clients fail fast instead of queueing in the backlog.
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "closing {} connection(s) still open {} s after the shutdown signal",
            connections.len(),
            options.shutdown_grace.as_secs_f32()
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Starts the app in the background at `127.0.0.1:0` with the default [`ServeOptions`],
/// for tests: returns the address it listens on.
pub async fn spawn(router: Router) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, router, std::future::pending()));
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `args` (without the program name) as `main` does, but with `DATABASE_URL`
    /// taken from `env` instead of the process's environment.
    fn parse(args: &[&str], env: Option<&'static str>) -> Result<Config, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let command = Config::command().mut_arg("database_url", |arg| match env {
            // What clap does with a variable that is set: a value that the flag overrides.
            Some(url) => arg.env(None).default_value(url),
            None => arg.env(None),
        });
        let args = std::iter::once("blog-example").chain(args.iter().copied());
        Config::from_arg_matches(&command.try_get_matches_from(args)?)
    }

    #[test]
    fn flags_and_env_select_database_and_address() {
        let config = parse(&[], None).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.bind, DEFAULT_BIND);
        let config = parse(&["--bind", "0.0.0.0:8080"], Some("postgres://x")).unwrap();
        assert_eq!(
            (config.database_url.as_str(), config.bind.as_str()),
            ("postgres://x", "0.0.0.0:8080")
        );
        let config = parse(&["--database-url=mysql://y"], Some("postgres://x")).unwrap();
        assert_eq!(config.database_url, "mysql://y");
        let config = parse(&["--database-url", "mysql://z"], None).unwrap();
        assert_eq!(config.database_url, "mysql://z");
        assert_eq!(config.group_commit, GroupCommitMode::On);
        let config = parse(&["--group-commit", "off"], None).unwrap();
        assert_eq!(config.group_commit, GroupCommitMode::Off);
    }

    #[test]
    fn bad_flags_are_usage_errors_and_help_is_not() {
        use clap::error::ErrorKind;
        use clap::CommandFactory;
        let error = parse(&["--bind"], None).unwrap_err();
        assert_eq!(
            (error.kind(), error.exit_code()),
            (ErrorKind::InvalidValue, 2)
        );
        let error = parse(&["--group-commit", "sometimes"], None).unwrap_err();
        assert_eq!(
            (error.kind(), error.exit_code()),
            (ErrorKind::InvalidValue, 2)
        );
        let error = parse(&["--nope"], None).unwrap_err();
        assert_eq!(
            (error.kind(), error.exit_code()),
            (ErrorKind::UnknownArgument, 2)
        );

        // The real command: `DATABASE_URL` is its fallback, and its value (which may hold
        // a password) is never printed.
        let command = Config::command();
        let url = command
            .get_arguments()
            .find(|arg| arg.get_id() == "database_url")
            .unwrap();
        assert_eq!(url.get_env(), Some(std::ffi::OsStr::new("DATABASE_URL")));
        let help = command
            .try_get_matches_from(["blog-example", "--help"])
            .unwrap_err();
        assert_eq!((help.kind(), help.exit_code()), (ErrorKind::DisplayHelp, 0));
        let text = help.render().to_string();
        for expected in [
            "--database-url <URL>",
            "[env: DATABASE_URL]",
            "[default: sqlite://blog.db]",
            "--bind <ADDR>",
            "[default: 127.0.0.1:5000]",
            "--group-commit <ON_OFF>",
            "- off: One insert per request",
            "[default: on]",
        ] {
            assert!(
                text.contains(expected),
                "{expected} is not in the help:\n{text}"
            );
        }
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact("postgres://u:secret@host/db"),
            "postgres://u:***@host/db"
        );
        assert_eq!(
            redact("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
    }
}
