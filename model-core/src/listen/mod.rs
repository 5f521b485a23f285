//! Layer 3, the listeners: the listener traits ([`listener`]), the hidden half of a model
//! that generated code implements ([`record::Record`]), the registry of function-side and
//! run-time listeners, and running them in order. Uses [`crate::base`] and [`crate::db`].
//!
//! Listeners declared where they live: on the function (`#[listens_for]`), for one model or
//! for every model, at compile time or at run time ([`listen`]).
//!
//! # The order listeners of one event run in
//!
//! 1. the struct-side listeners (`#[listens_for(event, f, g)]` on the struct), in the order
//!    written;
//! 2. the function-side listeners of this model, by name: the function's module path and
//!    name (`blog::model::set_created_at`), compared as text;
//! 3. the function-side listeners of every model, by name likewise;
//! 4. the run-time listeners of this model, in registration order;
//! 5. the run-time listeners of every model, in registration order.
//!
//! Specific before general: a listener of every model (an audit trail) sees the row as the
//! model's own listeners left it. Sorting by name makes the order independent of link order
//! and of which crate a listener lives in; to put one function-side listener before another,
//! rename it or list both on the struct.

mod every;
pub(crate) mod listener;
mod models;
mod paths;
pub(crate) mod record;
mod registry;
mod run;
mod runtime;
mod shim;

pub use crate::base::value::{ToValue, Value};
pub use every::{AnyModel, EveryModelCommitListener, EveryModelListener, ModelRow};
pub use models::{configure, models, Configure, ConfigureEvent, ModelInfo};
pub use runtime::{
    listen, listen_with, on, on_statement, once, EveryModel, ListenOptions, Listening,
    RuntimeListener,
};

/// The listener state word of the model whose cell `cell` is, for the rest of `session`'s
/// write ([`Session::listener_state`](crate::db::session::Session)): one atomic load per
/// write, however many listener points it has.
#[inline]
pub(crate) fn state_of<DB: crate::db::backend::Backend>(
    session: &mut crate::db::session::Session<'_, DB>,
    cell: &'static registry::Listeners,
) -> u32 {
    session.listener_state(cell as *const registry::Listeners as usize, || cell.state())
}

/// What generated code names, through `__private`.
pub(crate) mod private {
    pub use super::every::{AsyncEveryCommitFn, AsyncEveryFn};
    pub use super::models::{
        BeforeModelConfigured, ConfigureCall, ConfigureListener, Configured, ModelConfigured,
        ModelParts, ModelProbe, ViaNoRecord, ViaRecord, CONFIGURE_LISTENERS, MODELS,
    };
    pub use super::registry::share_row;
    pub use super::registry::{
        EveryShims, Listeners, MutShim, OwnMut, OwnRef, Pending, QueryShim, RefShim, Registered,
        RegisteredEvery, Registration, Share, Shims, FUNCTION_LISTENERS,
    };
    pub use super::run::{after_commit, repeats, run_mut, run_ref};
    pub use super::shim::{
        own_mut, own_ref, shim_commit, shim_every, shim_every_commit, shim_mut, shim_ref,
    };
    pub use crate::base::value::{Probe, Value, ViaFallback, ViaToValue};
    pub use linkme;
}

pub(crate) use registry::{bits, for_backend};
pub(crate) use run::run_query;
pub(crate) use run::{
    after_commit, before_commit_call, before_commit_listeners, cell_has, cell_has_in, has_in,
    needs_commit_scope, run_mut, run_mut_in, run_ref, run_ref_in, vetoes_after_statement,
};
pub(crate) use runtime::register_query;
