//! Runs a model's listeners: its struct-side ones (the derive's `__struct_mut` and
//! `__struct_ref`, function pointers walked here), then what [`crate::listen::registry`] and
//! [`crate::listen::runtime`] hold for it. The model's `__run_mut`, `__run_ref` and
//! `__after_commit` end here. And the `before_commit` call a written row queues for the end
//! of the outermost transaction ([`crate::write::row::written`]).
//!
//! Each call of a listener that runs inside the write is in a `tracing` span of its own
//! (`listener_span`); the after-commit calls are queued, and run without one.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use tracing::Instrument as _;

use crate::base::error::{BoxError, Error};
use crate::db::backend::Backend;
use crate::db::commit::{self, Callback};
use crate::db::scope::listener_span;
use crate::db::session::Session;
use crate::listen::every::{AnyModel, ModelRow};
use crate::listen::listener::{Event, Failure};
use crate::listen::record::Record;
use crate::listen::registry::{
    bits, fixed_bit, for_backend, runtime_bit, EveryShim, EveryShims, Fixed, Listeners, MutShim,
    OwnMut, OwnRef, RefShim, Shims,
};
use crate::listen::runtime::{remove_every, remove_typed, EveryCall, List, TypedCall, EVERY};

/// Whether `M` has a listener of `event` of any kind: struct-side (a constant), function-side
/// or run-time, given its state word (`Listeners::state`, or the session's copy of it).
#[inline]
pub(crate) fn has_in<M: Record>(state: u32, event: Event) -> bool {
    cell_has_in(M::__listeners(), state, event)
}

/// [`has_in`] for a model known by its cell (not generic: compiled once, not per model).
pub(crate) fn cell_has_in(cell: &'static Listeners, state: u32, event: Event) -> bool {
    cell.struct_side_has(event) || state & bits(event) != 0
}

/// [`has_in`] for a model known by its cell only, with its current state word: whether a
/// model whose rows a cascade would write has a listener of `event` (`write::cascade`).
pub(crate) fn cell_has(cell: &'static Listeners, event: Event) -> bool {
    cell_has_in(cell, cell.state(), event)
}

/// Whether a write must see the end of the outermost transaction: its model has listeners
/// (`listens`, [`has_in`] or `WriteRow::listens`) of `commit_event` (the write's
/// `after_*_commit`), of `before_commit` or of `after_rollback`. Such a write is refused
/// where model-core cannot see that end ([`Error::CommitScope`]).
pub(crate) fn needs_commit_scope(commit_event: Event, listens: impl Fn(Event) -> bool) -> bool {
    [commit_event, Event::BeforeCommit, Event::AfterRollback]
        .into_iter()
        .any(listens)
}

/// Whether a listener runs after a write's statement and could still veto it: one of
/// `after` (the write's `after_*` event) or of `before_commit`. Such a write needs a
/// transaction even for one statement.
pub(crate) fn vetoes_after_statement(after: Event, listens: impl Fn(Event) -> bool) -> bool {
    listens(after) || listens(Event::BeforeCommit)
}

/// Whether a row of the model of `cell` has `before_commit` listeners of its own model
/// (struct-side, function-side or run-time) and of every model.
pub(crate) fn before_commit_listeners(cell: &'static Listeners, state: u32) -> (bool, bool) {
    let event = Event::BeforeCommit;
    let fixed = || cell.fixed().listeners.iter().filter(|l| l.event() == event);
    let own = cell.struct_side_has(event)
        || (state & fixed_bit(event) != 0 && fixed().any(|l| matches!(l, Fixed::Model(_))))
        || (state & runtime_bit(event) != 0
            && cell
                .runtime
                .snapshot()
                .is_some_and(|typed| typed.iter().any(|e| e.event == event)));
    let every = (state & fixed_bit(event) != 0 && fixed().any(|l| matches!(l, Fixed::Every(_))))
        || (state & runtime_bit(event) != 0
            && EVERY
                .snapshot()
                .is_some_and(|every| every.iter().any(|e| e.event == event)));
    (own, every)
}

/// A written row's clone ([`crate::listen::registry::Share`]) and its model's struct-side
/// listeners that hand out `&M` (`__struct_ref`), as its `before_commit` call holds them: so
/// the call is compiled once per backend, not once per model.
pub(crate) type SharedRow<DB> = (Arc<dyn AnyModel>, fn(Event, usize) -> OwnRef<DB>);

