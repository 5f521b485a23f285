//! Layer 2, the write or read under way: which model and [`Operation`] the statements now
//! being sent belong to ([`current`], read by [`crate::db::statement`]), and the `tracing`
//! spans of writes, reads and listener calls. Uses [`crate::base`].
//!
//! # Why a context set around each poll
//!
//! A statement event names its model and operation, but a statement is sent from some
//! twenty places in four layers, and through [`Conn`](crate::Conn)'s public methods:
//! passing a context down would change every one of those signatures, public ones included.
//! Instead each write and read is wrapped, where it begins, in a [`Scope`]: a `Copy` value
//! set in a thread-local for the length of each poll of its future and restored after.
//! Every statement is sent from inside such a poll, so it reads the context of the write
//! that sent it, on whichever worker thread polls it; a write a listener makes inside
//! another write's poll sets its own and gives the outer one back when its poll returns.
//! That is what `tokio::task_local!` does, without its `RefCell` and its error path: two
//! thread-local writes a poll, whether anything listens or not.

use std::cell::Cell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context as TaskContext, Poll};

use tracing::field::Empty;
use tracing::Span;

use crate::base::error::Error;
use crate::base::event::Event;

/// What model-core was doing for a model when it sent a statement: the operation of a
/// [`StatementEvent`](crate::StatementEvent), and of the `tracing` span of a write or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `insert` or `insert_all`: the `INSERT`s, and on MySQL the server settings a batch
    /// reads first.
    Insert,
    /// `update`, `update_all` or a set-based [`Select::update`](crate::Select::update): the
    /// `UPDATE`s, and the reads (a lookup after a version conflict, the rows a set-based
    /// update reads first) they need.
    Update,
    /// `delete`, `delete_all` or a set-based [`Select::delete`](crate::Select::delete).
    Delete,
    /// The children a parent's delete reads and deletes (or lets go of) through their
    /// listeners, `on_delete = "cascade" | "set_null"`; the model is the child.
    Cascade,
    /// A read of models: `find`, `get`, `all`, `page`, `refresh`,
    /// [`Select::all`](crate::Select::all), `first`, `one`, `stream`, `from_sql`, eager
    /// loading.
    Select,
    /// [`Select::count`](crate::Select::count).
    Count,
    /// [`Select::exists`](crate::Select::exists).
    Exists,
    /// SQL of your own, sent through [`Conn`](crate::Conn)'s methods (in a listener, say):
    /// the model is that of the write or read under way, if any.
    Raw,
}

impl Operation {
    /// The operation's name, as `tracing` fields show it: `"insert"`, `"select"`, ...
    pub const fn name(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Cascade => "cascade",
            Operation::Select => "select",
            Operation::Count => "count",
            Operation::Exists => "exists",
            Operation::Raw => "raw",
        }
    }

    /// Whether it changes rows: a `write` span, else a `query` span.
    pub(crate) const fn writes(self) -> bool {
        matches!(
            self,
            Operation::Insert | Operation::Update | Operation::Delete | Operation::Cascade
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The model and operation of the write or read under way on this thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    /// `None` outside any write or read.
    pub(crate) model: Option<&'static str>,
    pub(crate) operation: Operation,
}

thread_local! {
    static CURRENT: Cell<Option<Context>> = const { Cell::new(None) };
}

/// The context of the statement about to be sent: raw SQL of nobody's when no write or
/// read is under way.
pub(crate) fn current() -> Context {
    CURRENT.with(Cell::get).unwrap_or(Context {
        model: None,
        operation: Operation::Raw,
    })
}

/// Gives the thread's context back when dropped, also when a poll panics.
struct Restore(Option<Context>);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}

fn set(context: Context) -> Restore {
    Restore(CURRENT.with(|current| current.replace(Some(context))))
}

/// One write or read: its context, and its `tracing` span (`write` or `query`, target
/// `model_core`, level `info`, fields `model`, `operation`, then `rows` and `outcome`).
pub(crate) struct Scope {
    context: Context,
    span: Span,
    finished: bool,
}

impl Scope {
    /// The scope of a write or read of `model`.
    pub(crate) fn new(model: &'static str, operation: Operation) -> Scope {
        let name = operation.name();
        // Two call sites, since a span's name is part of its static metadata.
        let span = match operation.writes() {
            // See `enabled`.
            _ if !enabled(tracing::Level::INFO) => Span::none(),
            true => tracing::info_span!(
                target: "model_core",
                "write",
                model,
                operation = name,
                rows = Empty,
                outcome = Empty
            ),
            false => tracing::info_span!(
                target: "model_core",
                "query",
                model,
                operation = name,
                rows = Empty,
                outcome = Empty
            ),
        };
        Scope {
            context: Context {
                model: Some(model),
                operation,
            },
            span,
            finished: false,
        }
    }

