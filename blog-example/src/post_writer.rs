//! Where `GET /add_post` and `POST /posts` store their post: through a group commit (the
//! posts of the requests waiting in one transaction, one multi-row insert, a savepoint each
//! when one of them is refused), or one insert each.

use std::sync::Arc;

use model_core::{Backend, Conn, Dialect, Error, Model};
use sqlx::{Connection as _, Pool};

use crate::error::ApiError;
use crate::group_commit::GroupCommit;
use crate::model::Post;

/// The most posts one transaction writes. Requests beyond it wait for the next group; a
/// group this size takes about a millisecond on SQLite.
pub const MAX_GROUP: usize = 256;

/// Whether new posts go through the group commit: `--group-commit on|off`.
///
/// On by default, for every backend. On SQLite, which has one writer, concurrent inserts
/// wait for it in line anyway: taken together they share one transaction, one multi-row
/// `INSERT` and one commit. PostgreSQL and MySQL can commit on many connections at once,
/// but each commit still waits for its own log flush; a group's one commit waits for one.
/// BENCHMARKS.md (issue 28) has the numbers for each backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GroupCommitMode {
    /// Concurrent posts share one transaction.
    #[default]
    On,
    /// One insert per request, each committing on its own.
    Off,
}

/// What a group answers each of its posts: the stored post, or why it was not stored. An
/// error that failed the whole group is shared by its posts.
type Stored = Result<Post, Arc<Error>>;

/// Inserts posts, through every listener of `Post`, one way or the other (see
/// [`GroupCommitMode`]); the answer is the same either way.
pub struct PostWriter<DB: Backend> {
    how: How<DB>,
}

enum How<DB: Backend> {
    Grouped(GroupCommit<Post, Stored>),
    OneByOne(Pool<DB>),
}

impl<DB: Backend> Clone for PostWriter<DB> {
    fn clone(&self) -> Self {
        let how = match &self.how {
            How::Grouped(queue) => How::Grouped(queue.clone()),
            How::OneByOne(pool) => How::OneByOne(pool.clone()),
        };
        PostWriter { how }
    }
}

impl<DB: Backend> PostWriter<DB> {
    /// A writer into `pool`. With the group commit on, it starts the writer tasks, so it
    /// must be called inside a tokio runtime: one on SQLite (one writer at a time, the
    /// write pool's one connection), four on the other backends (four groups committing
    /// at once, on four of the pool's connections).
    pub fn new(pool: Pool<DB>, mode: GroupCommitMode) -> Self {
        if mode == GroupCommitMode::Off {
            return PostWriter {
                how: How::OneByOne(pool),
            };
        }
        let writers = if DB::DIALECT == Dialect::Sqlite { 1 } else { 4 };
        let queue = GroupCommit::spawn(writers, MAX_GROUP, move |posts| {
            write_group(pool.clone(), posts)
        });
        PostWriter {
            how: How::Grouped(queue),
        }
    }

    /// Inserts `post` and returns it stored (its `id` and `created_at` filled in), once
    /// it is committed. An error means it was not stored, except a 503 `outcome_unknown`:
    /// the connection was lost while committing, and it may have been.
    pub async fn insert(&self, mut post: Post) -> Result<Post, ApiError> {
        match &self.how {
            How::OneByOne(pool) => {
                post.insert(pool).await?;
                Ok(post)
            }
            How::Grouped(queue) => Ok(queue.submit(post).await??),
        }
    }
}

/// Writes `posts` in one transaction and answers each once it is committed.
///
/// First all together: one `insert_all`, one transaction, each post through its own
/// listeners (every `before_insert`, one multi-row `INSERT`, each post's `after_insert_commit`
/// after the commit). One post refused on its own (see [`refused_on_its_own`]) refuses that
/// whole insert, and nothing of it is written; the group is then written again post by post
/// ([`insert_each`]), so that only the refused post fails. Any other failure fails the whole
/// group: every post gets the error, `OutcomeUnknown` from a commit included.
async fn write_group<DB: Backend>(pool: Pool<DB>, posts: Vec<Post>) -> Vec<Stored> {
    let count = posts.len();
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(error) => return shared(Error::from_sqlx("Post", error), count),
    };
    // The posts as submitted are kept for a second try: listeners may have changed the
    // first try's copies.
    let mut together = posts.clone();
    let written = match Post::insert_all(&mut together, Conn::<DB>::from_mut(&mut conn)).await {
        Ok(()) => Ok(together.into_iter().map(Ok).collect()),
        Err(error) if count > 1 && refused_on_its_own(&error) => {
            insert_each(Conn::<DB>::from_mut(&mut conn), posts).await
        }
        Err(error) if refused_on_its_own(&error) => Ok(vec![Err(Arc::new(error))]),
        Err(error) => Err(error),
    };
    match written {
        Ok(stored) => {
            tracing::debug!(posts = count, "group committed");
            stored
        }
        Err(error) => {
            if conn.is_in_transaction() || opened_read_only::<DB>(&error) {
                tracing::warn!("closing the write connection after a failed transaction");
                conn.close_on_drop();
            }
            shared(error, count)
        }
    }
}

