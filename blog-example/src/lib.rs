//! The Flask-SQLAlchemy tutorial blog as a Rust web service: a `Post` model whose
//! `created_at` comes from a `before_insert` listener, `GET /add_post` as in the tutorial,
//! and a small JSON API around the same model. See the README for how to run it.

pub mod db;
pub mod error;
pub mod model;
pub mod routes;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Where the server listens and what it stores into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `sqlite://blog.db` (default), `postgres://...` or `mysql://...`.
    pub database_url: String,
    /// Default `127.0.0.1:5000`, like Flask's development server.
    pub bind: String,
}

/// The SQLite file the tutorial uses, in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://blog.db";
/// Flask's development server address.
pub const DEFAULT_BIND: &str = "127.0.0.1:5000";

const USAGE: &str = "usage: blog-example [--database-url URL] [--bind ADDR]
  --database-url URL  sqlite://blog.db (default), postgres://... or mysql://...
                      (also read from DATABASE_URL)
  --bind ADDR         address to listen on (default 127.0.0.1:5000)";

impl Config {
    /// Reads the command line (without the program name) and `DATABASE_URL`. `Err` is the
    /// text to print: usage or what was wrong.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
        env_database_url: Option<String>,
    ) -> Result<Config, String> {
        let mut config = Config {
            database_url: env_database_url.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            bind: DEFAULT_BIND.to_owned(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            let target = match flag.as_str() {
                "--database-url" => &mut config.database_url,
                "--bind" => &mut config.bind,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                _ => return Err(format!("unknown argument `{arg}`\n{USAGE}")),
            };
            *target = match inline.or_else(|| args.next()) {
                Some(value) => value,
                None => return Err(format!("`{flag}` needs a value\n{USAGE}")),
            };
        }
        Ok(config)
    }
}

/// A database ready to serve: connected, migrated, wrapped in the router.
pub struct App {
    /// The router with its state.
    pub router: Router,
    /// What to tell the user about where the data is.
    pub data: String,
}

/// Connects to `database_url`, runs the migrations and builds the app.
pub async fn open(database_url: &str) -> Result<App, Box<dyn std::error::Error + Send + Sync>> {
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
                router: routes::app(pools),
                data,
            })
        }
        "postgres" | "postgresql" => {
            let pools = db::connect_postgres(database_url).await?;
            db::migrate(&pools.write).await?;
            Ok(App {
                router: routes::app(pools),
                data: format!("PostgreSQL at {}", redact(database_url)),
            })
        }
        "mysql" | "mariadb" => {
            let pools = db::connect_mysql(database_url).await?;
            db::migrate(&pools.write).await?;
            Ok(App {
                router: routes::app(pools),
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

/// Serves `router` on `listener` until `shutdown` completes, then finishes the requests
/// in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Starts the app on `database_url` at `127.0.0.1:0` in the background, for tests: returns
/// the address it listens on.
pub async fn spawn(router: Router) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, router, std::future::pending()));
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_env_select_database_and_address() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let config = Config::from_args(args(&[]), None).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.bind, DEFAULT_BIND);
        let config = Config::from_args(
            args(&["--bind", "0.0.0.0:8080"]),
            Some("postgres://x".into()),
        )
        .unwrap();
        assert_eq!(
            (config.database_url.as_str(), config.bind.as_str()),
            ("postgres://x", "0.0.0.0:8080")
        );
        let config = Config::from_args(
            args(&["--database-url=mysql://y"]),
            Some("postgres://x".into()),
        )
        .unwrap();
        assert_eq!(config.database_url, "mysql://y");
        assert!(Config::from_args(args(&["--bind"]), None)
            .unwrap_err()
            .contains("needs a value"));
        assert!(Config::from_args(args(&["--nope"]), None)
            .unwrap_err()
            .contains("unknown argument"));
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
