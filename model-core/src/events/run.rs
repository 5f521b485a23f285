//! Runs what [`crate::events::registry`] and [`crate::events::runtime`] hold for a model,
//! after its struct-side listeners: the model's `__run_mut`, `__run_ref` and
//! `__after_commit` end here.

use crate::backend::Backend;
use crate::commit::Callback;
use crate::error::Error;
use crate::events::every::AnyModel;
use crate::events::registry::{
    bits, fixed_bit, for_backend, runtime_bit, EveryShim, EveryShims, Fixed, MutShim, RefShim,
    Shims,
};
use crate::events::runtime::{remove_every, remove_typed, EveryCall, TypedCall, EVERY};
use crate::listener::{Event, Failure};
use crate::model::Model;
use crate::session::Session;

/// Whether `M` has a listener of `event` of any kind: struct-side (a constant), function-side
/// or run-time (one atomic load).
#[inline]
pub fn has_listeners<M: Model>(event: Event) -> bool {
    M::LISTENERS.iter().any(|l| l.event == event) || M::__listeners().state() & bits(event) != 0
}

fn error<M: Model>(failure: Failure, event: Event, listener: &'static str) -> Error {
    match failure {
        Failure::Listener(source) => Error::Listener {
            model: M::NAME,
            event,
            listener,
            source,
        },
        Failure::Begin(source) => Error::from_sqlx(M::NAME, source),
    }
}

/// The function-side and run-time listeners of an event that hands out `&mut M`.
pub async fn run_mut<M: Model, DB: Backend>(
    model: &mut M,
    event: Event,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let cell = M::__listeners();
    let state = cell.state();
    if state & bits(event) == 0 {
        return Ok(());
    }
    if state & fixed_bit(event) != 0 {
        for listener in cell.fixed().listeners.iter() {
            let done = match listener {
                Fixed::Model(r) if r.event == event => match &r.shims {
                    Shims::Mut(sqlite, postgres, mysql) => {
                        let shim: MutShim<M, DB> = for_backend::<DB, _>(sqlite, postgres, mysql);
                        shim(model, session).await
                    }
                    Shims::Ref(..) | Shims::Commit(_) => Ok(()),
                },
                Fixed::Every(r) if r.event == event => every(&r.shims, &*model, session).await,
                _ => Ok(()),
            };
            done.map_err(|failure| error::<M>(failure, event, listener.name()))?;
        }
    }
    if state & runtime_bit(event) != 0 {
        if let Some(typed) = cell.runtime.typed.snapshot() {
            for entry in typed.iter().filter(|e| e.event == event) {
                if let TypedCall::Mut(call) = &entry.call {
                    if entry.take_turn(remove_typed::<M>) {
                        call(model)
                            .map_err(|e| error::<M>(Failure::Listener(e), event, entry.name))?;
                    }
                }
            }
        }
        run_every_runtime::<M>(model, event)?;
    }
    Ok(())
}

/// The function-side and run-time listeners of an event that hands out `&M`.
pub async fn run_ref<M: Model, DB: Backend>(
    model: &M,
    event: Event,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let cell = M::__listeners();
    let state = cell.state();
    if state & bits(event) == 0 {
        return Ok(());
    }
    if state & fixed_bit(event) != 0 {
        for listener in cell.fixed().listeners.iter() {
            let done = match listener {
                Fixed::Model(r) if r.event == event => match &r.shims {
                    Shims::Ref(sqlite, postgres, mysql) => {
                        let shim: RefShim<M, DB> = for_backend::<DB, _>(sqlite, postgres, mysql);
                        shim(model, session).await
                    }
                    Shims::Mut(..) | Shims::Commit(_) => Ok(()),
                },
                Fixed::Every(r) if r.event == event => every(&r.shims, model, session).await,
                _ => Ok(()),
            };
            done.map_err(|failure| error::<M>(failure, event, listener.name()))?;
        }
    }
    if state & runtime_bit(event) != 0 {
        if let Some(typed) = cell.runtime.typed.snapshot() {
            for entry in typed.iter().filter(|e| e.event == event) {
                if let TypedCall::Ref(call) = &entry.call {
                    if entry.take_turn(remove_typed::<M>) {
                        call(model)
                            .map_err(|e| error::<M>(Failure::Listener(e), event, entry.name))?;
                    }
                }
            }
        }
        run_every_runtime::<M>(model, event)?;
    }
    Ok(())
}

/// One function-side listener of every model, in the write's transaction.
async fn every<DB: Backend>(
    shims: &EveryShims,
    model: &dyn AnyModel,
    session: &mut Session<'_, DB>,
) -> Result<(), Failure> {
    match shims {
        EveryShims::Ref(sqlite, postgres, mysql) => {
            let shim: EveryShim<DB> = for_backend::<DB, _>(sqlite, postgres, mysql);
            shim(model, session).await
        }
        EveryShims::Commit(_) => Ok(()),
    }
}

fn run_every_runtime<M: Model>(model: &M, event: Event) -> Result<(), Error> {
    let Some(every) = EVERY.snapshot() else {
        return Ok(());
    };
    for entry in every.iter().filter(|e| e.event == event) {
        if let EveryCall::Ref(call) = &entry.call {
            if entry.take_turn(remove_every) {
                call(model).map_err(|e| error::<M>(Failure::Listener(e), event, entry.name))?;
            }
        }
    }
    Ok(())
}

/// Queues the function-side and run-time listeners of an `after_*_commit` event. A
/// [`crate::once`] listener's turn is taken when it runs, so a write that is rolled back
/// does not use it up.
pub fn after_commit<M: Model>(model: &M, event: Event, queue: &mut Vec<Callback>) {
    let cell = M::__listeners();
    let state = cell.state();
    if state & bits(event) == 0 {
        return;
    }
    if state & fixed_bit(event) != 0 {
        for listener in cell.fixed().listeners.iter() {
            match listener {
                Fixed::Model(r) if r.event == event => {
                    if let Shims::Commit(queue_call) = &r.shims {
                        queue.push(queue_call(model));
                    }
                }
                Fixed::Every(r) if r.event == event => {
                    if let EveryShims::Commit(queue_call) = &r.shims {
                        queue.push(queue_call(model));
                    }
                }
                _ => {}
            }
        }
    }
    if state & runtime_bit(event) == 0 {
        return;
    }
    if let Some(typed) = cell.runtime.typed.snapshot() {
        for entry in typed.iter().filter(|e| e.event == event) {
            if let TypedCall::Commit(call) = &entry.call {
                let run = call(model);
                let entry = entry.clone();
                queue.push(Box::new(move || {
                    Box::pin(async move {
                        if entry.take_turn(remove_typed::<M>) {
                            run().await;
                        }
                    })
                }));
            }
        }
    }
    if let Some(every) = EVERY.snapshot() {
        for entry in every.iter().filter(|e| e.event == event) {
            if let EveryCall::Commit(call) = &entry.call {
                let run = call(model);
                let entry = entry.clone();
                queue.push(Box::new(move || {
                    Box::pin(async move {
                        if entry.take_turn(remove_every) {
                            run().await;
                        }
                    })
                }));
            }
        }
    }
}
