//! Streaming a large selection in chunks, so that memory holds one chunk at a time.
//!
//! Each chunk is one `SELECT ... LIMIT 1000` continuing after the last key of the previous
//! one (keyset pagination), read in full before its `load` listeners run: between chunks
//! the connection is free, so an async `load` listener can run its own SQL on it, which a
//! cursor held open across the listener calls would not allow. Keyset pages never skip or
//! repeat a row that exists throughout, and cost the same at the millionth row as at the
//! first, where `OFFSET` pages would rescan every row before them.

use std::future::Future;
use std::ops::DerefMut;
use std::pin::Pin;
use std::task::{Context, Poll};

use sqlx::Acquire;

use super::column::Sort;
use super::read::{acquire, fetch};
use super::sql::{Columns, Sql};
use super::{Plan, Select};
use crate::base::error::Error;
use crate::db::backend::Backend;
use crate::db::key::PrimaryKey as _;
use crate::db::scope::{Operation, Scope};
use crate::db::value::Value;
use crate::listen::record::Record;
use crate::write::ops;

/// Rows per chunk.
const CHUNK: i64 = 1000;

/// The selected models, one chunk of rows at a time: what [`Select::stream`] returns.
///
/// A [`futures_core::Stream`] of `Result<M, Error>`; without a stream library, call
/// [`ModelStream::next`]. It ends after the first error.
#[must_use = "a stream reads nothing until polled"]
pub struct ModelStream<'c, M> {
    buffer: std::vec::IntoIter<M>,
    next: Option<ChunkFuture<'c, M>>,
    /// The read's span and context, entered while a chunk is read; it ends with the stream.
    scope: Scope,
    /// How many rows the chunks read so far had.
    read: usize,
}

type ChunkFuture<'c, M> = Pin<Box<dyn Future<Output = Result<Chunk<'c, M>, Error>> + Send + 'c>>;

/// One chunk of loaded models, and the read of the next chunk if there is more.
struct Chunk<'c, M> {
    models: Vec<M>,
    next: Option<ChunkFuture<'c, M>>,
}

/// What a chunk's read needs, handed from each chunk to the next.
struct Keyset<M: Record, C> {
    conn: C,
    plan: Plan,
    descending: bool,
    /// The key of the last row read, once a chunk was read.
    after: Option<M::__Key>,
    /// How many rows the `limit` still allows.
    remaining: Option<i64>,
}

impl<M: Record> Select<M> {
    /// Streams the selected rows, reading them 1,000 at a time by primary key, and runs
    /// `load` listeners on each chunk as it is read: memory holds one chunk, however many
    /// rows match. Holds one connection of `db` until the stream is dropped.
    ///
    /// Rows come in primary-key order: ascending, or descending after
    /// `.order_by(|p| p.id.desc())`; ordering by another column is
    /// [`Error::Unsupported`] (read pages with `limit` and `offset` instead). Chunks are
    /// separate statements: a row inserted, changed or deleted while the stream runs may be
    /// seen or not, but no row is read twice.
    ///
    /// ```
    /// # use model_core::Model;
    /// # #[derive(Model)] struct Post { id: Option<i64>, views: i64 }
    /// # async fn demo(pool: sqlx::SqlitePool) -> Result<(), model_core::Error> {
    /// let mut posts = Post::filter(|p| p.views.gt(0)).stream(&pool);
    /// while let Some(post) = posts.next().await {
    ///     let post = post?;
    ///     # let _ = post;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream<'c, A>(self, db: A) -> ModelStream<'c, M>
    where
        A: Acquire<'c> + Send + 'c,
        A::Connection: 'c,
        A::Database: Backend,
    {
        let first: ChunkFuture<'c, M> = Box::pin(async move {
            let table = M::__TABLE;
            let mut plan = self.plan;
            // Before the order is checked: a listener may order the query, or answer it.
            if let Some(models) = plan.answered::<M>()? {
                return Ok(Chunk { models, next: None });
            }
            let descending = plan.order.first().is_some_and(|sort| sort.descending);
            // The key's columns (or the first of them), in key order, all one way.
            let in_key_order = plan.order.len() <= table.key.len()
                && plan
                    .order
                    .iter()
                    .zip(table.key)
                    .all(|(sort, &key)| sort.column == key && sort.descending == descending);
            if !in_key_order {
                return Err(Error::Unsupported {
                    model: M::__TABLE.model,
                    what: "stream() reads in primary-key order (a composite key's parts in \
                           field order, all one way); order_by() another column only for \
                           all() or first()",
                });
            }
            plan.prepare(table, <A::Database as Backend>::DIALECT)?;
            // The chunks continue after the last key read, compared as a row value for a
            // composite key: every key column is ordered, in key order, one way.
            plan.order = table
                .key
                .iter()
                .map(|&column| Sort::key(column, descending))
                .collect();
            let conn = acquire::<M, A>(db).await?;
            let state = Keyset {
                conn,
                descending,
                remaining: plan.limit,
                plan,
                after: None,
            };
            chunk::<M, A::Database, A::Connection>(state).await
        });
        ModelStream {
            buffer: Vec::new().into_iter(),
            next: Some(first),
            scope: Scope::new(M::__TABLE.model, Operation::Select),
            read: 0,
        }
    }
}

