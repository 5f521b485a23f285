//! Reading selected rows as models, `load` listeners included; raw SQL reads, and decoding a
//! row by column name (`sqlx::FromRow`).

use std::future::Future;
use std::marker::PhantomData;

use sqlx::{Acquire, AssertSqlSafe, Column as _, Row as _};

use super::sql::{Columns, Sql, Table};
use super::{Plan, Select};
use crate::base::error::Error;
use crate::db::backend::{Backend, Query};
use crate::db::rows::ColumnMap;
use crate::db::scope::{self, Operation};
use crate::db::session::Session;
use crate::db::value::bind_all;
use crate::listen::listener::Event;
use crate::listen::record::Record;
use crate::write::ops;

impl<M: Record> Select<M> {
    /// The `SELECT` that [`Select::all`] sends on `dialect`: quoted identifiers and
    /// placeholders, never the values (they are bound, in the order of the placeholders).
    /// For logs, and to read what a filter selects, as SQLAlchemy's `str(query)`.
    ///
    /// ```
    /// # use model_core::{Dialect, Model};
    /// # #[derive(Model)] struct Post { id: Option<i64>, title: String, views: i64 }
    /// let select = Post::filter(|p| p.views.gt(100)).order_by(|p| p.title).limit(10);
    /// assert_eq!(
    ///     select.to_sql(Dialect::Postgres),
    ///     "SELECT \"id\", \"title\", \"views\" FROM \"post\" WHERE \"views\" > $1 \
    ///      ORDER BY \"title\" ASC, \"id\" ASC LIMIT $2 OFFSET $3"
    /// );
    /// ```
    pub fn to_sql(&self, dialect: crate::Dialect) -> String {
        self.plan.select(M::__TABLE, dialect, Columns::All).text
    }

    /// Every selected row, running `load` listeners on each.
    pub fn all<'c, A>(self, db: A) -> impl Future<Output = Result<Vec<M>, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        let read = async move {
            let mut plan = self.plan;
            if let Some(answer) = plan.answered::<M>()? {
                return Ok(answer);
            }
            let mut conn = acquire::<M, A>(db).await?;
            plan.models::<M, A::Database>(&mut conn).await
        };
        scope::within(
            M::__TABLE.model,
            Operation::Select,
            |models| Some(models.len()),
            read,
        )
    }

    /// The first selected row, if any, with its `load` listeners run.
    pub fn first<'c, A>(self, db: A) -> impl Future<Output = Result<Option<M>, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        // The first: a listener's answer may hold more than the one row asked for.
        async move { Ok(self.at_most(1).all(db).await?.into_iter().next()) }
    }

    /// The one selected row: [`Error::NoRows`] if there is none, [`Error::TooManyRows`] if
    /// there are more (only the first two are read).
    pub fn one<'c, A>(self, db: A) -> impl Future<Output = Result<M, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        let read = async move {
            let mut plan = self.at_most(2).plan;
            let mut models = match plan.answered::<M>()? {
                Some(answer) => answer,
                None => {
                    let mut conn = acquire::<M, A>(db).await?;
                    let rows = plan
                        .rows::<A::Database>(&mut conn, M::__TABLE, Columns::All)
                        .await?;
                    // `load` listeners run on the one row only.
                    exactly_one(M::__TABLE.model, rows.len())?;
                    ops::load::<M, A::Database>(rows, &mut conn).await?
                }
            };
            exactly_one(M::__TABLE.model, models.len())?;
            Ok(models.remove(0))
        };
        scope::within(M::__TABLE.model, Operation::Select, |_| Some(1), read)
    }

    /// How many rows are selected (within `limit` and `offset`, if set). Runs no listener:
    /// no model is read.
    pub fn count<'c, A>(self, db: A) -> impl Future<Output = Result<u64, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        let count = async move {
            let mut plan = self.plan;
            if let Some(answer) = plan.answered::<M>()? {
                return Ok(u64::try_from(answer.len()).unwrap_or(u64::MAX));
            }
            let mut conn = acquire::<M, A>(db).await?;
            let rows = plan
                .rows::<A::Database>(&mut conn, M::__TABLE, Columns::Count)
                .await?;
            let count = match rows.first() {
                Some(row) => <A::Database as Backend>::get::<i64>(row, 0)
                    .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?,
                None => 0,
            };
            Ok(u64::try_from(count).unwrap_or(0))
        };
        // No model is read: no rows to record.
        scope::within(M::__TABLE.model, Operation::Count, |_| None, count)
    }

    /// Whether any row is selected. Runs no listener: no model is read.
    pub fn exists<'c, A>(self, db: A) -> impl Future<Output = Result<bool, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        let exists = async move {
            let mut plan = self.at_most(1).plan;
            if let Some(answer) = plan.answered::<M>()? {
                return Ok(!answer.is_empty());
            }
            let mut conn = acquire::<M, A>(db).await?;
            let rows = plan
                .rows::<A::Database>(&mut conn, M::__TABLE, Columns::One)
                .await?;
            Ok(!rows.is_empty())
        };
        scope::within(M::__TABLE.model, Operation::Exists, |_| None, exists)
    }
}

