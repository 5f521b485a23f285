//! The half of a model that only generated code and model-core use: how a row is bound,
//! read, keyed and versioned, and where its listeners are. `#[derive(Model)]` implements it
//! beside [`crate::Model`], whose supertrait it is, so that `Model` itself shows only what
//! users call (serde keeps its private half in `__private` the same way).

use std::future::Future;

use crate::base::error::Error;
use crate::base::event::Event;
use crate::base::statements::Statements;
use crate::base::table::{ReadBack, Table};
use crate::db::backend::{Backend, Dialect, Query};
use crate::db::key::PrimaryKey;
use crate::db::rows::ColumnMap;
use crate::db::session::Session;

/// What generated code implements for a model besides [`crate::Model`]'s constants: not
/// part of the public API.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model",
    label = "`{Self}` does not `#[derive(Model)]`",
    note = "a listener's first argument is a model, `&mut Post` or `&Post`, of a struct with `#[derive(model_core::Model)]`"
)]
pub trait Record: Sized + Send + Sync + Unpin + 'static {
    /// The primary key's type: `Model::Key`.
    type __Key: PrimaryKey;
    /// The typed columns: `Model::Columns`.
    type __Columns: 'static;

    /// The table: `Model::NAME`, `Model::TABLE`, `Model::SCHEMA`, `Model::COLUMNS`,
    /// `Model::PRIMARY_KEY` and the version column, for the layers below `Model`.
    const __TABLE: Table;

    /// What the schema declares for each column, in `Model::COLUMNS` order
    /// ([`crate::schema`]).
    #[doc(hidden)]
    const __COLUMN_DEFS: &'static [crate::base::def::ColumnDef] = &[];

    /// The one value of `Model::Columns`.
    #[doc(hidden)]
    const __HANDLES: Self::__Columns;

    /// The field of `Model::COLUMNS[column]`, if it is a `T`: what a set-based update's
    /// per-row path sets.
    #[doc(hidden)]
    fn __column_mut<T: 'static>(&mut self, column: usize) -> Option<&mut T>;

    /// The function-side and run-time listeners of this model: a static of each model.
    #[doc(hidden)]
    fn __listeners() -> &'static crate::listen::private::Listeners;

    /// Pushes every column's value, in `Model::COLUMNS` order, for listeners of every
    /// model ([`crate::AnyModel`]).
    #[doc(hidden)]
    fn __values(&self, values: &mut Vec<crate::Value>) {
        let _ = values;
    }

    #[doc(hidden)]
    fn __statements(dialect: Dialect) -> &'static Statements;

    /// The key, if it is set: `None` for an `Option` key that the database has yet to
    /// generate. A copy: a composite key is assembled from its fields.
    #[doc(hidden)]
    fn __key(&self) -> Option<Self::__Key>;

    /// Sets the key after the database generated it, or clears it (`None`) when the insert
    /// that generated it rolled back. `None` is ignored by a key that is not an `Option`.
    #[doc(hidden)]
    fn __set_key(&mut self, key: Option<Self::__Key>);

    /// Binds every column in `Model::COLUMNS` order but the `#[model(generated)]` ones,
    /// which the database writes; the key only if `with_key`.
    #[doc(hidden)]
    fn __bind<'q, DB: Backend>(&self, query: Query<'q, DB>, with_key: bool) -> Query<'q, DB>;

    /// Gives every column the value `dialect` will store (microseconds, `0.0` for `-0.0`);
    /// the first column, in `Model::COLUMNS` order, whose value `dialect` cannot store at
    /// all, and why.
    #[doc(hidden)]
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), (&'static str, &'static str)>;

    /// Reads the model from a row with its columns where `columns` says.
    #[doc(hidden)]
    fn __from_row_at<DB: Backend>(
        row: &DB::Row,
        columns: ColumnMap<'_>,
    ) -> Result<Self, sqlx::Error>;

    /// Takes every column's value from `from` (a fresh read of the row), keeping the
    /// `#[model(skip)]` fields: what `Model::refresh` does.
    fn __assign_columns(&mut self, from: Self);

    // Issue 27: values the database writes, read back. Every default is what a model
    // without `#[model(generated)]` or a defaulted `Option` field needs.

    /// The columns whose values the database chooses, which a write reads back.
    #[doc(hidden)]
    const __READ_BACK: ReadBack = ReadBack::NONE;

    /// Which defaulted columns an insert leaves to the database: bit `j` is set when the
    /// field of `__READ_BACK.defaulted()[j]` is `None`.
    #[doc(hidden)]
    fn __omitted(&self) -> u64 {
        0
    }

    /// [`Record::__bind`] for an insert: without the defaulted columns that are `None`
    /// (the ones [`Record::__omitted`] names).
    #[doc(hidden)]
    fn __bind_insert<'q, DB: Backend>(
        &self,
        query: Query<'q, DB>,
        with_key: bool,
    ) -> Query<'q, DB> {
        self.__bind(query, with_key)
    }

    /// Sets the fields of the first `count` columns of `__READ_BACK.columns` from `row`,
    /// where they are from its column `first` on.
    #[doc(hidden)]
    fn __read_back<DB: Backend>(
        &mut self,
        row: &DB::Row,
        first: usize,
        count: usize,
    ) -> Result<(), sqlx::Error> {
        let _ = (row, first, count);
        Ok(())
    }

    /// Reads the model from a row with its columns in `Model::COLUMNS` order.
    #[doc(hidden)]
    fn __from_row<DB: Backend>(row: &DB::Row) -> Result<Self, sqlx::Error> {
        Self::__from_row_at::<DB>(row, ColumnMap::POSITIONAL)
    }

    /// The `index`-th struct-side listener of `event` (one that hands out `&mut Self`), in
    /// declaration order; `None` past the last.
    #[doc(hidden)]
    fn __struct_mut<DB: Backend>(event: Event, index: usize) -> crate::listen::private::OwnMut<DB> {
        let _ = (event, index);
        None
    }

    /// The `index`-th struct-side listener of `event` (one that hands out `&Self`).
    #[doc(hidden)]
    fn __struct_ref<DB: Backend>(event: Event, index: usize) -> crate::listen::private::OwnRef<DB> {
        let _ = (event, index);
        None
    }

    // Issue 14: change tracking and optimistic locking. Every default is what a model
    // without `#[model(track_changes)]` or `#[model(version)]` needs, so the derive writes
    // these only for models that opt in.

    /// The index in `Model::COLUMNS` of the `#[model(version)]` column, if there is one.
    #[doc(hidden)]
    const __VERSION: Option<usize> = None;

    /// The version column's value (as `i64`, which holds every version type's values).
    #[doc(hidden)]
    fn __version(&self) -> i64 {
        0
    }

    /// Sets the version column.
    #[doc(hidden)]
    fn __set_version(&mut self, version: i64) {
        let _ = version;
    }

    /// Binds `version` as a value of the version column's own type.
    #[doc(hidden)]
    fn __bind_version<'q, DB: Backend>(query: Query<'q, DB>, version: i64) -> Query<'q, DB> {
        let _ = version;
        query
    }

    /// `delete`/`delete_all` of a model with a version column (`batch::delete_versioned`), which
    /// the derive writes for such a model only; called only when `__VERSION` is `Some`.
    #[doc(hidden)]
    fn __delete_versioned<'a, DB: Backend>(
        models: &'a [Self],
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        let _ = (models, session);
        std::future::ready(Err(Error::Unsupported {
            model: Self::__TABLE.model,
            what: "a versioned delete of a model without `#[model(version)]`",
        }))
    }

    /// The updates of `#[model(track_changes)]` models, which write only what changed and
    /// hand listeners the change set, in flush order (`crate::write::tracked::update_tracked_all`);
    /// `None` for any other model.
    #[doc(hidden)]
    fn __update_tracked_all<'a, DB: Backend>(
        models: &'a mut [Self],
        session: &'a mut Session<'_, DB>,
    ) -> Option<impl Future<Output = Result<(), Error>> + Send + 'a> {
        let _ = (models, session);
        None::<std::future::Ready<Result<(), Error>>>
    }

    /// Queues the struct-side listeners of an `after_*_commit` or `after_rollback` event, in
    /// declaration order (`crate::listen::after_commit` queues them, then the others).
    #[doc(hidden)]
    fn __after_commit(&self, event: Event, queue: &mut Vec<crate::db::commit::Callback>) {
        let _ = (event, queue);
    }
}
