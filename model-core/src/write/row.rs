//! One row's `insert`, `update` and `delete` inside the write's transaction
//! ([`crate::write::ops`]), compiled once per backend: the model's part (listener calls, binding,
//! keys) is behind [`WriteRow`]'s vtable, a few synchronous methods per model.
//!
//! Why: these paths are async state machines, and an async function generic over the model
//! is a state machine, its drop glue and its error paths stamped out once per model (issue
//! 10: they were a quarter of a model's generated code). A virtual call costs nanoseconds
//! against a statement's round trip; a listener call is boxed only when something listens.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use crate::base::error::Error;
use crate::base::statements::Statements;
use crate::base::table::{ReadBack, ReadBy};
use crate::db::backend::{decode_key, Backend, GeneratedKey, Query};
use crate::db::commit::{self, Callback};
use crate::db::key::PrimaryKey;
use crate::db::session::Session;
use crate::listen::listener::Event;
use crate::listen::private::Listeners;
use crate::listen::private::{OwnMut, OwnRef};
use crate::listen::record::Record;
use crate::listen::{
    before_commit_call, before_commit_listeners, cell_has_in, run_mut_in, run_ref_in,
};
use crate::write::cascade;
use crate::write::rules::prepare;
use crate::AnyModel;

/// A model's key, erased: an update keeps the key its row was read with, to refuse a
/// listener's change of it and to name the row.
pub(crate) type AnyKey = Box<dyn Any + Send + Sync>;

/// The future of a boxed listener call or write.
pub(crate) type RowFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// A model's struct-side listeners of an event that hands out `&mut M`, by position
/// (`Record::__struct_mut`).
type StructMut<DB> = fn(Event, usize) -> OwnMut<DB>;

/// [`StructMut`] for the events that hand out `&M` (`Record::__struct_ref`).
type StructRef<DB> = fn(Event, usize) -> OwnRef<DB>;

/// Where a row read back after a write has the read-back columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returned {
    /// After the key's columns: an insert's `RETURNING key..., read back...`, whose key
    /// the database generated when `generated_key`.
    AfterKey { generated_key: bool },
    /// From column 0: an update's `RETURNING`, or the read-back `SELECT`.
    Alone,
}

