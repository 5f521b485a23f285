//! Set-based `update` and `delete`: one statement when the model has no listener of the
//! write, otherwise every matched row through the per-row write path, atomically.

use std::future::Future;
use std::pin::Pin;

use sqlx::{Acquire, AssertSqlSafe, Connection as _};

use super::column::Assignment;
use super::read::{acquire, fetch};
use super::sql::{Columns, Sql};
use super::{Plan, Select};
use crate::base::error::Error;
use crate::db::backend::{Backend, Dialect};
use crate::db::commit;
use crate::db::conn::Conn;
use crate::db::scope::{self, Operation};
use crate::db::session::Session;
use crate::db::transaction_events;
use crate::db::value::{bind_all, Value};
use crate::listen::listener::Event;
use crate::listen::record::Record;
use crate::write::ops;

/// The events whose listeners a set-based update runs, and whether the model has any.
const UPDATE: [Event; 5] = [
    Event::BeforeUpdate,
    Event::AfterUpdate,
    Event::AfterUpdateCommit,
    Event::BeforeCommit,
    Event::AfterRollback,
];
const DELETE: [Event; 5] = [
    Event::BeforeDelete,
    Event::AfterDelete,
    Event::AfterDeleteCommit,
    Event::BeforeCommit,
    Event::AfterRollback,
];

impl<M: Record> Select<M> {
    /// Sets columns of every selected row and returns how many rows were updated.
    ///
    /// `set` names the changes: `|p| p.published.set(true)`, or several in an array,
    /// `|p| [p.published.set(true), p.views.set(0)]`.
    ///
    /// When `M` has `before_update`, `after_update` or `after_update_commit` listeners,
    /// they run once per row, with that row's data: the selected rows are read (and locked:
    /// `FOR UPDATE` on PostgreSQL and MySQL) as [`Select::all`] reads them, `load`
    /// listeners included; the changes are applied to each; then they are written as
    /// [`Model::update_all`](crate::Model::update_all) writes them (every row's `before_update`, then the `UPDATE`s,
    /// then every row's `after_update`), so `before_update` sees the new values and what
    /// it changes is written too. All in one transaction: a listener's veto on any row
    /// writes none of them. Without such listeners (and without `order_by`, `limit` or
    /// `offset`, which also take the per-row path) it is one `UPDATE ... WHERE`.
    ///
    /// ```
    /// # use model_core::Model;
    /// # #[derive(Model)] struct Post { id: Option<i64>, views: i64, published: bool }
    /// # async fn demo(pool: sqlx::SqlitePool) -> Result<(), model_core::Error> {
    /// let published = Post::filter(|p| p.views.gt(100))
    ///     .update(|p| p.published.set(true), &pool)
    ///     .await?;
    /// # let _ = published; Ok(()) }
    /// ```
    pub fn update<'c, A, S>(
        self,
        set: impl FnOnce(&M::__Columns) -> S,
        db: A,
    ) -> impl Future<Output = Result<u64, Error>> + Send
    where
        S: IntoIterator<Item = Assignment<M>>,
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        let set: Vec<Assignment<M>> = set(&M::__HANDLES).into_iter().collect();
        let update = async move {
            // As `Model::update`: the key names the row, on either path below (a key the
            // database generates may refuse to be written at all).
            if set.iter().any(|a| M::__TABLE.key.contains(&a.column)) {
                return Err(Error::Unsupported {
                    model: M::__TABLE.model,
                    what: "an update cannot set the primary key: it names the row; delete \
                           the row and insert it under the new key",
                });
            }
            // As `Model::update`, which never writes them: the database keeps these.
            let generated = &M::__READ_BACK.columns[..M::__READ_BACK.generated];
            if set.iter().any(|a| generated.contains(&a.column)) {
                return Err(Error::Unsupported {
                    model: M::__TABLE.model,
                    what: "an update cannot set a `#[model(generated)]` column: the database \
                           computes it (a trigger or a `GENERATED` expression)",
                });
            }
            let mut plan = self.plan;
            plan.listened()?;
            plan.unanswered(M::__TABLE.model)?;
            // Listeners of the transaction are told every row written: read them.
            if has_listeners::<M>(&UPDATE) || plan.is_page() || transaction_events::any_active() {
                return per_row(plan, db, Event::AfterUpdateCommit, move |models, conn| {
                    for model in models.iter_mut() {
                        for assignment in &set {
                            assignment.change.apply(model);
                        }
                    }
                    Box::pin(ops::update_all(models, conn))
                })
                .await;
            }
            if set.is_empty() {
                return Select::<M> {
                    plan,
                    model: std::marker::PhantomData,
                }
                .count(db)
                .await;
            }
            let mut set = set;
            let mut values: Vec<(usize, &mut dyn Value)> = set
                .iter_mut()
                .map(|a| (a.column, a.change.value_mut()))
                .collect();
            statement::<M, A>(plan, Some(values.as_mut_slice()), db).await
        };
        let rows = |rows: &u64| usize::try_from(*rows).ok();
        scope::within(M::__TABLE.model, Operation::Update, rows, update)
    }

    /// Deletes every selected row and returns how many were deleted.
    ///
    /// When `M` has `before_delete`, `after_delete` or `after_delete_commit` listeners, they
    /// run once per row, with that row's data: the selected rows are read (and locked) as
    /// [`Select::all`] reads them, then deleted as [`Model::delete_all`](crate::Model::delete_all) deletes them, in
    /// one transaction: a `before_delete` veto on any row deletes none of them. Without
    /// such listeners (and without `order_by`, `limit` or `offset`, and without a cascade
    /// to children with listeners: see the relationships chapter of the guide) it is one
    /// `DELETE ... WHERE`.
    pub fn delete<'c, A>(self, db: A) -> impl Future<Output = Result<u64, Error>> + Send
    where
        A: Acquire<'c> + Send,
        A::Database: Backend,
    {
        let delete = async move {
            // A cascade that runs listeners deletes each row's children first: the rows
            // are read, and deleted as `delete_all` deletes them.
            let cascades = crate::write::cascade::listened(std::any::TypeId::of::<M>());
            let mut plan = self.plan;
            plan.listened()?;
            plan.unanswered(M::__TABLE.model)?;
            if has_listeners::<M>(&DELETE)
                || plan.is_page()
                || cascades
                || transaction_events::any_active()
            {
                return per_row(
                    plan,
                    db,
                    Event::AfterDeleteCommit,
                    |models: &mut [M], conn| Box::pin(ops::delete_all(models, conn)),
                )
                .await;
            }
            statement::<M, A>(plan, None, db).await
        };
        let rows = |rows: &u64| usize::try_from(*rows).ok();
        scope::within(M::__TABLE.model, Operation::Delete, rows, delete)
    }
}

