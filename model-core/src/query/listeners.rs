//! `before_query` listeners: what every query of a model runs through before its SQL is
//! written (a soft-delete filter, a tenant filter), and the options a caller passes them.
//!
//! A [`Select`] remembers its model's listeners as a plain `fn` (its [`Plan`] knows no
//! model type) and runs them once, at its first run ([`Plan::listened`]); the listeners
//! themselves live in the model's listener cell with every other listener, so the order,
//! [`ListenOptions::first`](crate::ListenOptions::first) and removal work as they do there.

use std::any::Any;
use std::future::Future;

use sqlx::Acquire;

use crate::base::error::{BoxError, Error};
use crate::db::backend::Backend;
use crate::db::key::PrimaryKey;
use crate::listen::listener::{marker, Event};
use crate::listen::private::Listeners;
use crate::listen::record::Record;
use crate::listen::{on, ListenOptions, Listening, RuntimeListener};
use crate::write::ops::{self, Page, Source};

use super::column::{Column, IntoValue, Sort};
use super::filter::{Node, Op};
use super::{Plan, Select};
use crate::base::column::ColumnType;

/// A function or closure that can listen to `before_query` for model `M`: it gets the
/// query and returns it, narrowed (`fn(Select<M>) -> Select<M>`), or refuses it
/// (`fn(Select<M>) -> Result<Select<M>, E>`: the read or write fails with
/// [`Error::Listener`] naming the listener and holding `E`, and sends nothing).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot listen to `before_query` of `{M}`",
    label = "expected `fn(Select<{M}>) -> Select<{M}>` or `fn(Select<{M}>) -> Result<Select<{M}>, E>`",
    note = "a query listener takes the query and returns it, narrowed: `|q: Select<{M}>| q.filter(|p| p.deleted.eq(false))`"
)]
pub trait QueryListener<M, Marker>: Send + Sync + 'static {
    /// Runs the listener on `query`.
    #[doc(hidden)]
    fn __call(&self, query: Select<M>) -> Result<Select<M>, BoxError>;
}

impl<M, L> QueryListener<M, marker::Plain> for L
where
    L: Fn(Select<M>) -> Select<M> + Send + Sync + 'static,
{
    fn __call(&self, query: Select<M>) -> Result<Select<M>, BoxError> {
        Ok(self(query))
    }
}

impl<M, L, E> QueryListener<M, marker::Fallible<E>> for L
where
    L: Fn(Select<M>) -> Result<Select<M>, E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    fn __call(&self, query: Select<M>) -> Result<Select<M>, BoxError> {
        self(query).map_err(Into::into)
    }
}

/// Calls `listener` on the query in `slot` (an `Option<Plan>` as `dyn Any`, the model's
/// `Select` without its type, so that what runs the listeners is compiled once, not once
/// per model): the erased call the model's listener cell holds.
fn call<M: Record, Mk, L: QueryListener<M, Mk>>(
    listener: &L,
    slot: &mut dyn Any,
) -> Result<(), BoxError> {
    let Some(slot) = slot.downcast_mut::<Option<Plan>>() else {
        panic!("a query listener gets the plan of a query")
    };
    let Some(plan) = slot.take() else {
        panic!("a query is in the slot")
    };
    let query = Select::<M> {
        plan,
        model: std::marker::PhantomData,
    };
    *slot = Some(listener.__call(query)?.plan);
    Ok(())
}

/// What the function-side shim the derive writes for `#[listens_for(before_query)]` calls.
#[doc(hidden)]
pub fn shim_query<M: Record, Mk, L: QueryListener<M, Mk>>(
    listener: L,
    slot: &mut dyn Any,
) -> Result<(), BoxError> {
    call::<M, Mk, L>(&listener, slot)
}

/// The model a `before_query` listener's argument names: `Select<Post>` is `Post`'s query.
/// For the derive, which sees the argument's type but not the model's.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a `before_query` listener takes the query, `Select<Post>`, not `{Self}`",
    label = "expected `Select<Post>` (the model's query); a row listener takes `&Post`",
    note = "`#[model_core::listens_for(before_query)] fn hide_deleted(query: Select<Post>) -> Select<Post>`"
)]
pub trait QueryOf {
    /// The model.
    type Model: Record;
}

impl<M: Record> QueryOf for Select<M> {
    type Model = M;
}

/// Runs the `before_query` listeners of the model whose cell `cell` is on `plan`:
/// [`Plan::listened`]'s work. Not generic: the listeners get the plan as the model's
/// `Select` from their own shims ([`call`]).
fn run(cell: &'static Listeners, plan: &mut Plan) -> Result<(), Error> {
    if !listened(cell) {
        return Ok(());
    }
    let mut slot = Some(std::mem::replace(plan, Plan::empty()));
    let ran = crate::listen::run_query(cell, &mut slot);
    // A listener that failed took the query with it: the caller gets its error and runs
    // nothing, so the empty plan left behind is never run.
    if let Some(listened) = slot {
        *plan = listened;
    }
    ran
}

