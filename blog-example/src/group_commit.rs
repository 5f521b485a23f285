//! Group commit: requests that write queue for a writer task, which takes every request
//! waiting and writes them together, so that many requests share one commit.
//!
//! The queue knows nothing of the database: [`GroupCommit::spawn`] is given the function
//! that writes one group and answers each of its items; `crate::post_writer` is the blog's.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Mutex};

/// A queue of items to write, served by writer tasks that each take every item waiting (up
/// to a group's size), write them with one call of the group's function, and answer each
/// item's submitter with its own result.
///
/// A writer never waits for more items to arrive: an item submitted to an idle queue is
/// written at once, alone, and the items that arrive while a group is being written make
/// the next group. Cloning it clones a handle to the same queue; the writers stop once
/// every handle is dropped and the queue is empty.
pub struct GroupCommit<T, R> {
    queue: mpsc::Sender<Request<T, R>>,
}

impl<T, R> Clone for GroupCommit<T, R> {
    fn clone(&self) -> Self {
        GroupCommit {
            queue: self.queue.clone(),
        }
    }
}

impl<T, R> std::fmt::Debug for GroupCommit<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field(
                "waiting",
                &(self.queue.max_capacity() - self.queue.capacity()),
            )
            .finish()
    }
}

/// An item waiting to be written, and where its answer goes.
struct Request<T, R> {
    item: T,
    reply: oneshot::Sender<R>,
}

/// Why [`GroupCommit::submit`] has no answer for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    /// The writers were gone before the item was queued: nothing of it was written.
    NotQueued,
    /// The item was queued but its group ended without answers (its write panicked, or
    /// the writers stopped with the runtime): it may or may not have been written.
    Lost,
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unanswered::NotQueued => "the group commit writer is gone; nothing was written",
            Unanswered::Lost => "the group commit writer ended the group without an answer",
        })
    }
}

impl std::error::Error for Unanswered {}

impl<T: Send + 'static, R: Send + 'static> GroupCommit<T, R> {
    /// Starts `writers` writer tasks on the current tokio runtime (so it must be called
    /// inside one), each writing groups of at most `max_group` items with `write`.
    ///
    /// `write` gets a group's items in the order they were submitted and returns one result
    /// per item, in the same order; each submitter gets its item's result once `write`
    /// has returned, so a write that commits the whole group answers no one before the
    /// commit. Each call runs in a task of its own: a panic ends that group only (its
    /// submitters get [`Unanswered::Lost`]) and the writer goes on with the next.
    ///
    /// An item whose submitter has gone (its request was cancelled) before its group is
    /// taken is not written: no one would learn of it. Once taken, it is written or not
    /// with its group; only the answer goes nowhere.
    pub fn spawn<F, Fut>(writers: usize, max_group: usize, write: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let max_group = max_group.max(1);
        // Bounded, so that a writer that falls behind makes submitters wait (in order)
        // instead of queueing without limit; the request timeout bounds the wait.
        let (queue, receiver) = mpsc::channel(max_group);
        let receiver = Arc::new(Mutex::new(receiver));
        let write = Arc::new(write);
        for _ in 0..writers.max(1) {
            tokio::spawn(run(receiver.clone(), max_group, write.clone()));
        }
        GroupCommit { queue }
    }

    /// Queues `item` and waits for its result.
    ///
    /// Dropping the returned future before its answer is like a client that has gone: the
    /// item is either not written (its group was not taken yet) or written with its group.
    pub async fn submit(&self, item: T) -> Result<R, Unanswered> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request { item, reply })
            .await
            .map_err(|_| Unanswered::NotQueued)?;
        answer.await.map_err(|_| Unanswered::Lost)
    }
}