/// Whether `M` has a listener of any of `events`: struct-side, function-side or run-time.
fn has_listeners<M: Record>(events: &[Event]) -> bool {
    let state = M::__listeners().state();
    events
        .iter()
        .any(|&event| crate::listen::has_in::<M>(state, event))
}

impl Plan {
    /// Whether only some of the matched rows are selected, in an order: a set-based write
    /// then needs to know which rows those are, so it reads them.
    fn is_page(&self) -> bool {
        !self.order.is_empty() || self.limit.is_some() || self.offset != 0
    }
}

/// The per-row path's write: `update_all` or `delete_all` of the rows read.
type WriteFuture<'t> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 't>>;

/// Reads the selected rows locked, loads them, and hands them to `write`, all in one
/// transaction (a savepoint in a caller's), with the after-commit queue of [`ops::write`].
async fn per_row<'c, M, A, W>(
    plan: Plan,
    db: A,
    commit_event: Event,
    write: W,
) -> Result<u64, Error>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
    W: for<'t> FnOnce(&'t mut [M], &'t mut Conn<A::Database>) -> WriteFuture<'t> + Send,
{
    let mut conn = acquire::<M, A>(db).await?;
    if conn.is_in_transaction() {
        // As `ops::write`: a commit nobody will report cannot run the commit listeners.
        let state = M::__listeners().state();
        let listens = |e| crate::listen::has_in::<M>(state, e);
        if crate::listen::needs_commit_scope(commit_event, listens) && !commit::is_open() {
            return Err(Error::CommitScope {
                model: M::__TABLE.model,
            });
        }
        return Box::pin(per_row_on::<M, A::Database, W>(plan, &mut conn, write)).await;
    }
    commit::outermost(Box::pin(async {
        let _turn = <A::Database as Backend>::__writer_turn(&mut conn)
            .await
            .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
        per_row_on::<M, A::Database, W>(plan, &mut conn, write).await
    }))
    .await
}