/// [`Error::NoRows`] or [`Error::TooManyRows`] unless `count` is 1: [`Select::one`].
fn exactly_one(model: &'static str, count: usize) -> Result<(), Error> {
    match count {
        1 => Ok(()),
        0 => Err(Error::NoRows { model }),
        _ => Err(Error::TooManyRows { model }),
    }
}

pub(crate) async fn acquire<'c, M: Record, A: Acquire<'c>>(db: A) -> Result<A::Connection, Error> {
    db.acquire()
        .await
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))
}

impl Plan {
    /// The selected models, with their `load` listeners run; or the rows a `before_query`
    /// listener answered the query with.
    pub(crate) async fn models<M: Record, DB: Backend>(
        mut self,
        conn: &mut DB::Connection,
    ) -> Result<Vec<M>, Error> {
        if let Some(answer) = self.answered::<M>()? {
            return Ok(answer);
        }
        let rows = self.rows::<DB>(conn, M::__TABLE, Columns::All).await?;
        ops::load::<M, DB>(rows, conn).await
    }

    /// Runs the `SELECT` of `columns` and returns its rows.
    pub(crate) async fn rows<DB: Backend>(
        mut self,
        conn: &mut DB::Connection,
        table: Table,
        columns: Columns,
    ) -> Result<Vec<DB::Row>, Error> {
        self.prepare(table, DB::DIALECT)?;
        let sql = self.select(table, DB::DIALECT, columns);
        fetch::<DB>(conn, sql).await
    }

    /// The `SELECT` of `columns`; a count of a page counts its rows in a subquery.
    pub(crate) fn select(
        &self,
        table: Table,
        dialect: crate::Dialect,
        columns: Columns,
    ) -> Sql<'_> {
        let page = self.limit.is_some() || self.offset != 0;
        let mut sql = Sql::new(dialect, table);
        // PostgreSQL locks no rows of an aggregate (`COUNT(*) ... FOR UPDATE` is refused): a
        // locking count counts the locked rows of a subquery.
        let counted_page = columns == Columns::Count && (page || self.lock.is_some());
        sql.select(if counted_page { Columns::One } else { columns });
        sql.where_(self.filter.as_ref(), None);
        // Which rows a count or an `exists` sees does not depend on their order.
        if columns == Columns::All {
            sql.order_by(&self.order);
        }
        sql.limit(&self.limit, &self.offset);
        sql.lock(self.lock);
        if counted_page {
            sql.count_of_subquery();
        }
        sql
    }
}

/// Runs a statement written by [`Sql`] and returns its rows.
pub(crate) async fn fetch<DB: Backend>(
    conn: &mut DB::Connection,
    sql: Sql<'_>,
) -> Result<Vec<DB::Row>, Error> {
    let model = sql.model();
    let query = statement::<DB>(sql)?;
    DB::fetch_all(conn, query)
        .await
        .map_err(|e| Error::from_sqlx(model, e))
}

/// The statement of `sql`, its values bound (owned by the statement).
fn statement<DB: Backend>(sql: Sql<'_>) -> Result<Query<'static, DB>, Error> {
    sql.check_binds()?;
    // Safe: the text is quoted identifiers from the model's constants and placeholders;
    // every value is bound.
    Ok(bind_all::<DB>(
        sqlx::query(AssertSqlSafe(sql.text)),
        &sql.values,
    ))
}

impl Plan {
    /// The plan's `SELECT` of every column, ready to send: what a read by key or of every
    /// row sends instead of its prepared statement when the model has `before_query`
    /// listeners (`listeners::find`). The listeners have run.
    pub(crate) fn statement<DB: Backend>(
        mut self,
        table: Table,
    ) -> Result<Query<'static, DB>, Error> {
        self.prepare(table, DB::DIALECT)?;
        statement::<DB>(self.select(table, DB::DIALECT, Columns::All))
    }
}

