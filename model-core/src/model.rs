//! The `Model` trait: what `#[derive(Model)]` implements, and the operations users call.

use std::future::Future;

use sqlx::Acquire;

use crate::backend::{Backend, Dialect, Query};
use crate::error::Error;
use crate::key::PrimaryKey;
use crate::listener::{Event, ListenerInfo};
use crate::ops::{self, Batch, Page};
use crate::query::{ColumnMap, Filter, FromSql, Select};
use crate::session::Session;
use crate::statements::Statements;

/// A struct stored as one row of one table, with listeners on its lifecycle events.
///
/// Implement it with `#[derive(Model)]`; see the [crate docs](crate) for the attributes. The
/// operations are provided methods: `post.insert(&pool)`, `Post::find(&pool, 1)`, ...
///
/// Every operation takes anything sqlx can begin a transaction on: `&Pool<DB>`, `&mut
/// PoolConnection<DB>`, `&mut SqliteConnection` (`PgConnection`, `MySqlConnection`), `&mut
/// Transaction<DB>`, or a listener's `&mut Conn<DB>`. A write runs in a transaction of its
/// own, or in a savepoint when it is handed a transaction (or a listener's connection), so that
/// it is atomic either way.
pub trait Model: Sized + Send + Sync + Unpin + 'static {
    /// The struct's name, used in errors: `"Post"`.
    const NAME: &'static str;
    /// The table name, unquoted.
    const TABLE: &'static str;
    /// The schema the table is in, unquoted (`#[model(schema = "library")]`): a PostgreSQL
    /// schema, a MySQL database, an attached SQLite database. `None`: the connection's
    /// default (PostgreSQL's `search_path`, MySQL's current database, SQLite's `main`).
    /// Every statement names the table as `"schema"."table"`.
    const SCHEMA: Option<&'static str> = None;
    /// The column names, unquoted, in field order.
    const COLUMNS: &'static [&'static str];
    /// The indices in [`Model::COLUMNS`] of the primary key's columns, in field order: one
    /// for a key of one column, two or more for a composite key (`#[model(primary_key)]` on
    /// several fields). Every statement model-core writes (and DDL for the model) takes the
    /// key from here; [`Model::Key`] is the key's value, a tuple for a composite key.
    const PRIMARY_KEY: &'static [usize];
    /// The listener manifest: every `#[listens_for(...)]`, in declaration order.
    const LISTENERS: &'static [ListenerInfo];

    /// What the schema declares for each column, in [`Model::COLUMNS`] order
    /// ([`crate::schema`]).
    #[doc(hidden)]
    const __COLUMN_DEFS: &'static [crate::schema::def::ColumnDef] = &[];

    /// The primary key's type, without `Option`; for a composite key, the tuple of its
    /// fields' types in field order (`(i64, String)`), which `find` and `get` take.
    type Key: PrimaryKey;

    /// The model's typed columns: a struct the derive writes beside the model (`PostColumns`
    /// for `Post`, as visible as `Post`) with one [`Column`](crate::Column) per column, named
    /// and as visible as its field. The closures of [`Model::filter`],
    /// [`Select::order_by`] and [`Select::update`] receive it.
    type Columns: 'static;

    /// The one value of [`Model::Columns`].
    #[doc(hidden)]
    const __HANDLES: Self::Columns;

    /// The field of `Model::COLUMNS[column]`, if it is a `T`: what a set-based update's
    /// per-row path sets.
    #[doc(hidden)]
    fn __column_mut<T: 'static>(&mut self, column: usize) -> Option<&mut T>;

    /// The listeners that run for `event`, in the order they run.
    ///
    /// ```
    /// use model_core::{Event, Model};
    ///
    /// #[derive(Model)]
    /// #[listens_for(before_insert, set_created_at, check_title)]
    /// #[listens_for(after_insert, announce)]
    /// struct Post {
    ///     id: Option<i64>,
    ///     title: String,
    /// }
    /// # fn set_created_at(_: &mut Post) {}
    /// # fn check_title(_: &mut Post) {}
    /// # fn announce(_: &Post) {}
    ///
    /// let names: Vec<_> = Post::listeners(Event::BeforeInsert).map(|l| l.listener).collect();
    /// assert_eq!(names, ["set_created_at", "check_title"]);
    /// ```
    ///
    /// The struct-side listeners come first, then the function-side ones (`#[listens_for]`
    /// on a function, of this model or of every model), in the order they run (see
    /// [`crate::listen`] for the whole rule). Run-time listeners ([`crate::listen`]) are not
    /// listed: they come and go.
    fn listeners(event: Event) -> impl Iterator<Item = &'static ListenerInfo> {
        Self::__listeners()
            .fixed()
            .infos
            .iter()
            .filter(move |l| l.event == event)
    }

    /// The function-side and run-time listeners of this model: a static of each model.
    #[doc(hidden)]
    fn __listeners() -> &'static crate::events::private::Listeners;

    /// Pushes every column's value, in [`Model::COLUMNS`] order, for listeners of every
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
    fn __key(&self) -> Option<Self::Key>;

    /// Sets the key after the database generated it, or clears it (`None`) when the insert
    /// that generated it rolled back. `None` is ignored by a key that is not an `Option`.
    #[doc(hidden)]
    fn __set_key(&mut self, key: Option<Self::Key>);

    /// Binds every column in [`Model::COLUMNS`] order, the key only if `with_key`.
    #[doc(hidden)]
    fn __bind<'q, DB: Backend>(&self, query: Query<'q, DB>, with_key: bool) -> Query<'q, DB>;

    /// Gives every column the value `dialect` will store (microseconds, `0.0` for `-0.0`);
    /// the first column, in [`Model::COLUMNS`] order, whose value `dialect` cannot store at
    /// all, and why.
    #[doc(hidden)]
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), (&'static str, &'static str)>;

    /// Reads the model from a row with its columns where `columns` says.
    #[doc(hidden)]
    fn __from_row_at<DB: Backend>(
        row: &DB::Row,
        columns: ColumnMap<'_>,
    ) -> Result<Self, sqlx::Error>;

    /// Reads the model from a row with its columns in [`Model::COLUMNS`] order.
    #[doc(hidden)]
    fn __from_row<DB: Backend>(row: &DB::Row) -> Result<Self, sqlx::Error> {
        Self::__from_row_at::<DB>(row, ColumnMap::POSITIONAL)
    }

    /// The `index`-th struct-side listener of `event` (one that hands out `&mut Self`), in
    /// declaration order; `None` past the last.
    #[doc(hidden)]
    fn __struct_mut<DB: Backend>(event: Event, index: usize) -> crate::events::private::OwnMut<DB> {
        let _ = (event, index);
        None
    }

    /// The `index`-th struct-side listener of `event` (one that hands out `&Self`).
    #[doc(hidden)]
    fn __struct_ref<DB: Backend>(event: Event, index: usize) -> crate::events::private::OwnRef<DB> {
        let _ = (event, index);
        None
    }

    /// Runs the listeners of an event that hands out `&mut Self`, in declaration order.
    #[doc(hidden)]
    fn __run_mut<'a, DB: Backend>(
        &'a mut self,
        event: Event,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        crate::events::run_mut(self, event, session)
    }

    // Issue 14: change tracking and optimistic locking. Every default is what a model
    // without `#[model(track_changes)]` or `#[model(version)]` needs, so the derive writes
    // these only for models that opt in.

    /// The index in [`Model::COLUMNS`] of the `#[model(version)]` column, if there is one.
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

    /// `delete`/`delete_all` of a model with a version column (`version::delete_all`), which
    /// the derive writes for such a model only; called only when `__VERSION` is `Some`.
    #[doc(hidden)]
    fn __delete_versioned<'a, DB: Backend>(
        models: &'a [Self],
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        let _ = (models, session);
        std::future::ready(Err(Error::Unsupported {
            model: Self::NAME,
            what: "a versioned delete of a model without `#[model(version)]`",
        }))
    }

    /// The updates of `#[model(track_changes)]` models, which write only what changed and
    /// hand listeners the change set, in flush order (`crate::update::update_tracked_all`);
    /// `None` for any other model.
    #[doc(hidden)]
    fn __update_tracked_all<'a, DB: Backend>(
        models: &'a mut [Self],
        session: &'a mut Session<'_, DB>,
    ) -> Option<impl Future<Output = Result<(), Error>> + Send + 'a> {
        let _ = (models, session);
        None::<std::future::Ready<Result<(), Error>>>
    }

    /// A copy of the row as written, for its `before_commit` listeners, which run after the
    /// write has given the model back; `None` if the model is not `Clone` (it then has no
    /// such listener of its own: declaring one requires `Clone`).
    #[doc(hidden)]
    fn __share(&self) -> Option<std::sync::Arc<Self>> {
        None
    }

    /// Queues the listeners of an `after_*_commit` or `after_rollback` event, in declaration
    /// order.
    #[doc(hidden)]
    fn __after_commit(&self, event: Event, queue: &mut Vec<crate::commit::Callback>) {
        crate::events::after_commit(self, event, queue);
    }

    /// Runs the listeners of an event that hands out `&Self`, in declaration order.
    #[doc(hidden)]
    fn __run_ref<'a, DB: Backend>(
        &'a self,
        event: Event,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        crate::events::run_ref(self, event, session)
    }

    /// Inserts the row: `before_insert` listeners, `INSERT`, then `after_insert` listeners,
    /// atomically. A `None` primary key is generated by the database and set on `self`
    /// before the `after_insert` listeners run.
    fn insert<'c, A>(&mut self, db: A) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::write_one(ops::One::Insert(self), db)
    }

    /// Updates the row with this primary key: `before_update` listeners, `UPDATE` of every
    /// column but the key, then `after_update` listeners, atomically. No such row is
    /// [`Error::NotFound`]. The key names the row and is never written: a `before_update`
    /// listener that changes it is refused with [`Error::Unsupported`].
    ///
    /// With a `#[model(version)]` column, the row is updated only if it still has the
    /// model's version, which the update bumps; a row changed since the model was read is
    /// [`Error::Conflict`], and nothing is written. A `#[model(track_changes)]` model writes
    /// only the columns that differ from the stored row, which it reads first (locked, in
    /// the update's transaction); [`Tracked`](crate::Tracked) knows the original values
    /// without reading them.
    fn update<'c, A>(&mut self, db: A) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::write_one(ops::One::Update(self), db)
    }

    /// Deletes the row with this primary key: `before_delete` listeners, `DELETE`, then
    /// `after_delete` listeners, atomically. No such row is [`Error::NotFound`]. With a
    /// `#[model(version)]` column, a row whose version is no longer the model's is
    /// [`Error::Conflict`], and nothing is deleted.
    fn delete<'c, A>(&self, db: A) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::write_one(ops::One::Delete(self), db)
    }

    /// Inserts every model in one transaction: a bulk insert skips no listener, and one
    /// failure writes none of them. Listeners run in SQLAlchemy's flush order, as in every
    /// batch write: every model's `before_insert`, then the rows (in as few multi-row
    /// statements as the backend allows), then every model's `after_insert`.
    fn insert_all<'c, A>(
        models: &mut [Self],
        db: A,
    ) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::write(Batch::Insert(models), db)
    }

    /// Updates every model in one transaction, in flush order: every model's
    /// `before_update`, then each row's `UPDATE`, then every model's `after_update`. One
    /// failure, or one missing row, writes none of them.
    fn update_all<'c, A>(
        models: &mut [Self],
        db: A,
    ) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::write(Batch::Update(models), db)
    }

    /// Deletes every model in one transaction, in flush order: every model's
    /// `before_delete`, then the rows by key in multi-row `DELETE`s, then every model's
    /// `after_delete`. One failure, or one missing row, deletes none of them.
    fn delete_all<'c, A>(models: &[Self], db: A) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::write(Batch::Delete(models), db)
    }

    /// Reads the row with this primary key, running `load` listeners on it; `None` if there
    /// is none. A composite key is given as the tuple of its parts, in field order:
    /// `PostTag::find(&pool, (post_id, tag))`.
    fn find<'c, A>(
        db: A,
        key: Self::Key,
    ) -> impl Future<Output = Result<Option<Self>, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::find(db, key, |found, _| Ok(found))
    }

    /// Like [`Model::find`], but a missing row is [`Error::NotFound`].
    fn get<'c, A>(db: A, key: Self::Key) -> impl Future<Output = Result<Self, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::find(db, key, |found, key| {
            found.ok_or_else(|| ops::not_found::<Self>(&key))
        })
    }

    /// Reads every row, ordered by primary key, running `load` listeners on each.
    fn all<'c, A>(db: A) -> impl Future<Output = Result<Vec<Self>, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::fetch(db, None)
    }

    /// Reads one page of rows ordered by primary key, running `load` listeners on each.
    fn page<'c, A>(db: A, page: Page) -> impl Future<Output = Result<Vec<Self>, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        ops::fetch(db, Some(page))
    }

    /// Creates the model's table and indexes if they do not exist yet:
    /// `Schema::new().model::<Self>().create_all(db)` ([`crate::schema::Schema`]).
    fn create_table<'c, A>(db: A) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        async move {
            crate::schema::Schema::new()
                .model::<Self>()
                .create_all(db)
                .await
        }
    }

    /// Every row, as a [`Select`] to narrow, order, limit, read or change:
    /// `Post::query().count(&pool)`.
    fn query() -> Select<Self> {
        Select::new(None)
    }

    /// The rows that match a filter built from the model's typed columns, as a [`Select`]:
    /// nothing runs until one of its methods is awaited. Every value is bound; a misspelled
    /// column or a value of the wrong type does not compile.
    ///
    /// ```
    /// use model_core::Model;
    ///
    /// #[derive(Model)]
    /// struct Post { id: Option<i64>, title: String, author_id: Option<i64> }
    ///
    /// # async fn demo(pool: sqlx::SqlitePool) -> Result<(), model_core::Error> {
    /// let posts = Post::filter(|p| p.title.like("Hello%").and(p.author_id.gt(7)))
    ///     .order_by(|p| p.title)
    ///     .all(&pool)
    ///     .await?; // `load` listeners ran on each
    /// # let _ = posts; Ok(()) }
    /// ```
    fn filter(filter: impl FnOnce(&Self::Columns) -> Filter<Self>) -> Select<Self> {
        Select::new(Some(filter(&Self::__HANDLES)))
    }

    /// A read of models with SQL of your own (a join, a window, a CTE), which still runs
    /// `load` listeners on every model: `Post::from_sql(sqlx::query("SELECT ...").bind(x))
    /// .all(&pool)`. Each of the model's columns is read from the result column of the same
    /// name (the first one, if several share it); other result columns are ignored. Bind
    /// every value: the SQL is sent as written.
    ///
    /// ```
    /// # use model_core::Model;
    /// # #[derive(Model)] struct Post { id: Option<i64>, title: String }
    /// # async fn demo(pool: sqlx::SqlitePool) -> Result<(), model_core::Error> {
    /// let posts = Post::from_sql(
    ///     sqlx::query("SELECT p.* FROM post p JOIN tag t ON t.post_id = p.id WHERE t.name = ?")
    ///         .bind("rust"),
    /// )
    /// .all(&pool)
    /// .await?;
    /// # let _ = posts; Ok(()) }
    /// ```
    fn from_sql<DB: Backend>(query: Query<'_, DB>) -> FromSql<'_, Self, DB> {
        FromSql::new(query)
    }
}