impl Plan {
    /// Runs the model's `before_query` listeners if they have not run on this plan yet:
    /// once per query, however many statements it takes (a stream's chunks).
    pub(crate) fn listened(&mut self) -> Result<(), Error> {
        match self.listeners.take() {
            Some(cell) => run(cell, self),
            None => Ok(()),
        }
    }
}

impl<M: Record> Select<M> {
    /// Sets an option the model's `before_query` listeners can read with
    /// [`Select::has_option`], SQLAlchemy's `execution_options`: `.option("with_deleted")`
    /// for a listener that otherwise hides deleted rows. It changes nothing else.
    #[must_use]
    pub fn option(mut self, option: &'static str) -> Self {
        if !self.plan.options.contains(&option) {
            self.plan.options.push(option);
        }
        self
    }

    /// Whether [`Select::option`] set `option` on this query: for `before_query` listeners.
    pub fn has_option(&self, option: &str) -> bool {
        self.plan.options.contains(&option)
    }

    /// Answers the query with `rows` instead of reading the database: for a `before_query`
    /// listener that keeps a cache (SQLAlchemy's `do_orm_execute` returning a result).
    /// Nothing is sent. The rows are the query's answer as given: no `load` listener runs
    /// (they ran when the rows were first read), and no filter, order, `limit` or `offset`
    /// is applied to them. [`Select::all`] returns them, [`Select::first`] the first,
    /// [`Select::one`] the one (or [`Error::NoRows`], [`Error::TooManyRows`]),
    /// [`Select::count`] how many, [`Select::exists`] whether any, [`Select::stream`] streams
    /// them; `get`, `find`, `all`, `page` and eager loading read through the same path. A
    /// set-based [`Select::update`] or [`Select::delete`] of an answered query is refused
    /// with [`Error::Unsupported`] before anything is written: a write must read the rows it
    /// changes from the database, not from a copy. Call it again to replace the answer.
    ///
    /// ```
    /// # use model_core::{Model, Select};
    /// # #[derive(Clone, Model)] struct Country { #[model(primary_key)] code: String, name: String }
    /// // Countries never change while the program runs: read them once.
    /// static CACHE: std::sync::OnceLock<Vec<Country>> = std::sync::OnceLock::new();
    ///
    /// fn from_cache(query: Select<Country>) -> Select<Country> {
    ///     match CACHE.get() {
    ///         Some(all) if query.has_option("all_countries") => query.answer(all.clone()),
    ///         _ => query,
    ///     }
    /// }
    /// # let _ = from_cache;
    /// ```
    #[must_use]
    pub fn answer(mut self, rows: Vec<M>) -> Self
    where
        M: Clone,
    {
        self.plan.answer = Some(crate::db::rows::Answer::new(rows));
        self
    }

    /// Replaces the value the query compares `column` with: every `=`, `<>`, `<`, `<=`,
    /// `>` and `>=` of that column in its filter now binds `value` (an `in_` list on it
    /// becomes `value` alone). For a `before_query` listener that rewrites what a caller
    /// asked for (SQLAlchemy's `do_orm_execute` changing the statement's parameters); to
    /// narrow a query, add a [`Select::filter`] instead. Patterns (`like`, `contains`, ...),
    /// `is_null` and the filters of related models (`any_child`, `has_parent`) are left as
    /// they are. Replaces nothing if the query does not compare `column`.
    ///
    /// ```
    /// # use model_core::{Model, Select};
    /// # #[derive(Model)] struct Post { id: Option<i64>, tenant: i64, title: String }
    /// # fn current_tenant() -> i64 { 7 }
    /// // Whatever tenant the caller named, the query reads the current one's rows.
    /// fn own_tenant(query: Select<Post>) -> Select<Post> {
    ///     query.rebind(|p| p.tenant, current_tenant())
    /// }
    /// # let _ = own_tenant;
    /// ```
    #[must_use]
    pub fn rebind<T, V>(
        mut self,
        column: impl FnOnce(&M::__Columns) -> Column<M, T>,
        value: V,
    ) -> Self
    where
        T: ColumnType + Clone,
        V: IntoValue<T>,
    {
        let column = column(&M::__HANDLES).index();
        let may_be_null = T::__NULLABLE && V::__MAY_BE_NONE;
        let value = value.into_value();
        if let Some(filter) = &mut self.plan.filter {
            filter.rebind(column, &value, may_be_null);
        }
        self
    }
}

impl Plan {
    /// Runs the model's `before_query` listeners (once); the rows one of them answered the
    /// query with, if one did ([`Select::answer`]).
    pub(crate) fn answered<M: Record>(&mut self) -> Result<Option<Vec<M>>, Error> {
        self.listened()?;
        let Some(answer) = self.answer.take() else {
            return Ok(None);
        };
        let mut rows = Vec::<M>::new();
        answer.take(&mut rows);
        Ok(Some(rows))
    }