/// One writer: takes a group, writes it, answers it, until the queue is closed and empty.
async fn run<T, R, F, Fut>(
    receiver: Arc<Mutex<mpsc::Receiver<Request<T, R>>>>,
    max_group: usize,
    write: Arc<F>,
) where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<R>> + Send + 'static,
{
    let mut taken = Vec::with_capacity(max_group);
    loop {
        // With several writers, the one holding the lock waits for the next group; the
        // others wait for the lock, and none waits once it has a group.
        if receiver.lock().await.recv_many(&mut taken, max_group).await == 0 {
            return;
        }
        let mut items = Vec::with_capacity(taken.len());
        let mut replies = Vec::with_capacity(taken.len());
        for request in taken.drain(..) {
            if !request.reply.is_closed() {
                items.push(request.item);
                replies.push(request.reply);
            }
        }
        if items.is_empty() {
            continue;
        }
        let write = write.clone();
        match tokio::spawn(async move { write(items).await }).await {
            Ok(results) => {
                // A `write` that returned fewer results than items leaves the last ones
                // unanswered (`Lost`): their senders are dropped with `replies`.
                for (reply, result) in replies.into_iter().zip(results) {
                    // Its submitter may have gone while the group was written.
                    let _ = reply.send(result);
                }
            }
            Err(error) => tracing::error!(
                requests = replies.len(),
                "a group commit ended without answers: {error}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// The groups a queue's writer was given, in order.
    type Groups = Arc<std::sync::Mutex<Vec<Vec<u32>>>>;

    /// A queue whose groups are recorded, each taking `delay` to write.
    fn recording(delay: Duration) -> (GroupCommit<u32, Result<u32, String>>, Groups) {
        let groups = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = groups.clone();
        let queue = GroupCommit::spawn(1, 4, move |items: Vec<u32>| {
            seen.lock().unwrap().push(items.clone());
            async move {
                tokio::time::sleep(delay).await;
                items
                    .into_iter()
                    .map(|n| {
                        if n % 10 == 7 {
                            Err(format!("{n} refused"))
                        } else {
                            Ok(n * 2)
                        }
                    })
                    .collect()
            }
        });
        (queue, groups)
    }

    #[tokio::test]
    async fn an_item_on_an_idle_queue_is_written_at_once_alone() {
        let (queue, groups) = recording(Duration::ZERO);
        let answer = tokio::time::timeout(Duration::from_millis(500), queue.submit(1)).await;
        assert_eq!(answer.unwrap(), Ok(Ok(2)));
        assert_eq!(*groups.lock().unwrap(), vec![vec![1]]);
    }

    /// Items that arrive while a group is written make the next groups, in order, at most
    /// `max_group` each; every submitter gets its own item's result, refusals included.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_items_are_written_together_and_each_gets_its_own_answer() {
        let (queue, groups) = recording(Duration::from_millis(50));
        let first = tokio::spawn({
            let queue = queue.clone();
            async move { queue.submit(0).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let rest: Vec<_> = (1..=9)
            .map(|n| {
                let queue = queue.clone();
                tokio::spawn(async move { (n, queue.submit(n).await) })
            })
            .collect();
        assert_eq!(first.await.unwrap(), Ok(Ok(0)));
        for task in rest {
            let (n, answer) = task.await.unwrap();
            let expected = if n == 7 {
                Err("7 refused".to_owned())
            } else {
                Ok(n * 2)
            };
            assert_eq!(answer, Ok(expected));
        }
        let groups = groups.lock().unwrap();
        assert_eq!(groups[0], vec![0]);
        assert!(groups.iter().all(|group| group.len() <= 4), "{groups:?}");
        assert!(groups.len() <= 4, "items waiting were grouped: {groups:?}");
        let mut all: Vec<u32> = groups.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..=9).collect::<Vec<_>>(), "each item written once");
    }

    /// A write that panics ends its group only: its submitters get `Lost` at once (no
    /// hang), and the writer serves the next group.
    #[tokio::test]
    async fn a_panicking_write_answers_its_group_lost_and_the_writer_goes_on() {
        let queue = GroupCommit::spawn(1, 8, |items: Vec<u32>| async move {
            assert!(!items.contains(&13), "unlucky");
            items
        });
        let answer = tokio::time::timeout(Duration::from_secs(1), queue.submit(13)).await;
        assert_eq!(answer.unwrap(), Err(Unanswered::Lost));
        let answer = tokio::time::timeout(Duration::from_secs(1), queue.submit(14)).await;
        assert_eq!(answer.unwrap(), Ok(14));
    }

    /// A write that returns fewer results than items leaves the rest `Lost`, not waiting.
    #[tokio::test]
    async fn items_without_a_result_are_lost_not_left_waiting() {
        let queue = GroupCommit::spawn(1, 8, |_: Vec<u32>| async move { Vec::<u32>::new() });
        let answer = tokio::time::timeout(Duration::from_secs(1), queue.submit(1)).await;
        assert_eq!(answer.unwrap(), Err(Unanswered::Lost));
    }

    /// Writers whose runtime is gone: a submit fails at once with `NotQueued`.
    #[test]
    fn a_queue_whose_writers_are_gone_refuses_at_once() {
        let first = tokio::runtime::Runtime::new().unwrap();
        let queue = first
            .block_on(async { GroupCommit::spawn(1, 8, |items: Vec<u32>| async move { items }) });
        drop(first);
        let second = tokio::runtime::Runtime::new().unwrap();
        let answer = second.block_on(async {
            tokio::time::timeout(Duration::from_secs(1), queue.submit(1)).await
        });
        assert_eq!(answer.unwrap(), Err(Unanswered::NotQueued));
    }

    /// A submitter that gave up before its group was taken has its item skipped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_item_whose_submitter_has_gone_is_not_written() {
        let written = Arc::new(AtomicUsize::new(0));
        let count = written.clone();
        let queue = GroupCommit::spawn(1, 8, move |items: Vec<u32>| {
            count.fetch_add(items.len(), Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                items
            }
        });
        let busy = tokio::spawn({
            let queue = queue.clone();
            async move { queue.submit(1).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Queued behind the group being written, then abandoned.
        let gave_up = tokio::time::timeout(Duration::from_millis(20), queue.submit(2)).await;
        assert!(gave_up.is_err());
        assert_eq!(busy.await.unwrap(), Ok(1));
        assert_eq!(queue.submit(3).await, Ok(3));
        assert_eq!(written.load(Ordering::SeqCst), 2, "items 1 and 3 only");
    }
}