    /// Runs `f` inside the scope: its context current, its span entered.
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let _context = set(self.context);
        if self.span.is_none() {
            // No subscriber: nothing to enter (`enabled`).
            return f();
        }
        let _span = self.span.enter();
        f()
    }

    /// The scope made current (its context set, its span entered) until the guard drops:
    /// [`Scope::enter`] without a closure, so that [`Within`]'s generic `poll` calls one
    /// function compiled once.
    fn entered(&self) -> Entered<'_> {
        let context = set(self.context);
        // No subscriber: nothing to enter (`enabled`).
        let span = (!self.span.is_none()).then(|| self.span.enter());
        Entered {
            _span: span,
            _context: context,
        }
    }

    /// Records how the write or read ended: `rows` read or written, if known, and
    /// `outcome` `ok` or `error` (never the error itself: a database's message may quote a
    /// value).
    ///
    /// Only the first call counts: a stream asked again after its end stays as it ended.
    pub(crate) fn finish(&mut self, rows: Option<usize>, ok: bool) {
        if std::mem::replace(&mut self.finished, true) || self.span.is_disabled() {
            return;
        }
        if let Some(rows) = rows {
            self.span.record("rows", rows);
        }
        self.span.record("outcome", if ok { "ok" } else { "error" });
    }
}

impl Drop for Scope {
    /// A write or read that never finished was dropped (a timeout, a client gone) or
    /// panicked.
    fn drop(&mut self) {
        if !self.finished && !self.span.is_disabled() {
            let outcome = match std::thread::panicking() {
                true => "panicked",
                false => "cancelled",
            };
            self.span.record("outcome", outcome);
        }
    }
}

/// A [`Scope`] current: the span is exited before the context is given back, as
/// [`Scope::enter`] does (fields drop in order).
struct Entered<'a> {
    _span: Option<tracing::span::Entered<'a>>,
    _context: Restore,
}

/// Runs the write or read `future` of `model` inside its [`Scope`]; `rows` says how many
/// rows a success read or wrote, if that is known.
///
/// A hand-written future rather than an `async fn`: it is instantiated for every read's
/// future, once per model, and an async function's state machine, with its drop glue and
/// the `poll_fn` it awaited, was some 400 lines of LLVM IR a model against this `poll`'s
/// few dozen (issue 28). The scope is made at the first poll, as the `async fn` made it.
pub(crate) fn within<T, F, R>(
    model: &'static str,
    operation: Operation,
    rows: R,
    future: F,
) -> Within<F, R>
where
    F: Future<Output = Result<T, Error>>,
    R: FnOnce(&T) -> Option<usize>,
{
    Within {
        future,
        model,
        operation,
        scope: None,
        rows: Some(rows),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`within`].
    pub(crate) struct Within<F, R> {
        #[pin]
        future: F,
        model: &'static str,
        operation: Operation,
        scope: Option<Scope>,
        rows: Option<R>,
    }
}

impl<T, F, R> Future for Within<F, R>
where
    F: Future<Output = Result<T, Error>>,
    R: FnOnce(&T) -> Option<usize>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Result<T, Error>> {
        let this = self.project();
        let scope = scope_of(this.scope, this.model, *this.operation);
        let polled = {
            let _entered = scope.entered();
            this.future.poll(cx)
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        let rows = match (&result, this.rows.take()) {
            (Ok(value), Some(rows)) => rows(value),
            _ => None,
        };
        scope.finish(rows, result.is_ok());
        Poll::Ready(result)
    }
}

/// The scope of a [`Within`], made at its first poll (not generic: compiled once).
fn scope_of<'s>(
    slot: &'s mut Option<Scope>,
    model: &'static str,
    operation: Operation,
) -> &'s mut Scope {
    slot.get_or_insert_with(|| Scope::new(model, operation))
}

/// Runs `future`, SQL of the caller's own sent through [`Conn`](crate::Conn), as
/// [`Operation::Raw`] of the write or read under way, if any.
pub(crate) async fn raw<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        let _context = set(Context {
            operation: Operation::Raw,
            ..current()
        });
        future.as_mut().poll(cx)
    })
    .await
}

/// The span of one listener call (`listener`, target `model_core::listener`, level
/// `debug`): inside the span of the write or read that called it, around the statements
/// and writes of its own.
pub(crate) fn listener_span(model: &'static str, event: Event, listener: &'static str) -> Span {
    if !enabled(tracing::Level::DEBUG) {
        return Span::none();
    }
    tracing::debug_span!(
        target: "model_core::listener",
        "listener",
        model,
        event = event.name(),
        listener
    )
}

/// Whether any subscriber may want spans of `level`: one relaxed load when none is set.
///
/// Checked before a span is made, because sqlx turns on `tracing`'s `log` feature: until a
/// subscriber is set, a span that the macros make disabled still carries its metadata, and
/// making, entering and leaving it each ask the `log` crate whether it wants a record of
/// it, hundreds of instructions a write. `Span::none()` carries nothing and asks nothing.
#[inline]
fn enabled(level: tracing::Level) -> bool {
    tracing::level_enabled!(level)
}
