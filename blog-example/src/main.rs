//! `cargo run --release -p blog-example`: the blog on SQLite at 127.0.0.1:5000
//! (`-- --help` for the flags: `--database-url`, or `DATABASE_URL`, `--bind` and
//! `--group-commit`).

use std::process::ExitCode;

use blog_example::logging::{complain, say, LossyStdout};
use blog_example::routes::AppOptions;
use blog_example::{open_with, serve, Config};
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // `--help` and `--version` print and exit 0; a bad flag prints clap's usage error and
    // exits 2.
    let config = match Config::try_parse() {
        Ok(config) => config,
        Err(error) => error.exit(),
    };
    // Logging never takes a request down: see `blog_example::logging`.
    tracing_subscriber::fmt()
        .with_writer(LossyStdout)
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let options = AppOptions {
        group_commit: config.group_commit,
        ..AppOptions::default()
    };
    let app = match open_with(&config.database_url, options).await {
        Ok(app) => app,
        Err(error) => {
            complain(format_args!("error: cannot open the database: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(&config.bind).await {
        Ok(listener) => listener,
        Err(error) => {
            complain(format_args!(
                "error: cannot listen on {}: {error}",
                config.bind
            ));
            return ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(config.bind);
    say(format_args!(
        "blog-example listening on http://{addr}  (try: curl http://{addr}/add_post)"
    ));
    say(format_args!("data: {}", app.data));
    if let Err(error) = serve(listener, app.router, shutdown_signal()).await {
        complain(format_args!("error: {error}"));
        return ExitCode::FAILURE;
    }
    say(format_args!("blog-example stopped"));
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM; the server then finishes the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
