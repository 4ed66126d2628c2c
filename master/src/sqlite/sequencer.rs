//! Applies what a commit means to memory in commit order, per key (a cluster id).
//!
//! Each write's post-commit step (update memory, publish to the stream) used to run in its own
//! request's task once the commit was answered; two requests committed in one order could then
//! apply in the other. A push committed just before its cluster's delete could apply after it
//! and bring the cluster's data back, two overlapping replaces of one source could publish diffs
//! that do not chain. The writer thread now hands each step over here the moment its
//! transaction commits, and the steps of one key run one at a time in that order (on the
//! blocking pool, so the writer never waits for them), steps of different keys in parallel.
//! A step runs even if its caller has gone away.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use parking_lot::Mutex;

/// One post-commit step.
pub type Step = Box<dyn FnOnce() + Send>;

/// The lanes: a key is present while a runner drains it.
#[derive(Clone, Default)]
pub struct Sequencer {
    lanes: Arc<Mutex<HashMap<String, VecDeque<Step>>>>,
    runtime: Option<tokio::runtime::Handle>,
}

impl Sequencer {
    /// Runners go to the current tokio runtime's blocking pool, or to their own thread outside
    /// one.
    pub fn new() -> Self {
        Sequencer {
            lanes: Arc::default(),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// Runs `step` after every step enqueued before it under `key`.
    pub fn enqueue(&self, key: &str, step: Step) {
        {
            let mut lanes = self.lanes.lock();
            if let Some(lane) = lanes.get_mut(key) {
                lane.push_back(step);
                return;
            }
            lanes.insert(key.to_owned(), VecDeque::new());
        }
        let (lanes, key) = (self.lanes.clone(), key.to_owned());
        let drain = move || drain(&lanes, &key, step);
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn_blocking(drain)),
            None => drop(std::thread::spawn(drain)),
        }
    }
}

fn drain(lanes: &Mutex<HashMap<String, VecDeque<Step>>>, key: &str, first: Step) {
    let mut step = first;
    loop {
        // A step that panics loses only itself (its caller hears the database closed); the
        // lane goes on.
        if std::panic::catch_unwind(AssertUnwindSafe(step)).is_err() {
            tracing::error!(key, "a post-commit step panicked");
        }
        let mut held = lanes.lock();
        match held.get_mut(key).and_then(VecDeque::pop_front) {
            Some(next) => step = next,
            None => {
                held.remove(key);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_key_runs_in_order_and_keys_run_side_by_side() {
        let sequencer = Sequencer::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        // The first step of `a` is slow: `a`'s later steps wait for it, `b`'s do not.
        for (key, n, pause) in [("a", 1, 200), ("a", 2, 0), ("b", 1, 0), ("a", 3, 0)] {
            let (seen, done) = (seen.clone(), done_tx.clone());
            sequencer.enqueue(
                key,
                Box::new(move || {
                    std::thread::sleep(Duration::from_millis(pause));
                    seen.lock().push(format!("{key}{n}"));
                    let _ = done.send(());
                }),
            );
        }
        for _ in 0..4 {
            done_rx.recv().await.unwrap();
        }
        assert_eq!(*seen.lock(), ["b1", "a1", "a2", "a3"]);
        // Each runner ends, removing its lane, once the lane is drained.
        for _ in 0..100 {
            if sequencer.lanes.lock().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "lanes left: {:?}",
            sequencer.lanes.lock().keys().collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn a_step_that_panics_does_not_stop_its_lane() {
        let sequencer = Sequencer::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        sequencer.enqueue("a", Box::new(|| panic!("boom")));
        sequencer.enqueue(
            "a",
            Box::new(move || {
                let _ = tx.send(());
            }),
        );
        rx.await.unwrap();
    }
}
