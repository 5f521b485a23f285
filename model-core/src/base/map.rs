//! [`Map`]: a future's output passed through a function, without an async block.
//!
//! Why: an `async` block generic over the model is a state machine, with its drop glue,
//! compiled once per model even when all it does is await one future and convert the
//! result. The reads by key end in such a conversion (the loaded rows, erased, back to
//! `Vec<M>`); as a `Map` their per-model part is one small `poll` (issue 10).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pin_project_lite::pin_project! {
    /// The output of `future`, passed through `map`.
    pub(crate) struct Map<F, G> {
        #[pin]
        future: F,
        map: Option<G>,
    }
}

/// `future`'s output, passed through `map`.
pub(crate) fn map<F, G, T>(future: F, map: G) -> Map<F, G>
where
    F: Future,
    G: FnOnce(F::Output) -> T,
{
    Map {
        future,
        map: Some(map),
    }
}

impl<F, G, T> Future for Map<F, G>
where
    F: Future,
    G: FnOnce(F::Output) -> T,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        let output = ready!(this.future.poll(cx));
        let map = this.map.take().expect("`Map` polled after it completed");
        Poll::Ready(map(output))
    }
}
