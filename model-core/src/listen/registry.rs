//! Where function-side listeners are registered, and each model's view of what listens to
//! it beyond its struct-side listeners.
//!
//! # Why a linker-collected slice
//!
//! `#[listens_for]` on a function adds one [`Registration`] to [`FUNCTION_LISTENERS`], a
//! `linkme` distributed slice: the linker gathers the entries of every crate in the binary
//! into one array, so nothing runs before `main`, nothing is locked to read it, and a
//! listener in another module or another crate is found without the model knowing of it.
//! The alternatives cost more: an attribute on the model's `impl` block only sees that
//! block (no listener in another module or crate, and no listener for every model), and
//! `inventory`-style constructors run code before `main`. The price of the slice is one
//! scan of it per model, on its first write (or [`crate::Model::listeners`] call).
//!
//! # What a write pays
//!
//! Each model has one [`Listeners`] cell, a static the derive writes. Its `state` word says,
//! per event, whether anything beyond the struct-side listeners listens: a function-side
//! listener of the model, one of every model, or a run-time one. A write reads that word
//! once (one atomic load), keeps it in its [`Session`], and at each listener point does
//! nothing more when the event's bits are clear. Function-side listeners
//! are read from a list built once and never changed (no lock); run-time ones, only when
//! some are registered, from a copy-on-write list behind the model's own `RwLock`.

use std::any::{Any, TypeId};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use sqlx::{MySql, Postgres, Sqlite};

use crate::db::backend::{Backend, Dialect};
use crate::db::commit::Callback;
use crate::db::session::Session;
use crate::listen::every::AnyModel;
use crate::listen::listener::{Event, Failure, ListenerInfo};
use crate::listen::runtime::{List, TypedCall};