/// A row's `before_commit` call: its listeners of its model on a clone of it, then those of
/// every model on its [`ModelRow`], on the connection of the outermost transaction.
pub(crate) fn before_commit_call<DB: Backend>(
    shared: Option<SharedRow<DB>>,
    row: Option<ModelRow>,
    cell: &'static Listeners,
) -> commit::BeforeCommit {
    Box::new(move |conn: &mut (dyn Any + Send)| {
        Box::pin(async move {
            if commit::running_round() >= commit::MAX_ROUNDS {
                return Err(Error::Listener {
                    model: cell.name,
                    event: Event::BeforeCommit,
                    listener: cell.before_commit_names(),
                    source: Box::new(crate::base::error::RunawayBeforeCommit {
                        rounds: commit::MAX_ROUNDS,
                    }),
                });
            }
            let conn = conn
                .downcast_mut::<DB::Connection>()
                .expect("one outermost transaction is on one connection");
            let mut session = Session::<DB>::within(conn);
            if let Some((model, own)) = &shared {
                run_ref_in(&**model, cell, *own, Event::BeforeCommit, &mut session).await?;
            }
            if let Some(row) = &row {
                before_commit_every(cell, row, &mut session).await?;
            }
            Ok(())
        })
    })
}

/// The `before_commit` listeners of every model, function-side then run-time, on a row.
async fn before_commit_every<DB: Backend>(
    cell: &'static Listeners,
    row: &ModelRow,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let event = Event::BeforeCommit;
    run_every_runtime(cell, row, event, true)?;
    for listener in cell.fixed().listeners.iter() {
        if let Fixed::Every(r) = listener {
            if r.event == event {
                every(&r.shims, row, session)
                    .instrument(listener_span(cell.name, event, listener.name()))
                    .await
                    .map_err(|failure| error(cell, failure, event, listener.name()))?;
            }
        }
    }
    run_every_runtime(cell, row, event, false)
}

fn error(cell: &Listeners, failure: Failure, event: Event, listener: &'static str) -> Error {
    match failure {
        Failure::Listener(source) => Error::Listener {
            model: cell.name,
            event,
            listener,
            source,
        },
        Failure::Begin(source) => Error::from_sqlx(cell.name, source),
    }
}

/// The listeners of an event that hands out `&mut M`: struct-side (`__struct_mut`), then
/// function-side, then run-time. Only this wrapper is generic over the model; `run_mut_in`
/// is compiled once per backend.
#[inline]
pub fn run_mut<'a, 'c, M: Record, DB: Backend>(
    model: &'a mut M,
    event: Event,
    session: &'a mut Session<'c, DB>,
) -> impl Future<Output = Result<(), Error>> + Send + use<'a, 'c, M, DB> {
    run_mut_in(
        model,
        M::__listeners(),
        M::__struct_mut::<DB>,
        event,
        session,
    )
}

pub(crate) async fn run_mut_in<DB: Backend>(
    model: &mut dyn AnyModel,
    cell: &'static Listeners,
    own: fn(Event, usize) -> OwnMut<DB>,
    event: Event,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let state = crate::listen::state_of(session, cell);
    if state & runtime_bit(event) != 0 {
        runtime_mut(cell, model, event, true)?;
    }
    let mut index = 0;
    while let Some((shim, name)) = own(event, index) {
        if !cell.repeats(event, index) {
            shim(model.__as_any_mut(), session)
                .instrument(listener_span(cell.name, event, name))
                .await
                .map_err(|failure| error(cell, failure, event, name))?;
        }
        index += 1;
    }
    if state & bits(event) == 0 {
        return Ok(());
    }
    if state & fixed_bit(event) != 0 {
        for listener in cell.fixed().listeners.iter() {
            let span = || listener_span(cell.name, event, listener.name());
            let done = match listener {
                Fixed::Model(r) if r.event == event => match &r.shims {
                    Shims::Mut(sqlite, postgres, mysql) => {
                        let shim: MutShim<DB> = for_backend::<DB, _>(sqlite, postgres, mysql);
                        shim(model.__as_any_mut(), session).instrument(span()).await
                    }
                    Shims::Ref(..) | Shims::Commit(_) | Shims::Query(_) => Ok(()),
                },
                Fixed::Every(r) if r.event == event => {
                    every(&r.shims, &*model, session).instrument(span()).await
                }
                _ => Ok(()),
            };
            done.map_err(|failure| error(cell, failure, event, listener.name()))?;
        }
    }
    if state & runtime_bit(event) != 0 {
        runtime_mut(cell, model, event, false)?;
    }
    Ok(())
}

