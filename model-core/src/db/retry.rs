//! Layer 2, the database: a transaction run again when the database rolled it back for a
//! concurrent one ([`retry`]). Uses [`crate::base`] and [`crate::db::commit`].

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::base::error::{is_retryable_chain, BoxError, Error};
use crate::db::backend::Backend;
use crate::db::commit::{transaction, TransactionFuture};
use crate::db::conn::Conn;

/// How [`retry`] retries: how many attempts in all, and how long it waits between two.
///
/// The wait before attempt `n + 1` is drawn at random between half and all of
/// `backoff × 2ⁿ⁻¹`, at most `max_backoff`: transactions that conflicted once do not meet
/// again at the same moment. The defaults: 5 attempts, 10 ms, 1 s.
///
/// ```
/// use std::time::Duration;
/// use model_core::Retry;
///
/// let patient = Retry::default().attempts(20).backoff(Duration::from_millis(2), Duration::from_millis(200));
/// assert_eq!(patient.max_attempts(), 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    attempts: u32,
    backoff: Duration,
    max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 5,
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl Retry {
    /// At most `attempts` runs of the body in all (at least 1: 1 is no retry).
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Waits about `first` after the first failed attempt, twice as long after each next
    /// one, never more than `max`.
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// How many attempts [`retry`] makes at most.
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether attempt `attempt` (1-based), failed with `error`, is followed by another: the
    /// error asks for it and attempts are left. The one rule of [`retry`] and of
    /// `Schema::create_all`'s statements on MySQL.
    pub(crate) fn again(&self, attempt: u32, error: &impl Retryable) -> bool {
        attempt < self.attempts && error.is_retryable()
    }

    /// Waits out [`Retry::delay`] after failed attempt `attempt`, and moves on to the next.
    pub(crate) async fn wait(&self, attempt: &mut u32) {
        tokio::time::sleep(self.delay(*attempt)).await;
        *attempt += 1;
    }

    /// The wait after failed attempt `attempt` (1-based): "equal jitter", half of the
    /// exponential step fixed, the other half random.
    fn delay(&self, attempt: u32) -> Duration {
        let doubled = 2_u32.saturating_pow(attempt.saturating_sub(1));
        let step = self.backoff.saturating_mul(doubled).min(self.max_backoff);
        let half = step / 2;
        half + half.mul_f64(random_fraction())
    }
}

/// A number in `[0, 1)`, different on every call: std's `RandomState` keys each hasher
/// from a random per-thread seed, moved on at every `new`. Enough to spread retries apart;
/// no new dependency for it.
fn random_fraction() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    bits as f64 / (1_u64 << 53) as f64
}

/// An error type a [`retry`] body returns: says whether the failed attempt should be run
/// again. Implemented for [`Error`] (its [`Error::is_retryable`]) and `Box<dyn Error + Send
/// + Sync>` (the first `model_core::Error` or `sqlx::Error` in its `source()` chain);
/// implement it for your own error type by asking the `model_core::Error` it holds.
///
/// ```
/// #[derive(Debug)]
/// enum AppError {
///     Db(model_core::Error),
///     SoldOut,
/// }
///
/// impl From<model_core::Error> for AppError {
///     fn from(error: model_core::Error) -> Self {
///         AppError::Db(error)
///     }
/// }
///
/// impl model_core::Retryable for AppError {
///     fn is_retryable(&self) -> bool {
///         matches!(self, AppError::Db(error) if error.is_retryable())
///     }
/// }
/// ```
pub trait Retryable {
    /// Whether running the whole transaction again is what this error asks for.
    fn is_retryable(&self) -> bool;
}

impl Retryable for Error {
    fn is_retryable(&self) -> bool {
        Error::is_retryable(self)
    }
}

impl Retryable for BoxError {
    fn is_retryable(&self) -> bool {
        is_retryable_chain(Some(&**self))
    }
}

