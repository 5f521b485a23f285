//! What a listener of every model gets: [`AnyModel`], a read-only view of whichever model
//! is being written, and the listener shapes that take it.

use std::any::Any;
use std::future::{ready, Future};

use crate::base::error::BoxError;
use crate::base::value::Value;
use crate::db::backend::Backend;
use crate::db::conn::Conn;
use crate::db::session::Session;
use crate::listen::listener::{marker, Failure, ListenerResult};
use crate::listen::record::Record;

/// Any model, as a listener of every model sees it: its name, table, columns and their
/// values. Object safe: such a listener takes `&dyn AnyModel`.
///
/// ```
/// use model_core::{AnyModel, Value};
///
/// /// Logs every insert of every model.
/// #[model_core::listens_for(after_insert)]
/// fn log_insert(model: &dyn AnyModel) {
///     let key = model.key_value();
///     println!("{} {key} inserted into {}", model.model_name(), model.table_name());
/// }
/// ```
///
/// To reach one model's fields, downcast: `model.downcast_ref::<Post>()`. Every model
/// implements it; so does [`ModelRow`], the copy `after_*_commit` listeners get.
pub trait AnyModel: Send + Sync + 'static {
    /// The model's name: `"Post"`.
    fn model_name(&self) -> &'static str;
    /// Its table, unquoted.
    fn table_name(&self) -> &'static str;
    /// Its column names, unquoted, in field order.
    fn column_names(&self) -> &'static [&'static str];
    /// Its column values, in [`AnyModel::column_names`] order.
    fn column_values(&self) -> Vec<Value>;
    /// The primary key's value; [`Value::Null`] before a generated key is set. A composite
    /// key is [`Value::Tuple`] of its columns' values, in key order.
    fn key_value(&self) -> Value;
    /// One column's value, by column name; `None` if the model has no such column.
    fn column_value(&self, column: &str) -> Option<Value> {
        column_value_in(self.column_names(), self.column_values(), column)
    }
    /// A copy of the name, table and values that outlives the model.
    fn to_row(&self) -> ModelRow {
        ModelRow {
            model: self.model_name(),
            table: self.table_name(),
            columns: self.column_names(),
            key: self.key_value(),
            values: self.column_values(),
        }
    }
    #[doc(hidden)]
    fn __as_any(&self) -> &dyn Any;
    #[doc(hidden)]
    fn __as_any_mut(&mut self) -> &mut dyn Any;
}

// The bodies of `column_value` and `key_value`, which every model's vtable holds: compiled
// once here, not once per model (issue 10).

fn column_value_in(names: &[&str], values: Vec<Value>, column: &str) -> Option<Value> {
    let index = names.iter().position(|c| *c == column)?;
    values.into_iter().nth(index)
}

/// `to_row` of a model: the trait's default body, compiled once rather than in every
/// model's vtable (issue 28).
fn to_row_in(model: &dyn AnyModel) -> ModelRow {
    ModelRow {
        model: model.model_name(),
        table: model.table_name(),
        columns: model.column_names(),
        key: model.key_value(),
        values: model.column_values(),
    }
}

fn key_value_in(mut values: Vec<Value>, keys: &[usize]) -> Value {
    match keys {
        &[key] if key < values.len() => values.swap_remove(key),
        [_] => Value::Null,
        keys => Value::Tuple(
            keys.iter()
                .map(|&key| values.get(key).cloned().unwrap_or(Value::Null))
                .collect(),
        ),
    }
}

impl dyn AnyModel {
    /// The model as its own type, if it is an `M`. `None` for a [`ModelRow`].
    pub fn downcast_ref<M: Record>(&self) -> Option<&M> {
        self.__as_any().downcast_ref()
    }
}

impl<M: Record> AnyModel for M {
    fn model_name(&self) -> &'static str {
        M::__TABLE.model
    }
    fn table_name(&self) -> &'static str {
        M::__TABLE.name
    }
    fn column_names(&self) -> &'static [&'static str] {
        M::__TABLE.columns
    }
    fn column_values(&self) -> Vec<Value> {
        let mut values = Vec::with_capacity(M::__TABLE.columns.len());
        self.__values(&mut values);
        values
    }
    fn key_value(&self) -> Value {
        key_value_in(self.column_values(), M::__TABLE.key)
    }
    fn to_row(&self) -> ModelRow {
        to_row_in(self)
    }
    fn __as_any(&self) -> &dyn Any {
        self
    }
    fn __as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A model's name, table and values, copied: what a listener of every model gets for the
/// `before_commit`, `after_*_commit` and `after_rollback` events, which run after the write
/// has given the model back.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    /// [`AnyModel::model_name`].
    pub model: &'static str,
    /// [`AnyModel::table_name`].
    pub table: &'static str,
    /// [`AnyModel::column_names`].
    pub columns: &'static [&'static str],
    /// [`AnyModel::key_value`].
    pub key: Value,
    /// [`AnyModel::column_values`].
    pub values: Vec<Value>,
}

