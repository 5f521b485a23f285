//! What `#[listens_for]` on a function expands to calls: each turns one listener into the
//! erased form [`crate::listen::registry`] stores. The listener's type is checked here, at
//! the function, by the same traits as struct-side listeners.

use std::any::Any;
use std::sync::Arc;

use crate::db::backend::Backend;
use crate::db::commit::Callback;
use crate::db::session::Session;
use crate::listen::every::{AnyModel, EveryModelCommitListener, EveryModelListener};
use crate::listen::listener::{CommitListener, MutListener, RefListener};
use crate::listen::record::Record;
use crate::listen::registry::{wrong_model, MutShim, OwnMut, OwnRef, Pending, RefShim};

/// Calls a listener of an event that hands out `&mut M`, given the model as `dyn Any`.
#[inline]
pub fn shim_mut<'a, M, DB, Marker, L>(
    listener: &'a L,
    model: &'a mut dyn Any,
    session: &'a mut Session<'_, DB>,
) -> Pending<'a>
where
    M: Record,
    DB: Backend,
    L: MutListener<M, DB, Marker>,
{
    let Some(model) = model.downcast_mut::<M>() else {
        wrong_model()
    };
    Box::pin(listener.call(model, session))
}

/// Calls a listener of an event that hands out `&M`, given the model as `dyn Any`.
#[inline]
pub fn shim_ref<'a, M, DB, Marker, L>(
    listener: &'a L,
    model: &'a dyn Any,
    session: &'a mut Session<'_, DB>,
) -> Pending<'a>
where
    M: Record,
    DB: Backend,
    L: RefListener<M, DB, Marker>,
{
    let Some(model) = model.downcast_ref::<M>() else {
        wrong_model()
    };
    Box::pin(listener.call(model, session))
}

/// The derive's `__struct_mut` answer for one listener: `shim` is a closure that calls
/// [`shim_mut`], which this signature coerces to a function pointer.
#[inline]
pub fn own_mut<DB: Backend>(shim: MutShim<DB>, name: &'static str) -> OwnMut<DB> {
    Some((shim, name))
}

/// The derive's `__struct_ref` answer for one listener (as [`own_mut`]).
#[inline]
pub fn own_ref<DB: Backend>(shim: RefShim<DB>, name: &'static str) -> OwnRef<DB> {
    Some((shim, name))
}

/// Calls a listener of every model.
#[inline]
pub fn shim_every<'a, DB, Marker, L>(
    listener: &'a L,
    model: &'a dyn AnyModel,
    session: &'a mut Session<'_, DB>,
) -> Pending<'a>
where
    DB: Backend,
    L: EveryModelListener<DB, Marker>,
{
    Box::pin(listener.call(model, session))
}

/// An after-commit call of `listener` on a clone of `model`.
#[inline]
pub fn shim_commit<M, Marker, L>(listener: L, model: &dyn Any) -> Callback
where
    M: Record + Clone,
    L: CommitListener<M, Marker>,
{
    let Some(model) = model.downcast_ref::<M>() else {
        wrong_model()
    };
    let model = Arc::new(model.clone());
    Box::new(move || Box::pin(async move { listener.call(&model).await }))
}

/// An after-commit call of a listener of every model, on a copy of `model`'s values.
#[inline]
pub fn shim_every_commit<Marker, L>(listener: L, model: &dyn AnyModel) -> Callback
where
    L: EveryModelCommitListener<Marker>,
{
    let row = model.to_row();
    Box::new(move || Box::pin(async move { listener.call(&row).await }))
}