/// Runs `body` in a [`transaction`] on `pool`, and runs it again, in a new transaction, when
/// it fails with an error the database asks to retry ([`Retryable`]: a serialization
/// failure, a deadlock, a Galera certification conflict, a stale `#[model(version)]`; see
/// [`Error::is_retryable`]), at most `policy`'s number of attempts, waiting a random,
/// growing while between them. Returns the first `Ok`, the first error that is not
/// retryable, or the last attempt's error.
///
/// Each attempt is a whole [`transaction`], with every listener of every write in it:
/// `before_*` and `after_*` listeners and `before_commit` run once per attempt (inside it,
/// rolled back with it); `after_rollback` listeners once for each attempt rolled back;
/// `after_*_commit` listeners only for the attempt that committed, once. The models a body
/// writes are its own, made (or read, or cloned) inside it: what it returns is what the
/// committed attempt wrote, with that attempt's generated keys and versions.
///
/// What a body must not do: anything outside the database, which a rolled-back attempt
/// cannot take back and a retry would do again (an email, a message, a call to another
/// service, a change to shared memory). Put it in an `after_*_commit` listener, or do it
/// after `retry` returns. Read what the transaction depends on inside the body, not before
/// (a value read before is the stale value the conflict was about), with a locking read
/// ([`Select::for_update`](crate::Select::for_update)) or under `SERIALIZABLE` isolation
/// so that a concurrent change is a conflict, not a lost update.
///
/// A body that fails with [`Error::OutcomeUnknown`] (the connection was lost during the
/// commit) is not retried: it may have committed.
///
/// ```
/// use model_core::{retry, Model, Retry};
///
/// #[derive(Debug, Model)]
/// #[model(table = "counters")]
/// struct Counter {
///     id: i64,
///     hits: i64,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), model_core::Error> {
/// # let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
/// # sqlx::query("CREATE TABLE counters (id INTEGER PRIMARY KEY, hits INTEGER NOT NULL)").execute(&pool).await.unwrap();
/// # Counter { id: 1, hits: 0 }.insert(&pool).await?;
/// let hits = retry(&pool, Retry::default(), |conn| {
///     Box::pin(async move {
///         // A locking read: a concurrent increment waits for this one (or, on a cluster,
///         // conflicts at commit, and this body runs again).
///         let mut counter = Counter::filter(|c| c.id.eq(1)).for_update().one(&mut *conn).await?;
///         counter.hits += 1;
///         counter.update(&mut *conn).await?;
///         Ok::<_, model_core::Error>(counter.hits)
///     })
/// })
/// .await?;
/// assert_eq!(hits, 1);
/// # Ok(()) }
/// ```
// Not an `async fn`, for the reason given in `transaction`.
#[allow(clippy::manual_async_fn)]
pub fn retry<'p, DB, T, E, F>(
    pool: &'p sqlx::Pool<DB>,
    policy: Retry,
    mut body: F,
) -> impl Future<Output = Result<T, E>> + Send + use<'p, DB, T, E, F>
where
    DB: Backend,
    T: Send,
    E: From<Error> + Retryable + Send,
    F: for<'t> FnMut(&'t mut Conn<DB>) -> TransactionFuture<'t, T, E> + Send,
{
    async move {
        let mut attempt = 1;
        loop {
            match transaction(pool, |conn| body(conn)).await {
                Err(error) if policy.again(attempt, &error) => policy.wait(&mut attempt).await,
                done => return done,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_within_its_bounds_and_is_spread() {
        let policy = Retry::default().backoff(Duration::from_millis(10), Duration::from_millis(50));
        for (attempt, step) in [(1, 10), (2, 20), (3, 40), (4, 50), (30, 50)] {
            let step = Duration::from_millis(step);
            for _ in 0..50 {
                let delay = policy.delay(attempt);
                assert!(delay >= step / 2 && delay <= step, "{attempt}: {delay:?}");
            }
        }
        let delays: std::collections::BTreeSet<_> = (0..20).map(|_| policy.delay(3)).collect();
        assert!(delays.len() > 10, "random: {delays:?}");
    }

    #[test]
    fn at_least_one_attempt() {
        assert_eq!(Retry::default().attempts(0).max_attempts(), 1);
        assert_eq!(Retry::default().max_attempts(), 5);
    }
}