/// What an update sends once its `before_update` listeners have run.
pub(crate) enum UpdateStatement<DB: Backend> {
    /// The `UPDATE` of every column but the key (and the version check), `RETURNING` the
    /// generated columns where the model has them and the backend reads them so
    /// (`read_by` of `dyn WriteRow`).
    Set(Query<'static, DB>),
    /// A table of just its key (and generated columns) has nothing to set: the row is
    /// looked up, so that the update still says whether it exists (and its generated
    /// columns are read).
    Exists(Query<'static, DB>),
}

/// The model's part of a one-row write: what only the model knows (its fields, its key's
/// type, its listeners), each a small method. What a write does with them (which statement,
/// which columns to read back, the key checks) is in the methods of `dyn WriteRow` below,
/// compiled once per backend: every method of this trait is compiled once per model, since
/// a model's vtable holds them all whether a write calls them or not (issue 28).
pub(crate) trait WriteRow<DB: Backend>: AnyModel {
    /// The model's listener cell; its name is the model's.
    fn cell(&self) -> &'static Listeners;
    /// The row and its struct-side listeners of events that hand out `&mut M`, as the
    /// listener walk takes them: the walk's future is then part of the write's, not one
    /// boxed per listener point.
    fn listened_mut(&mut self) -> (&mut dyn AnyModel, StructMut<DB>);
    /// [`WriteRow::listened_mut`] for the events that hand out `&M`.
    fn listened_ref(&self) -> (&dyn AnyModel, StructRef<DB>);
    /// Refuses a value the backend cannot store and gives the row the stored precision
    /// ([`prepare`]).
    fn prepare(&mut self) -> Result<(), Error>;
    /// The model's statements on this backend.
    fn statements(&self) -> &'static Statements;
    /// The columns the database writes, which a write reads back.
    fn read_back_columns(&self) -> ReadBack;
    /// How many columns the key has: where an insert's `RETURNING` has the read-back ones.
    fn key_columns(&self) -> usize;
    /// Binds every column the model writes (the key when `with_key`); `omitting`: without
    /// the defaulted columns that are `None` ([`WriteRow::omitted`]).
    fn bind_columns(
        &self,
        query: Query<'static, DB>,
        with_key: bool,
        omitting: bool,
    ) -> Query<'static, DB>;
    /// Which defaulted columns an insert leaves to the database (`Record::__omitted`).
    fn omitted(&self) -> u64;
    /// Sets the key the database generated from column 0 of `row`.
    fn read_generated_key(&mut self, row: &DB::Row) -> Result<(), Error>;
    /// Sets the first `count` read-back columns from `row`, from its column `first` on.
    fn read_columns(
        &mut self,
        row: &DB::Row,
        first: usize,
        count: usize,
    ) -> Result<(), sqlx::Error>;
    /// Binds the row's own key, or [`Error::Unsaved`].
    fn bind_own_key(&self, query: Query<'static, DB>) -> Result<Query<'static, DB>, Error>;
    /// Binds `key`, one this model's [`WriteRow::key`] gave.
    fn bind_key(&self, key: &AnyKey, query: Query<'static, DB>) -> Query<'static, DB>;
    /// Refuses a row whose key is no longer `key` ([`crate::write::rules::same_key`]).
    fn same_key(&self, key: &AnyKey) -> Result<(), Error>;
    /// Gives a versioned row its next version; returns the one it was read with
    /// ([`crate::write::rules::bump`]).
    fn bump(&mut self) -> i64;
    /// Binds the version an update requires (nothing for a model without one).
    fn bind_version(&self, query: Query<'static, DB>, read: i64) -> Query<'static, DB>;
    /// Sets the key the database generated, as a generated-key `INSERT` reads it: `Err`
    /// if it does not decode, `Ok(Err)` if the model's key cannot be generated.
    fn set_generated(
        &mut self,
        key: GeneratedKey<'_, DB>,
    ) -> Result<Result<(), Error>, sqlx::Error>;
    /// The key, or [`Error::Unsaved`].
    fn key(&self) -> Result<AnyKey, Error>;
    /// [`Error::NotFound`] for `key`, and for a versioned model the lookup that tells a
    /// stale version ([`Error::Conflict`]) from a missing row.
    fn missing(&self, key: &AnyKey) -> (Error, Option<Query<'static, DB>>);
    /// The update of a `#[model(track_changes)]` model; `None` for any other.
    fn update_tracked<'a, 'c>(
        &'a mut self,
        session: &'a mut Session<'c, DB>,
    ) -> Option<RowFuture<'a>>;
    /// The model's struct-side listeners that hand out `&M`, for its `before_commit` call.
    fn struct_ref(&self) -> fn(Event, usize) -> OwnRef<DB>;
    /// Queues the row's listeners of an `after_*_commit` or `after_rollback` event.
    fn queue_after_commit(&self, event: Event, queue: &mut Vec<Callback>);
    /// Whether the key is set (else an insert has the database generate it).
    fn has_key(&self) -> bool;
    /// Clears a generated key whose insert did not commit.
    fn clear_key(&mut self);
    /// The `#[model(version)]` column's value, if the model has one.
    fn version(&self) -> Option<i64>;
    /// Gives the version column back a value [`WriteRow::version`] returned.
    fn set_version(&mut self, version: i64);
    /// The delete of a versioned model (`batch::delete_versioned`); only for a model whose
    /// [`WriteRow::version`] is `Some`.
    fn delete_versioned<'a, 'c>(&'a self, session: &'a mut Session<'c, DB>) -> RowFuture<'a>;
    /// Before the row's `DELETE`: deletes (or lets go of) the rows that reference it through
    /// their listeners ([`cascade::before_delete`]); `None` if no model references this
    /// one with a cascade that may run listeners.
    fn cascade<'a, 'c>(&'a self, session: &'a mut Session<'c, DB>) -> Option<RowFuture<'a>>;
}

/// A write's choices, made from [`WriteRow`]'s answers: compiled once per backend.
impl<DB: Backend> dyn WriteRow<DB> + '_ {
    /// Whether anything listens to `event` ([`cell_has_in`]).
    pub(crate) fn listens(&self, state: u32, event: Event) -> bool {
        cell_has_in(self.cell(), state, event)
    }

    /// The row's `INSERT`, and whether the database generates its key.
    fn insert(&self) -> (Query<'static, DB>, bool) {
        let sql = self.statements();
        let with_key = self.has_key();
        let generated = !with_key;
        if !self.read_back_columns().defaulted().is_empty() {
            // Defaulted columns that are `None` are left out, to their default.
            let text = sql.insert_omitting(with_key, self.omitted());
            let query = sqlx::query(sqlx::AssertSqlSafe(text));
            return (self.bind_columns(query, with_key, true), generated);
        }
        let text = match with_key {
            true => sql.insert_with_key.as_str(),
            false => sql.insert.as_str(),
        };
        (
            self.bind_columns(sqlx::query(text), with_key, false),
            generated,
        )
    }

    /// How the insert (`insert`) or update reads back the columns the database writes
    /// (generated and defaulted ones, or generated ones); `None` when there are none.
    fn read_by(&self, insert: bool) -> Option<ReadBy> {
        if self.read_back_columns().columns.is_empty() {
            return None;
        }
        let sql = self.statements();
        (sql.read_back_count(insert) > 0)
            .then(|| sql.read_by())
            .flatten()
    }

    /// Sets the read-back columns of an insert (`insert`) or update from `row`, where
    /// `returned` says they are.
    fn read_back(&mut self, row: &DB::Row, returned: Returned, insert: bool) -> Result<(), Error> {
        let first = match returned {
            Returned::AfterKey { generated_key } => {
                if generated_key {
                    self.read_generated_key(row)?;
                }
                self.key_columns()
            }
            Returned::Alone => 0,
        };
        let count = self.statements().read_back_count(insert);
        self.read_columns(row, first, count)
            .map_err(|e| Error::from_sqlx(self.cell().name, e))
    }

    /// The `SELECT` of the row's read-back columns by its key.
    fn select_read_back(&self) -> Result<Query<'static, DB>, Error> {
        self.bind_own_key(sqlx::query(self.statements().select_read_back()))
    }

    /// The `DELETE` of the row, or [`Error::Unsaved`].
    fn delete(&self) -> Result<Query<'static, DB>, Error> {
        self.bind_own_key(sqlx::query(self.statements().delete.as_str()))
    }

    /// The update's statement: refuses a changed key, gives the row the stored precision,
    /// bumps the version.
    fn update(&mut self, key: &AnyKey) -> Result<UpdateStatement<DB>, Error> {
        self.same_key(key)?;
        self.prepare()?;
        let sql = self.statements();
        if sql.update.is_empty() {
            let lookup = match self.read_by(false) {
                Some(_) => sql.select_read_back(),
                None => sql.select_by_key.as_str(),
            };
            return Ok(UpdateStatement::Exists(
                self.bind_key(key, sqlx::query(lookup)),
            ));
        }
        let read = self.bump();
        let query = self.bind_columns(sqlx::query(sql.update.as_str()), false, false);
        let query = self.bind_key(key, query);
        Ok(UpdateStatement::Set(self.bind_version(query, read)))
    }
}

/// The key a row gave, as its model's key type `K`: generic over the key type only, as the
/// helpers below, so that it is compiled once per key type, not once per model.
fn key_of<K: 'static>(key: &AnyKey) -> &K {
    match key.downcast_ref() {
        Some(key) => key,
        None => not_its_key(),
    }
}

#[cold]
fn not_its_key() -> ! {
    panic!("a row's key is the one its model gave, of the type its model chose")
}

/// `key` bound, or [`Error::Unsaved`] for a row without one.
fn bind_saved_key<K: PrimaryKey, DB: Backend>(
    key: Option<K>,
    model: &'static str,
    query: Query<'static, DB>,
) -> Result<Query<'static, DB>, Error> {
    match key {
        Some(key) => Ok(key.__bind(query)),
        None => Err(Error::Unsaved { model }),
    }
}

/// `key` boxed, or [`Error::Unsaved`] for a row without one.
fn saved_key<K: PrimaryKey>(key: Option<K>, model: &'static str) -> Result<AnyKey, Error> {
    match key {
        Some(key) => Ok(Box::new(key)),
        None => Err(Error::Unsaved { model }),
    }
}

/// The key of type `K` the database generated, in column 0 of `row` (a `RETURNING` that
/// also reads back other columns): [`decode_generated`], with its error the write's.
fn returned_generated<K: PrimaryKey, DB: Backend>(
    row: &DB::Row,
    model: &'static str,
) -> Result<K, Error> {
    match decode_generated::<K, DB>(GeneratedKey::Returned(row), model) {
        Ok(key) => key,
        Err(e) => Err(Error::from_sqlx(model, e)),
    }
}

// `match` where `Option::map` would do: a combinator and its closure are compiled once per
// model.
#[allow(clippy::manual_map)]
impl<M: Record, DB: Backend> WriteRow<DB> for M {
    fn cell(&self) -> &'static Listeners {
        M::__listeners()
    }

    fn listened_mut(&mut self) -> (&mut dyn AnyModel, StructMut<DB>) {
        (self, M::__struct_mut::<DB>)
    }

    fn listened_ref(&self) -> (&dyn AnyModel, StructRef<DB>) {
        (self, M::__struct_ref::<DB>)
    }

    fn prepare(&mut self) -> Result<(), Error> {
        prepare(self, DB::DIALECT)
    }

    fn statements(&self) -> &'static Statements {
        M::__statements(DB::DIALECT)
    }

    fn read_back_columns(&self) -> ReadBack {
        M::__READ_BACK
    }

    fn key_columns(&self) -> usize {
        <M::__Key as crate::db::key::PrimaryKey>::__COLUMNS
    }

    fn bind_columns(
        &self,
        query: Query<'static, DB>,
        with_key: bool,
        omitting: bool,
    ) -> Query<'static, DB> {
        match omitting {
            true => self.__bind_insert(query, with_key),
            false => self.__bind(query, with_key),
        }
    }