impl AnyModel for ModelRow {
    fn model_name(&self) -> &'static str {
        self.model
    }
    fn table_name(&self) -> &'static str {
        self.table
    }
    fn column_names(&self) -> &'static [&'static str] {
        self.columns
    }
    fn column_values(&self) -> Vec<Value> {
        self.values.clone()
    }
    fn key_value(&self) -> Value {
        self.key.clone()
    }
    fn to_row(&self) -> ModelRow {
        self.clone()
    }
    fn __as_any(&self) -> &dyn Any {
        self
    }
    fn __as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A function that can listen to an event of every model. It gets the model read-only,
/// whatever the event: it may veto a write, or run SQL in its transaction, but changes
/// belong to the listeners of one model, which can name its fields.
///
/// Implemented for `fn(&dyn AnyModel)`, `fn(&dyn AnyModel) -> Result<(), E>` and `async
/// fn(&dyn AnyModel, &mut Conn<DB>) -> Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a listener of every model",
    label = "expected `fn(&dyn AnyModel)`, `fn(&dyn AnyModel) -> Result<(), E>` or `async fn(&dyn AnyModel, &mut Conn<DB>) -> Result<(), E>`",
    note = "a listener of every model gets each model as `&dyn model_core::AnyModel`, read-only, whatever the event"
)]
pub trait EveryModelListener<DB: Backend, Marker> {
    /// Calls the listener.
    fn call<'a>(
        &'a self,
        model: &'a dyn AnyModel,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a;
}

/// Names the future of an async listener of every model (see `AsyncRefFn`).
#[doc(hidden)]
pub trait AsyncEveryFn<'a, DB: Backend>:
    Fn(&'a dyn AnyModel, &'a mut Conn<DB>) -> Self::Fut
{
    type Fut: Future<Output = Self::Out> + Send + 'a;
    type Out;
}

impl<'a, DB: Backend, F, Fut> AsyncEveryFn<'a, DB> for F
where
    F: Fn(&'a dyn AnyModel, &'a mut Conn<DB>) -> Fut,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

impl<DB: Backend, F> EveryModelListener<DB, marker::Plain> for F
where
    F: Fn(&dyn AnyModel) + Sync,
{
    fn call<'a>(
        &'a self,
        model: &'a dyn AnyModel,
        _session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        self(model);
        ready(Ok(()))
    }
}

impl<DB: Backend, F, E> EveryModelListener<DB, marker::Fallible<E>> for F
where
    F: Fn(&dyn AnyModel) -> Result<(), E> + Sync,
    E: Into<BoxError>,
{
    fn call<'a>(
        &'a self,
        model: &'a dyn AnyModel,
        _session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        ready(self(model).map_err(|e| Failure::Listener(e.into())))
    }
}

impl<DB: Backend, F> EveryModelListener<DB, marker::Async> for F
where
    F: for<'a> AsyncEveryFn<'a, DB> + Sync,
    for<'a> <F as AsyncEveryFn<'a, DB>>::Out: ListenerResult,
{
    // As the trait declares it: an `async fn` here would not promise `Send`.
    #[allow(clippy::manual_async_fn)]
    fn call<'a>(
        &'a self,
        model: &'a dyn AnyModel,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        async move {
            session.begin().await.map_err(Failure::Begin)?;
            self(model, session.conn())
                .await
                .into_listener_result()
                .map_err(Failure::Listener)
        }
    }
}

/// A function that can listen to an `after_*_commit` or `after_rollback` event of every
/// model: `fn(&dyn AnyModel)` or `async fn(&dyn AnyModel)`. It gets a [`ModelRow`], the copy
/// made when the row was written.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an after-commit listener of every model",
    label = "expected `fn(&dyn AnyModel)` or `async fn(&dyn AnyModel)`",
    note = "after_*_commit and after_rollback listeners run once the transaction has ended: there is no transaction to use and nothing to veto, so they take no connection and return nothing"
)]
pub trait EveryModelCommitListener<Marker>: Send + Sync + 'static {
    /// Calls the listener.
    fn call<'a>(&'a self, model: &'a dyn AnyModel) -> impl Future<Output = ()> + Send + 'a;
}

#[doc(hidden)]
pub trait AsyncEveryCommitFn<'a>: Fn(&'a dyn AnyModel) -> Self::Fut {
    type Fut: Future<Output = Self::Out> + Send + 'a;
    type Out;
}

impl<'a, F, Fut> AsyncEveryCommitFn<'a> for F
where
    F: Fn(&'a dyn AnyModel) -> Fut,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

impl<F> EveryModelCommitListener<marker::Plain> for F
where
    F: Fn(&dyn AnyModel) + Send + Sync + 'static,
{
    fn call<'a>(&'a self, model: &'a dyn AnyModel) -> impl Future<Output = ()> + Send + 'a {
        self(model);
        ready(())
    }
}

impl<F> EveryModelCommitListener<marker::Async> for F
where
    F: for<'a> AsyncEveryCommitFn<'a, Out = ()> + Send + Sync + 'static,
{
    fn call<'a>(&'a self, model: &'a dyn AnyModel) -> impl Future<Output = ()> + Send + 'a {
        self(model)
    }
}
