//! Every model in the binary ([`models`]), and the configuration events: SQLAlchemy's
//! `mapper_configured`, `before_configured` and `after_configured`, which run once, before
//! the program's first read or write of any model (or at [`configure`]).
//!
//! The derive adds each model to the linker-gathered `MODELS`, as `#[listens_for]` adds a
//! function-side listener to `FUNCTION_LISTENERS` (see [`super::registry`] for why a linker
//! slice): nothing runs before `main`, and a model of another crate is listed too.

use std::any::TypeId;
use std::cell::Cell;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::base::event::ListenerInfo;
use crate::base::table::Table;
use crate::listen::registry::Listeners;

/// One model of the binary, as [`models`] lists it: its names, its table and its listeners.
#[derive(Debug)]
pub struct ModelInfo {
    /// The struct's name, `"Post"`.
    pub name: &'static str,
    /// The struct's module path, `"blog::models"`: two models of one name differ by it.
    pub module: &'static str,
    #[doc(hidden)]
    pub type_id: fn() -> TypeId,
    #[doc(hidden)]
    pub parts: fn() -> ModelParts,
}

/// What [`ModelInfo`] reads of a model's hidden half.
#[doc(hidden)]
pub struct ModelParts {
    table: Table,
    cell: &'static Listeners,
}

/// The model `M`, for the derive's registration: `(&ModelProbe::<M>(PhantomData)).__parts()`
/// is its [`ModelParts`] through [`ViaRecord`] where `M` is a `Record`, and through
/// [`ViaNoRecord`] where it is not: a model whose field types are wrong, which does not
/// compile anyway, gets no second error here (the "autoref specialisation" of
/// `base::value::Probe`).
#[doc(hidden)]
pub struct ModelProbe<M>(pub std::marker::PhantomData<fn() -> M>);

#[doc(hidden)]
pub trait ViaRecord {
    fn __parts(&self) -> ModelParts;
}

impl<M: crate::listen::record::Record> ViaRecord for ModelProbe<M> {
    fn __parts(&self) -> ModelParts {
        ModelParts {
            table: M::__TABLE,
            cell: M::__listeners(),
        }
    }
}

#[doc(hidden)]
pub trait ViaNoRecord {
    fn __parts(&self) -> ModelParts;
}

impl<M> ViaNoRecord for &ModelProbe<M> {
    fn __parts(&self) -> ModelParts {
        unreachable!("a model whose derive failed does not compile")
    }
}

impl ModelInfo {
    /// The table's name, unquoted.
    pub fn table(&self) -> &'static str {
        (self.parts)().table.name
    }

    /// The table's schema, if the model names one.
    pub fn schema(&self) -> Option<&'static str> {
        (self.parts)().table.schema
    }

    /// The column names, in field order.
    pub fn columns(&self) -> &'static [&'static str] {
        (self.parts)().table.columns
    }

    /// The primary key's columns, as indices into [`ModelInfo::columns`].
    pub fn primary_key(&self) -> &'static [usize] {
        (self.parts)().table.key
    }

    /// Every listener declared for the model (struct-side, then function-side, of this
    /// model and of every model), as [`Model::listeners`](crate::Model::listeners) lists
    /// them per event. Run-time listeners are not listed.
    pub fn listeners(&self) -> &'static [ListenerInfo] {
        &(self.parts)().cell.fixed().infos
    }

    /// Whether this is model `M`.
    pub fn is<M: 'static>(&self) -> bool {
        (self.type_id)() == TypeId::of::<M>()
    }
}

/// Every `#[derive(Model)]` struct in the binary, gathered by the linker.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static MODELS: [&'static ModelInfo];