/// Writes `posts` in one transaction, each in a savepoint of its own (a nested
/// `transaction`): the slow way, for a group with a post refused in it.
///
/// A post refused on its own has its savepoint rolled back and gets its own error; the
/// others go on. Any other failure (the connection, the disk, a statement that should not
/// fail) may have ended the transaction on the database's side (SQLite rolls back the whole
/// transaction on a full disk or an I/O error, and a savepoint after that would begin a new
/// transaction that commits alone), so it fails the whole group: everything is rolled back.
/// So does a failed commit.
async fn insert_each<DB: Backend>(
    conn: &mut Conn<DB>,
    posts: Vec<Post>,
) -> Result<Vec<Stored>, Error> {
    model_core::transaction(conn, move |conn| {
        Box::pin(async move {
            let mut stored = Vec::with_capacity(posts.len());
            for mut post in posts {
                let saved = model_core::transaction(&mut *conn, |conn| {
                    Box::pin(async move {
                        post.insert(conn).await?;
                        Ok::<_, Error>(post)
                    })
                })
                .await;
                match saved {
                    Ok(post) => stored.push(Ok(post)),
                    Err(error) if refused_on_its_own(&error) => stored.push(Err(Arc::new(error))),
                    Err(error) => return Err(error),
                }
            }
            Ok(stored)
        })
    })
    .await
}

// Two ways a failed group can spoil its connection for every group after it, so that it is
// closed rather than returned to the pool (the pool opens a new one when it is next needed):
//
// - A failed COMMIT or ROLLBACK leaves sqlx counting a transaction the database has ended
//   (SQLite rolls back by itself after an I/O error during COMMIT, then refuses the
//   ROLLBACK): the connection would be taken as inside a transaction forever.
// - SQLite opens a connection read-only, silently, when its file cannot be written at that
//   moment (made immutable, say), and it stays so after the file is writable again.

/// Whether `error` says the connection is a SQLite one that was opened read-only
/// (`SQLITE_READONLY`, whatever its extended code).
fn opened_read_only<DB: Backend>(error: &Error) -> bool {
    let Error::Database { source, .. } = error else {
        return false;
    };
    DB::DIALECT == Dialect::Sqlite
        && source
            .as_database_error()
            .and_then(|db| db.code()?.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == 8)
}

/// The same error for `count` posts.
fn shared(error: Error, count: usize) -> Vec<Stored> {
    vec![Err(Arc::new(error)); count]
}