async fn per_row_on<M, DB, W>(
    mut plan: Plan,
    conn: &mut DB::Connection,
    write: W,
) -> Result<u64, Error>
where
    M: Record,
    DB: Backend,
    W: for<'t> FnOnce(&'t mut [M], &'t mut Conn<DB>) -> WriteFuture<'t> + Send,
{
    let table = M::__TABLE;
    plan.prepare(table, DB::DIALECT)?;
    // The rows about to be changed are locked `FOR UPDATE` below, whatever lock the
    // selection asked for.
    plan.lock = None;
    let outermost = !conn.is_in_transaction();
    let mut session = Session::<DB>::new(conn);
    session
        .begin()
        .await
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    let work = async {
        if outermost {
            // Right after `BEGIN`: the transaction's listeners that set it up.
            commit::after_begin::<DB>(session.connection()).await?;
        }
        let mut sql = plan.select(table, DB::DIALECT, Columns::All);
        sql.for_update();
        let rows = fetch::<DB>(session.conn(), sql).await?;
        let mut models = ops::load::<M, DB>(rows, session.conn()).await?;
        write(&mut models, session.conn()).await?;
        if outermost {
            // Right before this transaction's commit (see `commit`).
            commit::before_commit::<DB>(session.connection()).await?;
        }
        Ok(u64::try_from(models.len()).unwrap_or(u64::MAX))
    };
    let outcome = ops::catch_panic(work).await;
    ops::finish::<M, DB, u64>(session, outcome).await
}

/// One `UPDATE ... SET ... WHERE` (with `set`) or `DELETE ... WHERE`, for a model without
/// listeners of the write.
async fn statement<'c, M, A>(
    mut plan: Plan,
    set: Option<&mut [(usize, &mut dyn Value)]>,
    db: A,
) -> Result<u64, Error>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let table = M::__TABLE;
    let dialect = <A::Database as Backend>::DIALECT;
    plan.prepare(table, dialect)?;
    let mut sql = Sql::new(dialect, table);
    match set {
        Some(set) => {
            for (column, value) in set.iter_mut() {
                let length = M::__COLUMN_DEFS.get(*column).and_then(|def| def.length);
                value
                    .prepare(dialect)
                    .and_then(|()| match length {
                        Some(max) => crate::base::column::check_text(value.text(), max),
                        None => Ok(()),
                    })
                    .map_err(|reason| Error::Value {
                        model: M::__TABLE.model,
                        column: table.columns[*column],
                        reason,
                    })?;
            }
            let set: Vec<(usize, &dyn Value)> = set.iter().map(|(c, v)| (*c, &**v)).collect();
            sql.update(&set);
            // Issue 14: each row changed gets a new version, so that a copy read before is
            // stale (unless the assignments set the version themselves).
            if let Some(version) = M::__VERSION.filter(|v| set.iter().all(|(c, _)| c != v)) {
                sql.bump(version);
            }
            sql.where_(plan.filter.as_ref(), None);
            run::<M, A>(sql, db).await
        }
        None => {
            sql.delete();
            sql.where_(plan.filter.as_ref(), None);
            run::<M, A>(sql, db).await
        }
    }
}

/// Runs the one statement as `ops::write` runs a single-statement write: atomic on its own,
/// so without `BEGIN`/`COMMIT`; in a caller's transaction on PostgreSQL in a savepoint, since
/// a failed statement there would abort the caller's whole transaction.
async fn run<'c, M, A>(sql: Sql<'_>, db: A) -> Result<u64, Error>
where
    M: Record,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    sql.check_binds()?;
    let mut conn = acquire::<M, A>(db).await?;
    // Safe: quoted identifiers from the model's constants and placeholders only.
    let query = bind_all::<A::Database>(sqlx::query(AssertSqlSafe(sql.text)), &sql.values);
    let in_transaction = conn.is_in_transaction();
    // SQLite: wait for this process's earlier writers of the file first (`writers`).
    let _turn = match in_transaction {
        true => None,
        false => <A::Database as Backend>::__writer_turn(&mut conn)
            .await
            .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?,
    };
    let mut session = Session::<A::Database>::new(&mut conn);
    if in_transaction && <A::Database as Backend>::DIALECT == Dialect::Postgres {
        session
            .begin()
            .await
            .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?;
    }
    // Without a transaction the statement commits on its own: a connection lost during it
    // leaves the outcome unknown, as during a COMMIT.
    let autocommit = session.autocommits();
    let outcome = ops::catch_panic(execute::<M, A::Database>(session.conn(), query)).await;
    ops::finish::<M, A::Database, u64>(session, outcome)
        .await
        .map_err(|error| if autocommit { error.at_commit() } else { error })
}

async fn execute<M: Record, DB: Backend>(
    conn: &mut DB::Connection,
    query: crate::base::dialect::Query<'_, DB>,
) -> Result<u64, Error> {
    DB::execute(conn, query)
        .await
        .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))
}