/// Every model of the binary, by name then module path: for start-up checks, an admin
/// screen, a schema tool.
///
/// ```
/// use model_core::Model;
/// #[derive(Model)] struct Post { id: Option<i64>, title: String }
///
/// let post = model_core::models().iter().find(|m| m.is::<Post>()).unwrap();
/// assert_eq!((post.name, post.table(), post.columns()), ("Post", "post", &["id", "title"][..]));
/// ```
pub fn models() -> &'static [&'static ModelInfo] {
    static SORTED: OnceLock<Vec<&'static ModelInfo>> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut models: Vec<&'static ModelInfo> = MODELS.iter().copied().collect();
        models.sort_by_key(|m| (m.name, m.module));
        models
    })
}

/// A configuration event: when a configuration listener runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigureEvent {
    /// For each model not configured yet, at each configuration run, before anything else
    /// of the run (`before_model_configured`: SQLAlchemy's `before_mapper_configured`). Its
    /// listeners return a [`Configure`]: [`Configure::Postpone`] leaves the model out of
    /// this run, to a later one.
    BeforeModelConfigured,
    /// Once per run that configures a model, before the models' `model_configured`
    /// listeners (`before_configured`).
    BeforeConfigured,
    /// Once per model, in [`models`] order, with its [`ModelInfo`] (`model_configured`:
    /// SQLAlchemy's `mapper_configured`, and its `after_mapper_constructed`, which a model
    /// defined at compile time has no separate moment for).
    ModelConfigured,
    /// Once per run that configures a model, after its models' `model_configured`
    /// listeners, with [`models`] (`after_configured`).
    AfterConfigured,
}

/// What a `before_model_configured` listener decides about a model: SQLAlchemy's
/// `EXT_CONTINUE` and `EXT_SKIP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Configure {
    /// Configure it in this run.
    Continue,
    /// Leave it out of this run: its `model_configured` listeners run at a later run (the
    /// next [`configure`] call, or the first read or write of a model not used yet), when
    /// every listener says [`Configure::Continue`]. The model can be read and written
    /// meanwhile: its table and row listeners are compiled in, only its configuration
    /// listeners wait.
    Postpone,
}

impl ConfigureEvent {
    /// The event's name as written in `#[model_core::listens_for(...)]`.
    pub const fn name(self) -> &'static str {
        match self {
            ConfigureEvent::BeforeModelConfigured => "before_model_configured",
            ConfigureEvent::BeforeConfigured => "before_configured",
            ConfigureEvent::ModelConfigured => "model_configured",
            ConfigureEvent::AfterConfigured => "after_configured",
        }
    }
}