/// The future of one erased listener call.
pub type Pending<'a> = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'a>>;
/// A listener of an event that hands out `&mut M`, for one backend. The model arrives as
/// `&mut dyn Any` and the shim downcasts it: the lists and the code that walks them are then
/// compiled once, not once per model (issue 10).
pub type MutShim<DB> = for<'a, 'c> fn(&'a mut dyn Any, &'a mut Session<'c, DB>) -> Pending<'a>;
/// A listener of an event that hands out `&M`, for one backend (the model as `&dyn Any`).
pub type RefShim<DB> = for<'a, 'c> fn(&'a dyn Any, &'a mut Session<'c, DB>) -> Pending<'a>;
/// A listener of every model, for one backend.
pub type EveryShim<DB> = for<'a, 'c> fn(&'a dyn AnyModel, &'a mut Session<'c, DB>) -> Pending<'a>;

/// The `index`-th struct-side listener of an event that hands out `&mut M`, with its name,
/// as the derive's `__struct_mut` answers it: the listeners are walked by
/// [`crate::listen::run_mut`], compiled once per backend, so a model's own code is a `match`
/// of function pointers rather than an async block of its own (issue 10).
pub type OwnMut<DB> = Option<(MutShim<DB>, &'static str)>;
/// The `index`-th struct-side listener of an event that hands out `&M` (`__struct_ref`).
pub type OwnRef<DB> = Option<(RefShim<DB>, &'static str)>;

/// How to call a function-side listener of one model: one shim per backend (an async
/// listener is generic over the backend, so each is its own instance), or the call to queue
/// after the commit.
pub enum Shims {
    /// `before_insert`, `before_update`, `load`.
    Mut(MutShim<Sqlite>, MutShim<Postgres>, MutShim<MySql>),
    /// `after_insert`, `after_update`, `before_delete`, `after_delete`, `before_commit`.
    Ref(RefShim<Sqlite>, RefShim<Postgres>, RefShim<MySql>),
    /// `after_*_commit`, `after_rollback`: clones the model (a `&dyn Any`) into the call.
    Commit(fn(&dyn Any) -> Callback),
    /// `before_query`: rewrites the query, which arrives as a `&mut dyn Any`.
    Query(QueryShim),
}

/// A `before_query` listener of one model. The query arrives as `&mut dyn Any`: an
/// `Option` of its plan, which the shim takes, hands to the listener as the model's
/// `Select` and puts back (the listener layer does not know queries; the query layer
/// does).
pub type QueryShim = fn(&mut dyn Any) -> Result<(), crate::base::error::BoxError>;

/// How to call a function-side listener of every model.
pub enum EveryShims {
    /// Every event but the `after_*_commit` ones and `after_rollback`.
    Ref(EveryShim<Sqlite>, EveryShim<Postgres>, EveryShim<MySql>),
    /// `after_*_commit`, `after_rollback`: copies the model's values into the call.
    Commit(fn(&dyn AnyModel) -> Callback),
}

/// One function-side listener of one model.
pub struct Registered {
    /// The model's `TypeId::of`: which model's list takes it.
    pub model: fn() -> TypeId,
    /// The event it listens to.
    pub event: Event,
    /// `module::path::function`: its name in errors and its place in the order.
    pub name: &'static str,
    /// How to call it.
    pub shims: Shims,
    /// The model's [`Share`], given by a `before_commit` listener (`None` for the others).
    pub share: Option<Share>,
}

/// A clone of a model (the `&dyn Any`) for its `before_commit` listeners, which run at the
/// commit, after the write has given the model back. It is made where such a listener is
/// declared (on the struct, on a function or at run time), which requires the model to be
/// `Clone`: a model without one compiles no clone of itself.
pub type Share = fn(&dyn Any) -> Arc<dyn AnyModel>;

/// The [`Share`] of a `Clone` model.
pub fn share_row<M: AnyModel + Clone>(model: &dyn Any) -> Arc<dyn AnyModel> {
    let Some(model) = model.downcast_ref::<M>() else {
        wrong_model()
    };
    Arc::new(model.clone())
}

/// A model's list holds only registrations whose `TypeId` is that model's. (A function
/// that is not generic, called from a `let else`, rather than `expect`: that is compiled
/// once per type it unwraps, i.e. per model.)
#[cold]
pub(crate) fn wrong_model() -> ! {
    panic!("a model's list holds listeners of that model")
}

/// One function-side listener of every model.
pub struct RegisteredEvery {
    /// The event it listens to.
    pub event: Event,
    /// `module::path::function`.
    pub name: &'static str,
    /// How to call it.
    pub shims: EveryShims,
}

/// One entry of `FUNCTION_LISTENERS`, the linker-collected slice of function-side listeners.
pub enum Registration {
    /// A listener of one model.
    Model(&'static Registered),
    /// A listener of every model.
    EveryModel(&'static RegisteredEvery),
    /// A `before_query` listener named on the struct (`#[listens_for(before_query, f)]`):
    /// its `name` is the path as written, resolved from the model's module, so that a
    /// function named there that also carries `#[listens_for(before_query)]` runs once.
    StructQuery(&'static Registered),
}

/// Every function-side listener in the binary, gathered by the linker.
#[linkme::distributed_slice]
pub static FUNCTION_LISTENERS: [Registration];

/// Picks the shim of backend `DB` among the three. `S` is that shim's type: the `TypeId`
/// check cannot fail for the three backends model-core implements `Backend` for.
pub(crate) fn for_backend<DB: Backend, S: Copy + 'static>(
    sqlite: &dyn Any,
    postgres: &dyn Any,
    mysql: &dyn Any,
) -> S {
    let shim = match DB::DIALECT {
        Dialect::Sqlite => sqlite,
        Dialect::Postgres => postgres,
        Dialect::MySql => mysql,
    };
    *shim
        .downcast_ref::<S>()
        .expect("a backend's dialect names the backend")
}

/// One function-side listener as a model's list holds it.
pub(crate) enum Fixed {
    Model(&'static Registered),
    Every(&'static RegisteredEvery),
}

impl Fixed {
    pub(crate) fn event(&self) -> Event {
        match self {
            Fixed::Model(r) => r.event,
            Fixed::Every(r) => r.event,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Fixed::Model(r) => r.name,
            Fixed::Every(r) => r.name,
        }
    }
}

/// A model's function-side listeners, found once.
pub(crate) struct FixedList {
    /// Bit `event.index()` set when some listener of `event` is in `listeners`.
    mask: u32,
    /// In the order they run: by event, then this model's before every model's, then by
    /// name (see [`crate::listen`](mod@crate::listen)).
    pub(crate) listeners: Vec<Fixed>,
    /// The struct-side manifest followed by these, for [`crate::Model::listeners`].
    pub(crate) infos: Vec<ListenerInfo>,
    /// Per event, bit `i` set when the `i`-th struct-side listener is a function listed
    /// before it by another path: it does not run again ([`super::paths`]).
    repeats: [u32; Event::ALL.len()],
}

impl FixedList {
    /// The registrations of the model `model` (those whose `model` is it) and of every
    /// model, in run order: by event, the model's own before every model's, then by name;
    /// and the manifest of `struct_side` followed by them.
    ///
    /// One function runs once per event: a struct-side listener that names a function an
    /// earlier one of the event names is marked in `repeats`, and a function-side listener
    /// the struct names is left out (it runs in the struct's place).
    fn collect(model: TypeId, struct_side: &'static [ListenerInfo], module: &str) -> Self {
        let resolved: Vec<(Event, Vec<String>)> = struct_side
            .iter()
            .map(|l| (l.event, super::paths::resolve(module, l.listener)))
            .collect();
        let mut repeats = [0u32; Event::ALL.len()];
        for (i, (event, paths)) in resolved.iter().enumerate() {
            let earlier = resolved[..i]
                .iter()
                .any(|(e, p)| e == event && p.iter().any(|path| paths.contains(path)));
            let index = resolved[..i].iter().filter(|(e, _)| e == event).count();
            if earlier && index < 32 {
                repeats[event.index() as usize] |= 1 << index;
            }
        }
        let on_struct = |event: Event, name: &str| {
            resolved
                .iter()
                .any(|(e, paths)| *e == event && paths.iter().any(|p| p == name))
        };
        // The struct's query listeners, each once (by the function its path names).
        let mut struct_queries: Vec<(&'static Registered, Vec<String>)> = Vec::new();
        for registration in FUNCTION_LISTENERS.iter() {
            if let Registration::StructQuery(r) = registration {
                let paths = super::paths::resolve(module, r.name);
                let repeated = struct_queries
                    .iter()
                    .any(|(_, earlier)| earlier.iter().any(|p| paths.contains(p)));
                if (r.model)() == model && !repeated {
                    struct_queries.push((r, paths));
                }
            }
        }
        let on_struct_query = |event: Event, name: &str| {
            event == Event::BeforeQuery
                && struct_queries
                    .iter()
                    .any(|(_, paths)| paths.iter().any(|p| p == name))
        };
        let mut listeners = Vec::new();
        for registration in FUNCTION_LISTENERS.iter() {
            match registration {
                Registration::Model(r)
                    if (r.model)() == model
                        && !on_struct(r.event, r.name)
                        && !on_struct_query(r.event, r.name) =>
                {
                    listeners.push(Fixed::Model(r));
                }
                Registration::Model(_) | Registration::StructQuery(_) => {}
                Registration::EveryModel(r) => listeners.push(Fixed::Every(r)),
            }
        }
        // The struct's query listeners first, as its row listeners are.
        listeners.sort_by_key(|l| (l.event().index(), matches!(l, Fixed::Every(_)), l.name()));
        let structs = struct_queries.iter().map(|&(r, _)| Fixed::Model(r));
        let at = listeners
            .iter()
            .position(|l| l.event() == Event::BeforeQuery)
            .unwrap_or(listeners.len());
        listeners.splice(at..at, structs);
        let mut mask = 0;
        let mut infos: Vec<ListenerInfo> = Vec::with_capacity(struct_side.len() + listeners.len());
        for event in Event::ALL {
            infos.extend(
                struct_side
                    .iter()
                    .filter(|l| l.event == event)
                    .enumerate()
                    .filter(|(i, _)| *i >= 32 || repeats[event.index() as usize] & (1 << i) == 0)
                    .map(|(_, l)| *l),
            );
            let first = infos.iter().filter(|l| l.event == event).count();
            let own = listeners.iter().filter(|l| l.event() == event);
            for (order, listener) in (first..).zip(own) {
                mask |= 1 << event.index();
                infos.push(ListenerInfo {
                    event,
                    listener: listener.name(),
                    order,
                });
            }
        }
        FixedList {
            mask,
            listeners,
            infos,
            repeats,
        }
    }
}

/// Set in `state` once the cell is initialised.
const INIT: u32 = 1 << 31;
/// Where the run-time bits begin in `state`.
const RUNTIME_SHIFT: u32 = 16;

/// The bits of `state` that say `event` has listeners beyond the struct-side ones.
pub(crate) const fn bits(event: Event) -> u32 {
    (1 << event.index()) | (1 << (event.index() + RUNTIME_SHIFT))
}

/// The bit of `state` for `event`'s function-side listeners.
pub(crate) const fn fixed_bit(event: Event) -> u32 {
    1 << event.index()
}

/// The [`fixed_bit`]s of the events of `listeners`.
const fn struct_bits(listeners: &[ListenerInfo]) -> u32 {
    let (mut bits, mut i) = (0, 0);
    while i < listeners.len() {
        bits |= fixed_bit(listeners[i].event);
        i += 1;
    }
    bits
}

/// The bit of `state` for `event`'s run-time listeners.
pub(crate) const fn runtime_bit(event: Event) -> u32 {
    1 << (event.index() + RUNTIME_SHIFT)
}

/// What listens to one model beyond its struct-side listeners. The derive writes one static
/// per model; generated code only names [`Listeners::new`]. Not generic over the model: the
/// code that reads it is compiled once (issue 10), and what it needs of the model (its
/// `TypeId`, name and struct-side manifest) it holds.
pub struct Listeners {
    /// The model's `TypeId::of`.
    model: fn() -> TypeId,
    /// The model's name, for errors.
    pub(crate) name: &'static str,
    /// The model's struct-side manifest, `Model::LISTENERS`.
    pub(crate) struct_side: &'static [ListenerInfo],
    /// The events of `struct_side`, one [`fixed_bit`] each: a write asks whether an event
    /// has listeners at some ten points, each then one test instead of a walk.
    struct_bits: u32,
    /// The module the derive ran in, which the manifest's paths are relative to.
    module: &'static str,
    /// [`INIT`], the function-side bits, the run-time bits (see [`bits`]).
    state: AtomicU32,
    fixed: OnceLock<FixedList>,
    pub(crate) runtime: List<TypedCall>,
    /// The names of the model's `before_commit` listeners, for the error that stops a
    /// runaway chain of them; made when first needed.
    before_commit_names: OnceLock<String>,
    /// The model's [`Share`] if it has struct-side `before_commit` listeners.
    share: Option<Share>,
    /// The model's [`Share`] as a function-side or run-time `before_commit` listener gave it.
    late_share: OnceLock<Share>,
}

impl Listeners {
    /// An empty cell of the model whose `TypeId::of`, name and struct-side manifest these
    /// are, filled in on its first write. Takes them as values rather than from `M: Record`:
    /// a model whose impl has an error (a field type that is no column type) gets no second
    /// error from its cell.
    ///
    /// `share` is the model's [`Share`] where it has struct-side `before_commit` listeners.
    pub const fn new(
        model: fn() -> TypeId,
        name: &'static str,
        struct_side: &'static [ListenerInfo],
        module: &'static str,
        share: Option<Share>,
    ) -> Self {
        Listeners {
            model,
            name,
            struct_side,
            struct_bits: struct_bits(struct_side),
            module,
            state: AtomicU32::new(0),
            fixed: OnceLock::new(),
            runtime: List::new(),
            before_commit_names: OnceLock::new(),
            share,
            late_share: OnceLock::new(),
        }
    }

    /// The model's [`Share`], if some `before_commit` listener of it was declared: they all
    /// give the same clone, so the first one kept serves.
    pub(crate) fn share(&self) -> Option<Share> {
        self.share.or_else(|| {
            self.fixed(); // function-side listeners give theirs when the list is made
            self.late_share.get().copied()
        })
    }

    /// Keeps `share`, from a function-side or run-time `before_commit` listener.
    pub(crate) fn set_share(&self, share: Share) {
        let _ = self.late_share.set(share);
    }

    /// The model's `before_commit` listeners, struct-side and function-side, by name,
    /// `", "`-separated, in the order they run (`"run-time listeners"` if only those).
    pub(crate) fn before_commit_names(&'static self) -> &'static str {
        self.before_commit_names.get_or_init(|| {
            let event = Event::BeforeCommit;
            let names: Vec<&str> = self
                .struct_side
                .iter()
                .filter(|l| l.event == event)
                .map(|l| l.listener)
                .chain(
                    self.fixed()
                        .listeners
                        .iter()
                        .filter(|l| l.event() == event)
                        .map(Fixed::name),
                )
                .collect();
            match names.is_empty() {
                true => "run-time listeners".to_owned(),
                false => names.join(", "),
            }
        })
    }

    /// The state word, initialised if it was not: one atomic load after the first call.
    /// Relaxed is enough to answer "is there a listener": a listener registered while a
    /// write is under way may or may not run for it. The lists read after a set bit are
    /// behind their own synchronisation (`OnceLock`, `RwLock`).
    #[inline]
    pub(crate) fn state(&'static self) -> u32 {
        let state = self.state.load(Ordering::Relaxed);
        if state & INIT != 0 {
            state
        } else {
            self.init()
        }
    }

    #[cold]
    fn init(&'static self) -> u32 {
        // The first use of any model runs the configuration listeners first (before the
        // lock: they may read models' listeners).
        super::models::configure();
        let mut global = global();
        let state = self.state.load(Ordering::Relaxed);
        if state & INIT != 0 {
            return state;
        }
        // Once per cell: `INIT` stays set from here on, so no later call comes this way.
        debug_assert!(
            !global.cells.iter().any(|cell| std::ptr::eq(*cell, self)),
            "a listener cell is initialised once"
        );
        global.cells.push(self);
        self.refresh(global.every_mask)
    }

    /// Whether the `index`-th struct-side listener of `event` names a function an earlier
    /// one of the event names: it does not run again.
    #[inline]
    pub fn repeats(&self, event: Event, index: usize) -> bool {
        index < 32 && self.fixed().repeats[event.index() as usize] & (1 << index) != 0
    }

    /// The function-side listeners, found on the first call.
    pub(crate) fn fixed(&self) -> &FixedList {
        self.fixed.get_or_init(|| {
            let list = FixedList::collect((self.model)(), self.struct_side, self.module);
            for listener in &list.listeners {
                if let Fixed::Model(Registered {
                    share: Some(share), ..
                }) = listener
                {
                    self.set_share(*share);
                }
            }
            list
        })
    }

    /// Recomputes the state word from the lists and the events that run-time listeners of
    /// every model listen to; returns it.
    pub(crate) fn refresh(&self, every_mask: u32) -> u32 {
        let runtime = self.runtime.mask() | every_mask;
        let state = INIT | self.fixed().mask | (runtime << RUNTIME_SHIFT);
        self.state.store(state, Ordering::Relaxed);
        state
    }

    /// Whether some struct-side listener of the model listens to `event`.
    pub(crate) fn struct_side_has(&self, event: Event) -> bool {
        self.struct_bits & fixed_bit(event) != 0
    }
}

/// Registration's side of the cells: taken to register, remove or initialise, never by a
/// write that finds its bits clear.
pub(crate) struct Global {
    /// The initialised cells.
    pub(crate) cells: Vec<&'static Listeners>,
    /// The events some run-time listener of every model listens to.
    pub(crate) every_mask: u32,
    /// The next run-time listener's id.
    pub(crate) next_id: u64,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    cells: Vec::new(),
    every_mask: 0,
    next_id: 1,
});

/// Locks [`GLOBAL`]. A panic while it was held (a user's `Drop` cannot run under it) left
/// it consistent: every change is made in one assignment.
pub(crate) fn global() -> MutexGuard<'static, Global> {
    GLOBAL.lock().unwrap_or_else(PoisonError::into_inner)
}