    fn omitted(&self) -> u64 {
        self.__omitted()
    }

    fn read_generated_key(&mut self, row: &DB::Row) -> Result<(), Error> {
        match returned_generated::<M::__Key, DB>(row, M::__TABLE.model) {
            Ok(key) => {
                self.__set_key(Some(key));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn read_columns(
        &mut self,
        row: &DB::Row,
        first: usize,
        count: usize,
    ) -> Result<(), sqlx::Error> {
        self.__read_back::<DB>(row, first, count)
    }

    fn bind_own_key(&self, query: Query<'static, DB>) -> Result<Query<'static, DB>, Error> {
        bind_saved_key(self.__key(), M::__TABLE.model, query)
    }

    fn bind_key(&self, key: &AnyKey, query: Query<'static, DB>) -> Query<'static, DB> {
        key_of::<M::__Key>(key).__bind(query)
    }

    fn same_key(&self, key: &AnyKey) -> Result<(), Error> {
        crate::write::rules::same_key(self, key_of::<M::__Key>(key))
    }

    fn bump(&mut self) -> i64 {
        crate::write::rules::bump(self)
    }

    fn bind_version(&self, query: Query<'static, DB>, read: i64) -> Query<'static, DB> {
        M::__bind_version(query, read)
    }

    fn set_generated(
        &mut self,
        key: GeneratedKey<'_, DB>,
    ) -> Result<Result<(), Error>, sqlx::Error> {
        match decode_generated::<M::__Key, DB>(key, M::__TABLE.model) {
            Ok(Ok(key)) => {
                self.__set_key(Some(key));
                Ok(Ok(()))
            }
            Ok(Err(e)) => Ok(Err(e)),
            Err(e) => Err(e),
        }
    }

    fn key(&self) -> Result<AnyKey, Error> {
        saved_key(self.__key(), M::__TABLE.model)
    }

    fn missing(&self, key: &AnyKey) -> (Error, Option<Query<'static, DB>>) {
        crate::write::version::missing_of::<M, DB>(key_of(key))
    }

    fn update_tracked<'a, 'c>(
        &'a mut self,
        session: &'a mut Session<'c, DB>,
    ) -> Option<RowFuture<'a>> {
        match M::__update_tracked_all(std::slice::from_mut(self), session) {
            Some(update) => Some(Box::pin(update)),
            None => None,
        }
    }

    fn struct_ref(&self) -> fn(Event, usize) -> OwnRef<DB> {
        M::__struct_ref::<DB>
    }

    fn queue_after_commit(&self, event: Event, queue: &mut Vec<Callback>) {
        crate::listen::after_commit(self, event, queue);
    }

    fn has_key(&self) -> bool {
        self.__key().is_some()
    }

    fn clear_key(&mut self) {
        self.__set_key(None);
    }

    fn version(&self) -> Option<i64> {
        match M::__VERSION {
            Some(_) => Some(self.__version()),
            None => None,
        }
    }

    fn set_version(&mut self, version: i64) {
        self.__set_version(version);
    }

    fn delete_versioned<'a, 'c>(&'a self, session: &'a mut Session<'c, DB>) -> RowFuture<'a> {
        Box::pin(M::__delete_versioned(std::slice::from_ref(self), session))
    }

    fn cascade<'a, 'c>(&'a self, session: &'a mut Session<'c, DB>) -> Option<RowFuture<'a>> {
        let parent = std::any::TypeId::of::<M>();
        if !cascade::any(parent) {
            return None;
        }
        let keys = one_key::<M::__Key, DB>(self.__key());
        Some(cascade_keys(parent, M::__TABLE.model, keys, session))
    }
}

/// The row's key as the keys a cascade binds: compiled once per key type.
fn one_key<K: PrimaryKey, DB: Backend>(key: Option<K>) -> Option<Box<dyn cascade::Keys<DB>>> {
    match key {
        Some(key) => Some(Box::new(vec![key])),
        None => None,
    }
}

/// [`WriteRow::cascade`]'s future: compiled once per backend, the row's key boxed
/// (an async block in the generic method would be a state machine per model). `None` is a
/// row without a key.
fn cascade_keys<'a, DB: Backend>(
    parent: std::any::TypeId,
    name: &'static str,
    keys: Option<Box<dyn cascade::Keys<DB>>>,
    session: &'a mut Session<'_, DB>,
) -> RowFuture<'a> {
    Box::pin(async move {
        let keys = keys.ok_or(Error::Unsaved { model: name })?;
        cascade::cascade::<DB>(parent, name, &*keys, session).await
    })
}

/// The key of type `K` the database generated, as it came back: [`WriteRow::set_generated`]'s
/// decoding, compiled once per key type. A value that does not decode is the statement's
/// error; a key that is not a generated one, the write's.
fn decode_generated<K: PrimaryKey, DB: Backend>(
    key: GeneratedKey<'_, DB>,
    model: &'static str,
) -> Result<Result<K, Error>, sqlx::Error> {
    let key = decode_key::<DB, K::__Generated>(key)?;
    Ok(generated::<K>(key, model))
}

/// The type of `M`'s generated key.
pub(crate) type Generated<M> = <<M as Record>::__Key as PrimaryKey>::__Generated;

/// The key of type `K` from the value the database generated. Only an `Option` key of one
/// column is generated: the derive refuses `Option` parts of a composite key, whose rows
/// always bring their keys, so the error is for a hand-written `Model` impl that breaks that
/// rule.
pub(crate) fn generated<K: PrimaryKey>(
    key: K::__Generated,
    model: &'static str,
) -> Result<K, Error> {
    match K::__from_generated(key) {
        Some(key) => Ok(key),
        None => Err(Error::Unsupported {
            model,
            what: "a generated composite key: each part of a composite key is set by the caller",
        }),
    }
}

/// Runs `event`'s listeners on `row` if any listen. The state word is the session's copy
/// (one atomic load per write), read again at each point as every listener point does.
async fn run_mut<DB: Backend>(
    row: &mut dyn WriteRow<DB>,
    event: Event,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let cell = row.cell();
    let state = crate::listen::state_of(session, cell);
    if row.listens(state, event) {
        let (model, own) = row.listened_mut();
        run_mut_in(model, cell, own, event, session).await?;
    }
    Ok(())
}

/// [`run_mut`] for an event that hands out `&M`.
async fn run_ref<DB: Backend>(
    row: &dyn WriteRow<DB>,
    event: Event,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let cell = row.cell();
    let state = crate::listen::state_of(session, cell);
    if row.listens(state, event) {
        let (model, own) = row.listened_ref();
        run_ref_in(model, cell, own, event, session).await?;
    }
    Ok(())
}

/// One row's insert: `before_insert`, the `INSERT` (the generated key set on the row), the
/// row's commit-time calls queued, `after_insert`.
pub(crate) async fn insert<DB: Backend>(
    row: &mut dyn WriteRow<DB>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    run_mut(row, Event::BeforeInsert, session).await?;
    row.prepare()?;
    insert_prepared(row, session).await?;
    written(row, Event::AfterInsert, session)?;
    run_ref(row, Event::AfterInsert, session).await
}

/// The `INSERT` of a row already prepared, its generated key set on it; its listeners are
/// the caller's. Also a batch's statement for a chunk of one row (`batch::insert_all`).
pub(crate) async fn insert_prepared<DB: Backend>(
    row: &mut dyn WriteRow<DB>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let name = row.cell().name;
    let by = row.read_by(true);
    if by.is_some() {
        begin_read_back(session, name).await?;
    }
    let (query, generated) = row.insert();
    let conn = session.conn();
    match (generated, by) {
        (generated_key, Some(ReadBy::Returning)) => {
            let returned = DB::fetch_all(conn, query)
                .await
                .and_then(one_row)
                .map_err(|e| Error::from_sqlx(name, e))?;
            row.read_back(&returned, Returned::AfterKey { generated_key }, true)?;
        }
        (false, _) => {
            DB::execute(conn, query)
                .await
                .map_err(|e| Error::from_sqlx(name, e))?;
        }
        (true, _) => {
            // Set as the answer is read (`Backend::__insert_generated`): a key that does
            // not decode fails the statement.
            DB::__insert_generated(conn, query, |key| row.set_generated(key))
                .await
                .map_err(|e| Error::from_sqlx(name, e))??;
        }
    }
    if by == Some(ReadBy::Select) {
        select_back(row, true, session).await?;
    }
    Ok(())
}

/// Begins the transaction of a write that reads values back (a no-op in one already
/// begun): a `SELECT` after the statement then sees the row as the statement left it, and a
/// value that cannot be read into its field (a `NULL` in a field that is not an `Option`)
/// fails the write with nothing stored, rather than after the statement committed on its
/// own.
pub(crate) async fn begin_read_back<DB: Backend>(
    session: &mut Session<'_, DB>,
    name: &'static str,
) -> Result<(), Error> {
    session.begin().await.map_err(|e| Error::from_sqlx(name, e))
}

/// Reads the row's read-back columns with a `SELECT` by its key, right after its
/// statement, in the write's transaction: the `Select` way ([`ReadBy`]).
async fn select_back<DB: Backend>(
    row: &mut dyn WriteRow<DB>,
    insert: bool,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let name = row.cell().name;
    let query = row.select_read_back()?;
    let found = DB::fetch_optional(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(name, e))?;
    match found {
        Some(found) => row.read_back(&found, Returned::Alone, insert),
        // Only a trigger of the statement could have deleted it.
        None => Err(row.missing(&row.key()?).0),
    }
}

/// The one row a one-row `INSERT ... RETURNING` returned (read to its end: see
/// `backend::returned_key`).
fn one_row<R>(rows: Vec<R>) -> Result<R, sqlx::Error> {
    let count = rows.len();
    let mut rows = rows.into_iter();
    match (rows.next(), rows.next()) {
        (Some(row), None) => Ok(row),
        _ => Err(sqlx::Error::Decode(
            format!("INSERT ... RETURNING returned {count} rows, expected 1").into(),
        )),
    }
}

/// One row's delete: `before_delete`, the `DELETE` (a row that is not there is
/// [`Error::NotFound`]), the row's commit-time calls queued, `after_delete`.
pub(crate) async fn delete<DB: Backend>(
    row: &dyn WriteRow<DB>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let name = row.cell().name;
    let query = row.delete()?;
    run_ref(row, Event::BeforeDelete, session).await?;
    // The children first (`cascade`), after the row's own listeners had their say.
    if let Some(cascade) = row.cascade(session) {
        cascade.await?;
    }
    let affected = DB::execute(session.conn(), query)
        .await
        .map_err(|e| Error::from_sqlx(name, e))?;
    if affected == 0 {
        return Err(row.missing(&row.key()?).0);
    }
    written(row, Event::AfterDelete, session)?;
    run_ref(row, Event::AfterDelete, session).await
}

/// One row's update: the tracked update for a change-tracking model, else `before_update`,
/// every column but the key (the version checked), the row's commit-time calls queued,
/// `after_update`.
pub(crate) async fn update<DB: Backend>(
    row: &mut dyn WriteRow<DB>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    if let Some(tracked) = row.update_tracked(session) {
        return tracked.await;
    }
    let key = row.key()?;
    run_mut(row, Event::BeforeUpdate, session).await?;
    let statement = row.update(&key)?;
    update_statement(row, statement, &key, session).await?;
    written(row, Event::AfterUpdate, session)?;
    run_ref(row, Event::AfterUpdate, session).await
}

/// Several rows' updates in SQLAlchemy's flush order, as every batch write
/// ([`crate::write::batch`]): every row's `before_update` listeners (and its statement built, the
/// key checked, the version bumped), then every row's `UPDATE`, then every row's commit-time
/// calls queued and `after_update` listeners. Not for change-tracking models
/// ([`crate::write::tracked::update_tracked_all`]).
pub(crate) async fn update_all<DB: Backend>(
    rows: &mut [&mut dyn WriteRow<DB>],
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let mut statements = Vec::with_capacity(rows.len());
    for row in rows.iter_mut() {
        let key = row.key()?;
        run_mut(&mut **row, Event::BeforeUpdate, session).await?;
        statements.push((row.update(&key)?, key));
    }
    for (row, (statement, key)) in rows.iter_mut().zip(statements) {
        update_statement(&mut **row, statement, &key, session).await?;
        // Its statement ran: `after_rollback` if a later row's statement or listener undoes it.
        written(&**row, Event::AfterUpdate, session)?;
    }
    for row in rows.iter() {
        run_ref(&**row, Event::AfterUpdate, session).await?;
    }
    Ok(())
}

/// Sends one row's update: a row that is not there is [`Error::NotFound`], or for a
/// versioned model whose row is there, [`Error::Conflict`]. Reads back the generated
/// columns, if the model has any.
async fn update_statement<DB: Backend>(
    row: &mut dyn WriteRow<DB>,
    statement: UpdateStatement<DB>,
    key: &AnyKey,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    let name = row.cell().name;
    let by = row.read_by(false);
    if by.is_some() {
        begin_read_back(session, name).await?;
    }
    match statement {
        UpdateStatement::Exists(query) => {
            let found = DB::fetch_optional(session.conn(), query)
                .await
                .map_err(|e| Error::from_sqlx(name, e))?;
            match (found, by) {
                (None, _) => return Err(row.missing(key).0),
                // The lookup was of the generated columns (`WriteRow::update`).
                (Some(found), Some(_)) => row.read_back(&found, Returned::Alone, false)?,
                (Some(_), None) => {}
            }
        }
        UpdateStatement::Set(query) if by == Some(ReadBy::Returning) => {
            let returned = DB::fetch_optional(session.conn(), query)
                .await
                .map_err(|e| Error::from_sqlx(name, e))?;
            match returned {
                Some(returned) => row.read_back(&returned, Returned::Alone, false)?,
                None => {
                    let (missing, lookup) = row.missing(key);
                    return Err(crate::write::version::conflict_if_present(
                        lookup, missing, session,
                    )
                    .await);
                }
            }
        }
        UpdateStatement::Set(query) => {
            let affected = DB::execute(session.conn(), query)
                .await
                .map_err(|e| Error::from_sqlx(name, e))?;
            if affected == 0 {
                let (missing, lookup) = row.missing(key);
                return Err(
                    crate::write::version::conflict_if_present(lookup, missing, session).await,
                );
            }
            if by == Some(ReadBy::Select) {
                select_back(row, false, session).await?;
            }
        }
    }
    Ok(())
}

/// The row's statement ran, in a transaction that may still commit or roll back: queues its
/// `after_rollback` calls (run if that transaction, or the savepoint it ran in, rolls back)
/// and its `before_commit` call (run right before the outermost commit, unless its
/// savepoint rolls back first). Called by every write path between the row's statement and
/// its `after_*` listeners, so that a row whose `after_*` listener ran, or vetoed, gets
/// `after_rollback` when it is undone. Records it for the listeners of the transaction
/// ([`commit::record`]), as the write `event` (`after_insert`, `after_update` or
/// `after_delete`) names it.
pub(crate) fn written<DB: Backend>(
    row: &dyn WriteRow<DB>,
    event: Event,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    commit::record(|| {
        crate::db::transaction_events::WrittenRow::new(
            row.model_name(),
            row.table_name(),
            row.key_value(),
            event,
        )
    });
    let cell = row.cell();
    let state = crate::listen::state_of(session, cell);
    if row.listens(state, Event::AfterRollback) {
        commit::enqueue_rollback(|queue| row.queue_after_commit(Event::AfterRollback, queue));
    }
    if row.listens(state, Event::BeforeCommit) {
        let (own, every) = before_commit_listeners(cell, state);
        let shared = match own {
            // Declaring a listener of a model gives its `Share`, so this never fails.
            true => Some((
                (cell.share().ok_or(Error::Unsupported {
                    model: cell.name,
                    what: "before_commit listeners of a model that is not Clone",
                })?)(row.__as_any()),
                row.struct_ref(),
            )),
            false => None,
        };
        let copy = every.then(|| row.to_row());
        commit::enqueue_before_commit(before_commit_call::<DB>(shared, copy, cell));
    }
    Ok(())
}
