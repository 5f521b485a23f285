//! Listener events and the traits that let one expansion call any listener shape.
//!
//! The derive cannot see a listener's signature, only its path. It calls every listener
//! through [`MutListener`] or [`RefListener`]; which of their implementations applies (plain,
//! fallible or async) is chosen by the compiler from the function's type, as axum does for
//! handlers. The third type parameter is a marker that keeps those implementations apart.

use crate::base::error::BoxError;
use crate::db::backend::Backend;
use crate::db::conn::Conn;
use crate::db::session::Session;
use std::future::{ready, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

pub use crate::base::event::{Event, ListenerInfo};

/// A function that can listen to an event that hands out the model mutably
/// (`before_insert`, `before_update`, `load`).
///
/// Implemented for these shapes, where `E: Into<Box<dyn Error + Send + Sync>>`:
/// - `fn(&mut M)`
/// - `fn(&mut M) -> Result<(), E>`
/// - `async fn(&mut M, &mut Conn<DB>) -> Result<(), E>`, generic over `DB: Backend`.
///
/// A model is not tied to a backend: the derive calls its listeners for whichever backend a
/// write runs on, so an async listener is generic over `DB`, and one written for a single
/// concrete backend (`&mut Conn<Postgres>`) is refused. For SQL that differs per backend,
/// branch on `DB::DIALECT`; for the driver's own API, [`Conn::downcast_mut`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a listener for this event of `{M}`",
    label = "expected `fn(&mut {M})`, `fn(&mut {M}) -> Result<(), E>` or `async fn(&mut {M}, &mut Conn<DB>) -> Result<(), E>`",
    note = "before_insert, before_update and load listeners get the model as `&mut {M}` so that they can change it",
    note = "an async listener also takes the connection: `async fn(&mut {M}, &mut model_core::Conn<DB>)` with `DB: model_core::Backend`",
    note = "an async listener of the right shape is refused when its future is not `Send`: it holds a value that is not `Send` (an `Rc`, a `std::sync::MutexGuard`) across an `.await`"
)]
pub trait MutListener<M, DB: Backend, Marker> {
    /// Calls the listener.
    fn call<'a>(
        &'a self,
        model: &'a mut M,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a;
}

/// A function that can listen to an event that hands out the model immutably
/// (`after_insert`, `after_update`, `before_delete`, `after_delete`).
///
/// Implemented for these shapes, where `E: Into<Box<dyn Error + Send + Sync>>`:
/// - `fn(&M)`
/// - `fn(&M) -> Result<(), E>`
/// - `async fn(&M, &mut Conn<DB>) -> Result<(), E>`
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a listener for this event of `{M}`",
    label = "expected `fn(&{M})`, `fn(&{M}) -> Result<(), E>` or `async fn(&{M}, &mut Conn<DB>) -> Result<(), E>`",
    note = "after_* and before_delete listeners get the model as `&{M}`: a change made there would never be written",
    note = "an async listener also takes the connection: `async fn(&{M}, &mut model_core::Conn<DB>)` with `DB: model_core::Backend`",
    note = "an async listener of the right shape is refused when its future is not `Send`: it holds a value that is not `Send` (an `Rc`, a `std::sync::MutexGuard`) across an `.await`"
)]
pub trait RefListener<M, DB: Backend, Marker> {
    /// Calls the listener.
    fn call<'a>(
        &'a self,
        model: &'a M,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a;
}

/// Markers that keep the listener implementations apart; never named by users.
#[doc(hidden)]
pub mod marker {
    use std::marker::PhantomData;

    /// `fn(&mut M)` / `fn(&M)`.
    pub struct Plain;
    /// `fn(..) -> Result<(), E>`.
    pub struct Fallible<E>(PhantomData<E>);
    /// `async fn(.., &mut Conn<DB>) -> Result<(), E>`.
    pub struct Async;
}

/// Why a listener call failed.
#[doc(hidden)]
pub enum Failure {
    /// The listener returned an error.
    Listener(BoxError),
    /// The transaction the listener needed could not be begun.
    Begin(sqlx::Error),
}

impl Failure {
    /// The error of a write whose listener of `event` (named `listener`) failed.
    pub(crate) fn into_error<M: crate::listen::record::Record>(
        self,
        event: Event,
        listener: &'static str,
    ) -> crate::base::error::Error {
        use crate::base::error::Error;
        match self {
            Failure::Listener(source) => Error::Listener {
                model: M::__TABLE.model,
                event,
                listener,
                source,
            },
            Failure::Begin(source) => Error::from_sqlx(M::__TABLE.model, source),
        }
    }
}

/// What an async listener returns: `Result<(), E>` with `E: Into<BoxError>`.
///
/// A trait rather than `Out = Result<(), E>` in the listener bound: with the error type
/// inferred inside a higher-ranked bound, rustc rejects `Box<dyn Error + Send + Sync>` as
/// "one type is more general than the other".
#[doc(hidden)]
pub trait ListenerResult {
    fn into_listener_result(self) -> Result<(), BoxError>;
}