/// The run-time listeners of an event that hands out `&mut M`, the model's then every
/// model's: those registered [`first`](crate::ListenOptions::first) or the others.
fn runtime_mut(
    cell: &'static Listeners,
    model: &mut dyn AnyModel,
    event: Event,
    first: bool,
) -> Result<(), Error> {
    run_runtime(
        &cell.runtime,
        cell,
        event,
        first,
        |id| remove_typed(cell, id),
        |call| match call {
            TypedCall::Mut(call) => Some(call),
            _ => None,
        },
        |call| call(model.__as_any_mut()),
    )?;
    run_every_runtime(cell, &*model, event, first)
}

/// Runs one pass (those registered [`first`](crate::ListenOptions::first), or the others)
/// of the synchronous run-time listeners of `event` in `list`, the model's or every
/// model's: each entry whose call `pick` finds of the event's shape, if its turn is
/// there to take (a [`crate::once`] listener's is taken once), in a listener span, its
/// error named after the model, the event and the listener. `remove` removes a `once`
/// listener from `list`.
fn run_runtime<C, F>(
    list: &List<C>,
    cell: &Listeners,
    event: Event,
    first: bool,
    remove: impl Fn(u64),
    pick: fn(&C) -> Option<&F>,
    mut invoke: impl FnMut(&F) -> Result<(), BoxError>,
) -> Result<(), Error> {
    let Some(entries) = list.snapshot() else {
        return Ok(());
    };
    for entry in entries
        .iter()
        .filter(|e| e.event == event && e.first == first)
    {
        if let Some(call) = pick(&entry.call) {
            if entry.take_turn(&remove) {
                listener_span(cell.name, event, entry.name)
                    .in_scope(|| invoke(call))
                    .map_err(|e| error(cell, Failure::Listener(e), event, entry.name))?;
            }
        }
    }
    Ok(())
}

/// The listeners of an event that hands out `&M`, as [`run_mut`].
#[inline]
pub fn run_ref<'a, 'c, M: Record, DB: Backend>(
    model: &'a M,
    event: Event,
    session: &'a mut Session<'c, DB>,
) -> impl Future<Output = Result<(), Error>> + Send + use<'a, 'c, M, DB> {
    run_ref_in(
        model,
        M::__listeners(),
        M::__struct_ref::<DB>,
        event,
        session,
    )
}

pub(crate) async fn run_ref_in<DB: Backend>(
    model: &dyn AnyModel,
    cell: &'static Listeners,
    own: fn(Event, usize) -> OwnRef<DB>,
    event: Event,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let state = crate::listen::state_of(session, cell);
    if state & runtime_bit(event) != 0 {
        runtime_ref(cell, model, event, true)?;
    }
    let mut index = 0;
    while let Some((shim, name)) = own(event, index) {
        if !cell.repeats(event, index) {
            shim(model.__as_any(), session)
                .instrument(listener_span(cell.name, event, name))
                .await
                .map_err(|failure| error(cell, failure, event, name))?;
        }
        index += 1;
    }
    if state & bits(event) == 0 {
        return Ok(());
    }
    if state & fixed_bit(event) != 0 {
        for listener in cell.fixed().listeners.iter() {
            let span = || listener_span(cell.name, event, listener.name());
            let done = match listener {
                Fixed::Model(r) if r.event == event => match &r.shims {
                    Shims::Ref(sqlite, postgres, mysql) => {
                        let shim: RefShim<DB> = for_backend::<DB, _>(sqlite, postgres, mysql);
                        shim(model.__as_any(), session).instrument(span()).await
                    }
                    Shims::Mut(..) | Shims::Commit(_) | Shims::Query(_) => Ok(()),
                },
                // A row's `before_commit` listeners of every model get its `ModelRow`
                // (`before_commit_call`), not the model's clone, which only a model with
                // listeners of its own has.
                Fixed::Every(r) if r.event == event && event != Event::BeforeCommit => {
                    every(&r.shims, model, session).instrument(span()).await
                }
                _ => Ok(()),
            };
            done.map_err(|failure| error(cell, failure, event, listener.name()))?;
        }
    }
    if state & runtime_bit(event) != 0 {
        runtime_ref(cell, model, event, false)?;
    }
    Ok(())
}

/// The run-time listeners of an event that hands out `&M`, as [`runtime_mut`].
fn runtime_ref(
    cell: &'static Listeners,
    model: &dyn AnyModel,
    event: Event,
    first: bool,
) -> Result<(), Error> {
    run_runtime(
        &cell.runtime,
        cell,
        event,
        first,
        |id| remove_typed(cell, id),
        |call| match call {
            TypedCall::Ref(call) => Some(call),
            _ => None,
        },
        |call| call(model.__as_any()),
    )?;
    // A row's `before_commit` listeners of every model get its `ModelRow`
    // (`before_commit_call`).
    if event != Event::BeforeCommit {
        run_every_runtime(cell, model, event, first)?;
    }
    Ok(())
}