/// Whether `error` refused one post without touching the transaction around it: the
/// failed statement (or none, for a veto before it) is undone alone.
fn refused_on_its_own(error: &Error) -> bool {
    match error {
        Error::Value { .. } | Error::Constraint { .. } => true,
        // A listener's own error; one that wraps the failure of a write the listener made
        // is judged as that failure.
        Error::Listener { source, .. } => source
            .downcast_ref::<Error>()
            .is_none_or(refused_on_its_own),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Mutex;

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use sqlx::Sqlite;

    /// A migrated in-memory database on one connection (it lives as long as it does).
    async fn memory_db() -> Pool<Sqlite> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(SqliteConnectOptions::new().in_memory(true))
            .await
            .unwrap();
        crate::db::migrate(&pool).await.unwrap();
        pool
    }

    /// The blog's debug log, as text, while the guard lives (on this thread: the tests run
    /// on tokio's current-thread runtime, tasks included).
    fn capture_log() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
        #[derive(Clone)]
        struct Capture(Arc<Mutex<Vec<u8>>>);
        impl Write for Capture {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(log.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_env_filter("blog_example=debug")
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    fn lines_with(log: &Mutex<Vec<u8>>, text: &str) -> Vec<String> {
        String::from_utf8_lossy(&log.lock().unwrap())
            .lines()
            .filter(|line| line.contains(text))
            .map(str::to_owned)
            .collect()
    }

    /// Submits `titles` at once (every request is queued before the writer runs: one
    /// thread) and returns each answer, in order.
    async fn insert_all(writer: &PostWriter<Sqlite>, titles: &[&str]) -> Vec<Result<Post, u16>> {
        let tasks: Vec<_> = titles
            .iter()
            .map(|title| {
                let writer = writer.clone();
                let post = Post::new(*title, "body");
                tokio::spawn(async move {
                    writer.insert(post).await.map_err(|error| {
                        axum::response::IntoResponse::into_response(error)
                            .status()
                            .as_u16()
                    })
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }

    /// Ten valid posts waiting together: one group, one transaction, each post with its
    /// own id and its own listeners' work, `log_inserted` once per post after the commit.
    #[tokio::test]
    async fn posts_waiting_together_are_one_group_and_each_is_logged_once() {
        let pool = memory_db().await;
        let (log, _guard) = capture_log();
        let writer = PostWriter::new(pool.clone(), GroupCommitMode::On);
        let titles: Vec<String> = (0..10).map(|n| format!("post {n}")).collect();
        let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
        let answers = insert_all(&writer, &titles).await;
        let mut ids: Vec<i64> = answers
            .iter()
            .zip(&titles)
            .map(|(answer, title)| {
                let post = answer.as_ref().expect("stored");
                assert_eq!(post.title, *title);
                assert!(post.created_at.is_some());
                post.id.expect("an id")
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 10);
        let groups = lines_with(&log, "group committed");
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert!(groups[0].contains("posts=10"), "{groups:?}");
        let committed = lines_with(&log, "insert committed");
        assert_eq!(committed.len(), 10, "{committed:?}");
        for id in ids {
            let key = format!("key={id}");
            assert_eq!(committed.iter().filter(|l| l.ends_with(&key)).count(), 1);
        }
    }

    /// Ten posts in one group, one of them vetoed by `validate`: it alone is refused
    /// (422), the nine others are stored with their own ids, through their listeners
    /// (`set_created_at` before each insert; `log_inserted` once per stored post after the
    /// one commit, never for the refused one nor for the `insert_all` the veto refused),
    /// and it took one commit.
    #[tokio::test]
    async fn a_vetoed_post_fails_only_itself_and_commit_listeners_run_once_per_stored_post() {
        let pool = memory_db().await;
        let (log, _guard) = capture_log();
        let writer = PostWriter::new(pool.clone(), GroupCommitMode::On);
        let titles: Vec<String> = (0..10)
            .map(|n| {
                if n == 6 {
                    " ".to_owned()
                } else {
                    format!("post {n}")
                }
            })
            .collect();
        let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
        let answers = insert_all(&writer, &titles).await;

        let mut ids = Vec::new();
        for (n, answer) in answers.iter().enumerate() {
            match answer {
                Ok(post) => {
                    assert_ne!(n, 6);
                    assert_eq!(post.title, titles[n]);
                    assert!(post.created_at.is_some(), "set_created_at ran for {n}");
                    ids.push(post.id.expect("an id"));
                }
                Err(status) => assert_eq!((n, *status), (6, 422)),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 9, "nine posts, nine ids");
        let stored: Vec<(i64, String)> = sqlx::query_as("SELECT id, title FROM posts ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(stored.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids);

        let groups = lines_with(&log, "group committed");
        assert_eq!(groups.len(), 1, "one transaction for the ten: {groups:?}");
        assert!(groups[0].contains("posts=10"), "{groups:?}");
        let committed = lines_with(&log, "insert committed");
        assert_eq!(
            committed.len(),
            9,
            "log_inserted once per stored post: {committed:?}"
        );
        for id in ids {
            let key = format!("key={id}");
            assert_eq!(
                committed.iter().filter(|line| line.ends_with(&key)).count(),
                1,
                "{key}"
            );
        }
    }

    /// A failure that is not the post's own (here a trigger's `RAISE`, a database error
    /// like a full disk's) may have ended the transaction on the database's side: the
    /// whole group is rolled back and every request in it gets a 500, no commit listener
    /// runs, and the next group is written as usual.
    #[tokio::test]
    async fn a_failure_not_the_posts_own_fails_its_whole_group_and_the_next_goes_on() {
        let pool = memory_db().await;
        sqlx::query(
            "CREATE TRIGGER boom BEFORE INSERT ON posts WHEN NEW.title = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'boom'); END",
        )
        .execute(&pool)
        .await
        .unwrap();
        let (log, _guard) = capture_log();
        let writer = PostWriter::new(pool.clone(), GroupCommitMode::On);
        let answers = insert_all(&writer, &["a", "b", " ", "boom", "c"]).await;
        let statuses: Vec<u16> = answers
            .iter()
            .map(|answer| answer.as_ref().map_or_else(|status| *status, |_| 200))
            .collect();
        assert_eq!(statuses, vec![500, 500, 500, 500, 500]);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 0, "nothing of the group was stored");
        assert!(lines_with(&log, "insert committed").is_empty());

        let answers = insert_all(&writer, &["d", "e"]).await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 2);
        assert_eq!(lines_with(&log, "insert committed").len(), 2);
    }
}