impl<E: Into<BoxError>> ListenerResult for Result<(), E> {
    fn into_listener_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// Names the future of an async listener for every borrow lifetime, which `Fn` bounds alone
/// cannot express on stable Rust while also requiring the future to be `Send`.
#[doc(hidden)]
pub trait AsyncMutFn<'a, M: 'a, DB: Backend>: Fn(&'a mut M, &'a mut Conn<DB>) -> Self::Fut {
    type Fut: Future<Output = Self::Out> + Send + 'a;
    type Out;
}

impl<'a, M: 'a, DB: Backend, F, Fut> AsyncMutFn<'a, M, DB> for F
where
    F: Fn(&'a mut M, &'a mut Conn<DB>) -> Fut,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

#[doc(hidden)]
pub trait AsyncRefFn<'a, M: 'a, DB: Backend>: Fn(&'a M, &'a mut Conn<DB>) -> Self::Fut {
    type Fut: Future<Output = Self::Out> + Send + 'a;
    type Out;
}

impl<'a, M: 'a, DB: Backend, F, Fut> AsyncRefFn<'a, M, DB> for F
where
    F: Fn(&'a M, &'a mut Conn<DB>) -> Fut,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

/// The future of a listener that returns nothing, once it has run: zero-sized (`ready`'s
/// holds its `Result`), so the box its call is put in (`registry::Pending`) allocates
/// nothing.
struct Ran;

impl Future for Ran {
    type Output = Result<(), Failure>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        Poll::Ready(Ok(()))
    }
}

/// Implements one of the listener traits for the three shapes. `mut` makes the model
/// argument `&mut M`; without it, `&M`.
macro_rules! listener_impls {
    ($trait:ident, $async_fn:ident $(, $mut:ident)?) => {
        impl<M: Send + Sync, DB: Backend, F> $trait<M, DB, marker::Plain> for F
        where
            F: Fn(& $($mut)? M) + Sync,
        {
            fn call<'a>(
                &'a self,
                model: &'a $($mut)? M,
                _session: &'a mut Session<'_, DB>,
            ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
                self(model);
                Ran
            }
        }

        impl<M: Send + Sync, DB: Backend, F, E> $trait<M, DB, marker::Fallible<E>> for F
        where
            F: Fn(& $($mut)? M) -> Result<(), E> + Sync,
            E: Into<BoxError>,
        {
            fn call<'a>(
                &'a self,
                model: &'a $($mut)? M,
                _session: &'a mut Session<'_, DB>,
            ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
                ready(self(model).map_err(|e| Failure::Listener(e.into())))
            }
        }

        impl<M: Send + Sync, DB: Backend, F> $trait<M, DB, marker::Async> for F
        where
            F: for<'a> $async_fn<'a, M, DB> + Sync,
            for<'a> <F as $async_fn<'a, M, DB>>::Out: ListenerResult,
        {
            fn call<'a>(
                &'a self,
                model: &'a $($mut)? M,
                session: &'a mut Session<'_, DB>,
            ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
                async move {
                    // The listener may run SQL: it gets the connection inside the write's
                    // transaction, begun now if it was not yet.
                    session.begin().await.map_err(Failure::Begin)?;
                    self(model, session.conn())
                        .await
                        .into_listener_result()
                        .map_err(Failure::Listener)
                }
            }
        }
    };
}

listener_impls!(MutListener, AsyncMutFn, mut);
listener_impls!(RefListener, AsyncRefFn);

/// A function that can listen to an `after_*_commit` or `after_rollback` event. The
/// transaction is over, committed or rolled back: the listener gets `&M`, no connection,
/// and cannot fail (there is nothing left to veto).
///
/// Implemented for `fn(&M)` and `async fn(&M)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an after-commit listener of `{M}`",
    label = "expected `fn(&{M})` or `async fn(&{M})`",
    note = "after_*_commit and after_rollback listeners run once the transaction has ended: there is no transaction to use and nothing to veto, so they take no connection and return nothing"
)]
pub trait CommitListener<M, Marker>: Send + Sync + 'static {
    /// Calls the listener.
    fn call<'a>(&'a self, model: &'a M) -> impl Future<Output = ()> + Send + 'a;
}

#[doc(hidden)]
pub trait AsyncCommitFn<'a, M: 'a>: Fn(&'a M) -> Self::Fut {
    type Fut: Future<Output = Self::Out> + Send + 'a;
    type Out;
}

impl<'a, M: 'a, F, Fut> AsyncCommitFn<'a, M> for F
where
    F: Fn(&'a M) -> Fut,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

impl<M: Send + Sync, F> CommitListener<M, marker::Plain> for F
where
    F: Fn(&M) + Send + Sync + 'static,
{
    fn call<'a>(&'a self, model: &'a M) -> impl Future<Output = ()> + Send + 'a {
        self(model);
        ready(())
    }
}

impl<M: Send + Sync, F> CommitListener<M, marker::Async> for F
where
    F: for<'a> AsyncCommitFn<'a, M, Out = ()> + Send + Sync + 'static,
{
    fn call<'a>(&'a self, model: &'a M) -> impl Future<Output = ()> + Send + 'a {
        self(model)
    }
}
