//! The plumbing of collection as a graph of reads: a read starts the moment the reads it needs
//! have answered, not when a whole phase has ended.
//!
//! - A [`Slot`] is one fact that a read publishes once and that other reads wait for
//!   (`board.env.get().await`). A read declares what it waits for by awaiting those slots.
//! - A [`Memo`] makes a request at most once per run, whatever number of reads ask for it
//!   (one account HEAD per Swift endpoint, one container HEAD per container, ...): the first asker
//!   starts it, the others wait for the same answer.
//!
//! Everything is borrowed from the run's stack frame: no task is spawned, so a read that is not
//! needed is never started and dropping the run drops every read in flight.

use futures::future::{BoxFuture, FutureExt, Shared};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use tokio::sync::Notify;

/// One fact, set once, awaited by any number of reads.
pub struct Slot<T> {
    value: OnceLock<T>,
    ready: Notify,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot { value: OnceLock::new(), ready: Notify::new() }
    }
}

impl<T> Slot<T> {
    /// Publishes the fact and wakes whoever waits for it. A second value is ignored: every slot has
    /// exactly one producer, and the first answer is the run's.
    pub fn set(&self, value: T) {
        let _ = self.value.set(value);
        self.ready.notify_waiters();
    }

    /// The fact, once it is published.
    pub async fn get(&self) -> &T {
        loop {
            // Registered before looking, so a `set` between the look and the wait is not missed.
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = self.value.get() {
                return v;
            }
            notified.await;
        }
    }

    /// The fact if it is already there (for tests and for reads that only look).
    pub fn peek(&self) -> Option<&T> {
        self.value.get()
    }

    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

/// Requests by what identifies them: each is made once, its answer shared by every asker.
pub struct Memo<'a, K, V: Clone> {
    started: Mutex<BTreeMap<K, Shared<BoxFuture<'a, V>>>>,
}

impl<K, V: Clone> Default for Memo<'_, K, V> {
    fn default() -> Self {
        Memo { started: Mutex::new(BTreeMap::new()) }
    }
}

impl<'a, K: Ord + Clone, V: Clone> Memo<'a, K, V> {
    /// The answer to the request `key`, starting it with `make` only when nobody asked before.
    pub fn get(&self, key: &K, make: impl FnOnce() -> BoxFuture<'a, V>) -> Shared<BoxFuture<'a, V>> {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        started.entry(key.clone()).or_insert_with(|| make().shared()).clone()
    }

    /// How many distinct requests were made (the request log's view, for tests).
    pub fn len(&self) -> usize {
        self.started.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn a_read_waits_for_what_it_needs_and_no_longer() {
        let slot: Slot<u32> = Slot::default();
        let order = Mutex::new(Vec::new());
        let waiter = async {
            let v = *slot.get().await;
            order.lock().unwrap().push(format!("got {v}"));
        };
        let producer = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            order.lock().unwrap().push("set".to_string());
            slot.set(7);
        };
        futures::join!(waiter, producer);
        assert_eq!(*order.lock().unwrap(), ["set", "got 7"]);
        // Already there: no wait at all.
        assert_eq!(*slot.get().await, 7);
        slot.set(8);
        assert_eq!(slot.peek(), Some(&7), "the first answer is the run's");
    }

    #[tokio::test]
    async fn a_memoized_request_is_made_once_for_every_asker() {
        let made = AtomicUsize::new(0);
        let memo: Memo<'_, &str, u32> = Memo::default();
        let ask = |key: &'static str| {
            memo.get(&key, || {
                let made = &made;
                async move {
                    made.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    key.len() as u32
                }
                .boxed()
            })
        };
        let answers = futures::future::join_all([ask("a"), ask("bb"), ask("a"), ask("a")]).await;
        assert_eq!(answers, [1, 2, 1, 1]);
        assert_eq!(made.load(Ordering::SeqCst), 2);
        assert_eq!(memo.len(), 2);
    }
}