    /// Refuses to send the statement of an answered query: what reads the answer took it
    /// already, so what is left (a set-based write) needs the database's rows.
    pub(crate) fn unanswered(&self, model: &'static str) -> Result<(), Error> {
        match self.answer {
            Some(_) => Err(Error::Unsupported {
                model,
                what: "a `before_query` listener answered this query with rows \
                       (`Select::answer`), and a set-based update or delete writes the \
                       rows it reads from the database: answer only reads",
            }),
            None => Ok(()),
        }
    }
}

/// `listen(on::BeforeQuery, |q: Select<Post>| ..)`.
impl<M: Record, L, Mk> RuntimeListener<M, on::shape::Query, (marker::Plain, Mk)> for L
where
    L: QueryListener<M, Mk>,
{
    fn __register(self, event: Event, options: ListenOptions) -> Listening {
        let call = Box::new(move |slot: &mut dyn Any| call::<M, Mk, L>(&self, slot));
        crate::listen::register_query(
            M::__listeners(),
            event,
            std::any::type_name::<L>(),
            options,
            call,
        )
    }
}

/// Whether the model of `cell` has `before_query` listeners: then [`by_key`] and [`fetch`]
/// run them on a plan of their read, and send its statement instead of the prepared one.
fn listened(cell: &'static Listeners) -> bool {
    cell.state() & crate::listen::bits(Event::BeforeQuery) != 0
}

/// What [`Model::find`](crate::Model::find) and [`Model::get`](crate::Model::get) read
/// the row of `key` by, for the model whose listener cell is `cell`: `None` for the model's
/// prepared statement; when it has `before_query` listeners, the `SELECT` they leave (or
/// their answer, whose first row is the row, or their refusal). Both ways are one read
/// ([`ops::find`]): only the statement differs, so a model compiles one read by key, not
/// two, and this is compiled once per key type (issue 28: compile cost per model).
pub(crate) fn by_key<K: PrimaryKey, DB: Backend>(
    cell: &'static Listeners,
    table: super::sql::Table,
    key: &K,
) -> Option<Source<DB>> {
    match listened(cell) {
        true => {
            let filter = key_is(table.key, key);
            Some(Plan::listened_by(cell, Some(filter), None, table.key).source::<DB>(table))
        }
        false => None,
    }
}

/// [`Model::all`](crate::Model::all) and [`Model::page`](crate::Model::page), as [`by_key`].
pub(crate) fn fetch<'c, M, A>(
    db: A,
    page: Option<Page>,
) -> impl Future<Output = Result<Vec<M>, Error>> + Send + use<'c, M, A>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let source = match listened(M::__listeners()) {
        true => Some(
            Plan::listened_by(M::__listeners(), None, page, M::__TABLE.key)
                .source::<A::Database>(M::__TABLE),
        ),
        false => None,
    };
    ops::fetch(db, page, source)
}

impl Plan {
    /// The query of the rows `filter` selects (a page of them in key order, if `page`),
    /// for the `before_query` listeners of the model whose cell `cell` is: [`by_key`]'s
    /// and [`fetch`]'s, compiled once.
    fn listened_by(
        cell: &'static Listeners,
        filter: Option<Node>,
        page: Option<Page>,
        key: &[usize],
    ) -> Plan {
        let mut plan = Plan::empty();
        plan.filter = filter;
        plan.listeners = Some(cell);
        if let Some(page) = page {
            plan.paged(key, page);
        }
        plan
    }

    /// What a read by key or of every row reads after the listeners ran on this plan: the
    /// plan's statement, the listeners' answer, or their refusal.
    fn source<DB: Backend>(mut self, table: super::sql::Table) -> Source<DB> {
        if let Err(error) = self.listened() {
            return Source::Refused(error);
        }
        match self.answer.take() {
            Some(answer) => Source::Answer(answer),
            None => match self.statement::<DB>(table) {
                Ok(query) => Source::Statement(query),
                Err(error) => Source::Refused(error),
            },
        }
    }

    /// One page of rows in key order: `page`'s limit and offset, ordered by `key`'s columns.
    fn paged(&mut self, key: &[usize], page: Page) {
        self.order = key
            .iter()
            .map(|&column| Sort::key(column, page.descending))
            .collect();
        self.limit = Some(i64::from(page.limit));
        self.offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    }
}

/// Each of the key `columns` equal to its part of `key`: compiled once per key type.
fn key_is<K: PrimaryKey>(columns: &[usize], key: &K) -> Node {
    let mut parts = Vec::new();
    key.__values(&mut parts);
    columns_are(columns, &parts)
}

/// Each of `columns` equal to its value in `values`: [`key_is`], compiled once.
fn columns_are(columns: &[usize], values: &[&dyn crate::db::value::Value]) -> Node {
    columns
        .iter()
        .zip(values)
        .map(|(&column, value)| Node::Compare {
            column,
            op: Op::Eq,
            value: value.clone_box(),
            null_aware: false,
        })
        .reduce(|a, b| Node::And(Box::new(a), Box::new(b)))
        .expect("a key has a column")
}
