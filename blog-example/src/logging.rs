//! Output that never fails a request: the log and the start-up lines go to standard output,
//! which may be a full disk, a closed pipe or a broken terminal.
//!
//! tracing-subscriber's fmt layer reports a failed write with `eprintln!`, and `println!`
//! and `eprintln!` panic when the write fails: with both streams on a full disk every
//! request's log line would panic and take the request down with it. A log line is worth
//! less than an answer, so a failed write here is dropped.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Standard output for tracing-subscriber, ignoring write errors: a line that cannot be
/// written is lost instead of failing (or panicking) the request that logged it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LossyStdout;

impl Write for LossyStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // `write_all` under one lock keeps a log line whole among concurrent requests.
        let _ = io::stdout().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stdout().flush();
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LossyStdout {
    type Writer = LossyStdout;

    fn make_writer(&'a self) -> Self::Writer {
        LossyStdout
    }
}

/// Prints `text` and a newline to standard output, like `println!` but without panicking
/// when the write fails.
pub fn say(text: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stdout().lock(), "{text}");
}

/// Prints `text` and a newline to standard error, like `eprintln!` but without panicking
/// when the write fails.
pub fn complain(text: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}