/// The `before_query` listeners of the model whose cell `cell` is, on `query` (an `Option`
/// of the query's plan, which each takes and puts back): the run-time ones registered
/// [`first`](crate::ListenOptions::first), the function-side ones (the struct's among
/// them), then the other run-time ones.
pub(crate) fn run_query(cell: &'static Listeners, query: &mut dyn Any) -> Result<(), Error> {
    let event = Event::BeforeQuery;
    let state = cell.state();
    if state & bits(event) == 0 {
        return Ok(());
    }
    let runtime = |query: &mut dyn Any, first: bool| {
        run_runtime(
            &cell.runtime,
            cell,
            event,
            first,
            |id| remove_typed(cell, id),
            |call| match call {
                TypedCall::Query(call) => Some(call),
                _ => None,
            },
            |call| call(&mut *query),
        )
    };
    if state & runtime_bit(event) != 0 {
        runtime(&mut *query, true)?;
    }
    if state & fixed_bit(event) != 0 {
        for listener in cell.fixed().listeners.iter() {
            if let Fixed::Model(crate::listen::registry::Registered {
                event: Event::BeforeQuery,
                shims: Shims::Query(call),
                name,
                ..
            }) = listener
            {
                listener_span(cell.name, event, name)
                    .in_scope(|| call(&mut *query))
                    .map_err(|e| error(cell, Failure::Listener(e), event, name))?;
            }
        }
    }
    if state & runtime_bit(event) != 0 {
        runtime(query, false)?;
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

fn run_every_runtime(
    cell: &Listeners,
    model: &dyn AnyModel,
    event: Event,
    first: bool,
) -> Result<(), Error> {
    run_runtime(
        &EVERY,
        cell,
        event,
        first,
        remove_every,
        |call| match call {
            EveryCall::Ref(call) => Some(call),
            EveryCall::Commit(_) => None,
        },
        |call| call(model),
    )
}

/// Queues the function-side and run-time listeners of an `after_*_commit` event. A
/// [`crate::once`] listener's turn is taken when it runs, so a write that is rolled back
/// does not use it up.
#[inline]
pub fn after_commit<M: Record>(model: &M, event: Event, queue: &mut Vec<Callback>) {
    let cell = M::__listeners();
    let state = cell.state();
    if state & runtime_bit(event) != 0 {
        queue_runtime(model, cell, event, queue, true);
    }
    model.__after_commit(event, queue);
    after_commit_in(model, cell, state, event, queue);
}

/// Whether the `index`-th struct-side listener of `event` of the model whose cell this is
/// repeats an earlier one (one function by two paths): generated code skips it.
#[inline]
pub fn repeats(cell: &'static Listeners, event: Event, index: usize) -> bool {
    cell.repeats(event, index)
}

fn after_commit_in(
    model: &dyn AnyModel,
    cell: &'static Listeners,
    state: u32,
    event: Event,
    queue: &mut Vec<Callback>,
) {
    if state & bits(event) == 0 {
        return;
    }
    if state & fixed_bit(event) != 0 {
        for listener in cell.fixed().listeners.iter() {
            match listener {
                Fixed::Model(r) if r.event == event => {
                    if let Shims::Commit(queue_call) = &r.shims {
                        queue.push(queue_call(model.__as_any()));
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
    if state & runtime_bit(event) != 0 {
        queue_runtime(model, cell, event, queue, false);
    }
}

/// Queues the run-time after-commit (or after-rollback) listeners of an event, the model's
/// then every model's: those registered [`first`](crate::ListenOptions::first) or the others.
fn queue_runtime(
    model: &dyn AnyModel,
    cell: &'static Listeners,
    event: Event,
    queue: &mut Vec<Callback>,
    first: bool,
) {
    if let Some(typed) = cell.runtime.snapshot() {
        for entry in typed
            .iter()
            .filter(|e| e.event == event && e.first == first)
        {
            if let TypedCall::Commit(call) = &entry.call {
                let run = call(model.__as_any());
                let entry = entry.clone();
                queue.push(Box::new(move || {
                    Box::pin(async move {
                        if entry.take_turn(|id| remove_typed(cell, id)) {
                            run().await;
                        }
                    })
                }));
            }
        }
    }
    if let Some(every) = EVERY.snapshot() {
        for entry in every
            .iter()
            .filter(|e| e.event == event && e.first == first)
        {
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