/// How a configuration listener is called.
#[doc(hidden)]
pub enum ConfigureCall {
    /// `before_configured`, `after_configured`: `fn(&[&ModelInfo])`.
    Models(fn(&'static [&'static ModelInfo])),
    /// `model_configured`: `fn(&ModelInfo)`.
    Model(fn(&'static ModelInfo)),
    /// `before_model_configured`: `fn(&ModelInfo) -> Configure`.
    Decide(fn(&'static ModelInfo) -> Configure),
}

/// One configuration listener, as `#[model_core::listens_for(model_configured)]` registers it.
#[doc(hidden)]
pub struct ConfigureListener {
    /// Its event.
    pub event: ConfigureEvent,
    /// `module::path::function`: its place in the order.
    pub name: &'static str,
    /// The call.
    pub call: ConfigureCall,
}

/// Every configuration listener in the binary, gathered by the linker.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static CONFIGURE_LISTENERS: [ConfigureListener];

/// The models whose `model_configured` listeners have not run, `None` before the first
/// run (under the lock: a second caller waits for the first to finish).
static PENDING: Mutex<Option<Vec<&'static ModelInfo>>> = Mutex::new(None);

thread_local! {
    /// Set while this thread runs the configuration listeners: a listener that reads a
    /// model's listeners (which would configure first) does not wait for itself.
    static CONFIGURING: Cell<bool> = const { Cell::new(false) };
}

/// Runs the configuration listeners of the models not configured yet. The first read or
/// write of each model calls it; call it at start-up to run them (and their checks) before
/// serving. A run asks the `before_model_configured` listeners about each such model, then,
/// if any model is to be configured: `before_configured`, `model_configured` for each of
/// them in [`models`] order, `after_configured`; each event's listeners by name. A model a
/// listener postponed ([`Configure::Postpone`]) waits for a later run; when every model is
/// configured, calls do nothing.
///
/// ```
/// use model_core::ModelInfo;
///
/// // Refuse to start with a model whose table is not snake_case.
/// #[model_core::listens_for(model_configured)]
/// fn snake_case_tables(model: &ModelInfo) {
///     assert!(model.table().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
///             "{}: table {:?} is not snake_case", model.name, model.table());
/// }
///
/// model_core::configure();
/// ```
pub fn configure() {
    if CONFIGURING.with(Cell::get) {
        return;
    }
    let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
    let waiting = pending.get_or_insert_with(|| models().to_vec());
    if waiting.is_empty() {
        return;
    }
    CONFIGURING.with(|c| c.set(true));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CONFIGURING.with(|c| c.set(false));
        }
    }
    let _reset = Reset;
    let mut listeners: Vec<&ConfigureListener> = CONFIGURE_LISTENERS.iter().collect();
    listeners.sort_by_key(|l| l.name);
    let of = |event: ConfigureEvent| listeners.iter().filter(move |l| l.event == event);
    let postponed = |model: &'static ModelInfo| {
        of(ConfigureEvent::BeforeModelConfigured).any(|listener| match listener.call {
            ConfigureCall::Decide(decide) => decide(model) == Configure::Postpone,
            _ => false,
        })
    };
    let (later, now): (Vec<_>, Vec<_>) = waiting.iter().partition(|&&model| postponed(model));
    if now.is_empty() {
        return;
    }
    // Set first: a listener that panics is not run again by every later read.
    *waiting = later;
    for listener in of(ConfigureEvent::BeforeConfigured) {
        if let ConfigureCall::Models(call) = listener.call {
            call(models());
        }
    }
    for model in now {
        for listener in of(ConfigureEvent::ModelConfigured) {
            if let ConfigureCall::Model(call) = listener.call {
                call(model);
            }
        }
    }
    for listener in of(ConfigureEvent::AfterConfigured) {
        if let ConfigureCall::Models(call) = listener.call {
            call(models());
        }
    }
}

/// A function that can listen to `before_model_configured`: `fn(&ModelInfo) -> Configure`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot listen to `before_model_configured`",
    label = "expected `fn(model: &model_core::ModelInfo) -> model_core::Configure`",
    note = "return `Configure::Continue` to configure the model now, `Configure::Postpone` to leave it to a later run"
)]
pub trait BeforeModelConfigured {
    /// Calls it.
    fn __call(&self, model: &'static ModelInfo) -> Configure;
}

impl<F: Fn(&ModelInfo) -> Configure> BeforeModelConfigured for F {
    fn __call(&self, model: &'static ModelInfo) -> Configure {
        self(model)
    }
}

/// A function that can listen to `model_configured`: `fn(&ModelInfo)`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot listen to `model_configured`",
    label = "expected `fn(model: &model_core::ModelInfo)`",
    note = "`model_configured` runs once per model, before the program's first read or write"
)]
pub trait ModelConfigured {
    /// Calls it.
    fn __call(&self, model: &'static ModelInfo);
}

impl<F: Fn(&ModelInfo)> ModelConfigured for F {
    fn __call(&self, model: &'static ModelInfo) {
        self(model);
    }
}

/// A function that can listen to `before_configured` or `after_configured`:
/// `fn(&[&ModelInfo])`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot listen to `before_configured` or `after_configured`",
    label = "expected `fn(models: &[&model_core::ModelInfo])`",
    note = "these run once, with every model of the binary (`model_core::models()`)"
)]
pub trait Configured {
    /// Calls it.
    fn __call(&self, models: &'static [&'static ModelInfo]);
}

impl<F: Fn(&[&ModelInfo])> Configured for F {
    fn __call(&self, models: &'static [&'static ModelInfo]) {
        self(models);
    }
}