/// Reads one chunk and loads it; returns it with the read of the next one.
fn chunk<'c, M, DB, C>(mut state: Keyset<M, C>) -> ChunkFuture<'c, M>
where
    M: Record,
    DB: Backend,
    C: DerefMut<Target = DB::Connection> + Send + 'c,
{
    Box::pin(async move {
        let size = state.remaining.map_or(CHUNK, |r| r.min(CHUNK));
        let offset = if state.after.is_some() {
            0
        } else {
            state.plan.offset
        };
        let limit = Some(size);
        let mut key: Vec<&dyn Value> = Vec::new();
        if let Some(after) = &state.after {
            after.__values(&mut key);
        }
        let after = state
            .after
            .is_some()
            .then_some((state.descending, key.as_slice()));
        let mut sql = Sql::new(DB::DIALECT, M::__TABLE);
        sql.select(Columns::All);
        sql.where_(state.plan.filter.as_ref(), after);
        sql.order_by(&state.plan.order);
        sql.limit(&limit, &offset);
        sql.lock(state.plan.lock);
        let rows = fetch::<DB>(&mut state.conn, sql).await?;
        // The key as read, before a `load` listener could change the field.
        let last = match rows.last() {
            Some(row) => Some(
                M::__Key::__get::<DB>(row, M::__TABLE.key)
                    .map_err(|e| Error::from_sqlx(M::__TABLE.model, e))?,
            ),
            None => None,
        };
        let read = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let models = ops::load::<M, DB>(rows, &mut state.conn).await?;
        state.remaining = state.remaining.map(|r| r - read);
        let more = read == size && state.remaining != Some(0);
        state.after = last;
        Ok(Chunk {
            models,
            next: more.then(|| chunk::<M, DB, C>(state)),
        })
    })
}

impl<M: Record> ModelStream<'_, M> {
    /// The next model: `None` at the end.
    pub async fn next(&mut self) -> Option<Result<M, Error>> {
        std::future::poll_fn(|cx| self.poll_model(cx)).await
    }

    fn poll_model(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<M, Error>>> {
        loop {
            if let Some(model) = self.buffer.next() {
                return Poll::Ready(Some(Ok(model)));
            }
            let Some(read) = self.next.as_mut() else {
                self.scope.finish(Some(self.read), true);
                return Poll::Ready(None);
            };
            match self.scope.enter(|| read.as_mut().poll(cx)) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => {
                    self.next = None;
                    self.scope.finish(Some(self.read), false);
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Ok(chunk)) => {
                    self.read += chunk.models.len();
                    // The previous chunk's models are gone before this one's are kept.
                    self.buffer = chunk.models.into_iter();
                    self.next = chunk.next;
                }
            }
        }
    }
}

impl<M: Record> futures_core::Stream for ModelStream<'_, M> {
    type Item = Result<M, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_model(cx)
    }
}