/// A raw SQL read of model `M`, made by [`Model::from_sql`](crate::Model::from_sql): its rows are decoded by column
/// name and run `load` listeners, as every read of a model does.
#[must_use = "nothing runs until `all` or `first` is awaited"]
pub struct FromSql<'q, M, DB: Backend> {
    query: Query<'q, DB>,
    model: PhantomData<fn() -> M>,
}

impl<'q, M: Record, DB: Backend> FromSql<'q, M, DB> {
    pub(crate) fn new(query: Query<'q, DB>) -> Self {
        FromSql {
            query,
            model: PhantomData,
        }
    }

    /// Every row the SQL returns, as models, with their `load` listeners run.
    ///
    /// Not an `async fn`, so that a generic async listener can await it (see
    /// [`crate::transaction`]).
    #[allow(clippy::manual_async_fn)]
    pub fn all<'c, A>(
        self,
        db: A,
    ) -> impl Future<Output = Result<Vec<M>, Error>> + Send + use<'q, 'c, A, M, DB>
    where
        A: Acquire<'c, Database = DB> + Send,
    {
        let read = async move {
            let mut conn = acquire::<M, A>(db).await?;
            let rows = DB::fetch_all(&mut conn, self.query)
                .await
                .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
            load_by_name::<M, DB>(rows, &mut conn).await
        };
        scope::within(
            M::__TABLE.model,
            Operation::Select,
            |models| Some(models.len()),
            read,
        )
    }

    /// The first row the SQL returns, if any, with its `load` listeners run. The SQL is run
    /// to its end: put a `LIMIT` in it to read less.
    #[allow(clippy::manual_async_fn)]
    pub fn first<'c, A>(
        self,
        db: A,
    ) -> impl Future<Output = Result<Option<M>, Error>> + Send + use<'q, 'c, A, M, DB>
    where
        A: Acquire<'c, Database = DB> + Send,
    {
        let read = async move {
            let mut conn = acquire::<M, A>(db).await?;
            let row = DB::fetch_optional(&mut conn, self.query)
                .await
                .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
            let models = load_by_name::<M, DB>(row.into_iter().collect(), &mut conn).await?;
            Ok(models.into_iter().next())
        };
        scope::within(
            M::__TABLE.model,
            Operation::Select,
            |model| Some(model.iter().len()),
            read,
        )
    }
}

/// Decodes rows by column name and runs `load` listeners on each, as [`ops::load`] does for
/// rows in column order.
async fn load_by_name<M: Record, DB: Backend>(
    rows: Vec<DB::Row>,
    conn: &mut DB::Connection,
) -> Result<Vec<M>, Error> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    // Every row of one statement has the same columns: find them once.
    let map =
        by_name::<DB>(M::__TABLE, first).map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    let mut session = Session::<DB>::new(conn);
    let loaded = async {
        let mut models = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut model = M::__from_row_at::<DB>(row, ColumnMap(Some(&map)))
                .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
            crate::listen::run_mut(&mut model, Event::Load, &mut session).await?;
            models.push(model);
        }
        Ok(models)
    };
    let outcome = ops::catch_panic(loaded).await;
    ops::finish::<M, _, _>(session, outcome).await
}

/// For each of the table's columns, the position of the first column of that name in `row`.
fn by_name<DB: Backend>(table: Table, row: &DB::Row) -> Result<Vec<usize>, sqlx::Error> {
    let columns = row.columns();
    table
        .columns
        .iter()
        .map(|name| {
            columns
                .iter()
                .position(|c| c.name() == *name)
                .ok_or_else(|| sqlx::Error::ColumnNotFound((*name).to_owned()))
        })
        .collect()
}

/// `sqlx::FromRow` for models: decodes by column name, runs no listener.
#[doc(hidden)]
pub fn from_row<M: Record, DB: Backend>(row: &DB::Row) -> Result<M, sqlx::Error> {
    let map = by_name::<DB>(M::__TABLE, row)?;
    M::__from_row_at::<DB>(row, ColumnMap(Some(&map)))
}
