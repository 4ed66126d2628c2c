//! The clock. [`now_ms`] is the one place that reads the system's wall clock; services read
//! time through a [`Clock`] so tests can drive it by hand ([`TestClock`]): a timer waiting on
//! a test clock fires when the test advances it, not after a real wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Milliseconds since the Unix epoch by the system clock (0 if it reads before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A future a [`Clock`] hands out.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Wall-clock time, and waiting for it.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Resolves once [`Clock::now_ms`] has reached `at_ms`.
    fn sleep_until(&self, at_ms: i64) -> Sleep<'_>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep<'_> {
        Box::pin(async move {
            // The wall clock may be stepped while waiting: wait again until it says so.
            loop {
                let left = at_ms.saturating_sub(now_ms());
                if left <= 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(left.unsigned_abs())).await;
            }
        })
    }
}

/// A clock that stands still until a test moves it. Clones share one time.
#[derive(Debug, Clone)]
pub struct TestClock {
    now: Arc<watch::Sender<i64>>,
}

impl TestClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        TestClock {
            now: Arc::new(watch::Sender::new(start_ms)),
        }
    }

    /// Moves the clock forward by `by`, waking every timer now due.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.now.send_modify(|now| *now = now.saturating_add(by));
    }

    /// Sets the clock (backwards too: a stepped wall clock).
    pub fn set(&self, at_ms: i64) {
        self.now.send_replace(at_ms);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        *self.now.borrow()
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep<'_> {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as `self`, which this future borrows.
            let _ = now.wait_for(|now| *now >= at_ms).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timer_on_the_test_clock_fires_when_the_test_advances_it() {
        let clock = TestClock::new(1_000);
        let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let timer = tokio::spawn({
            let (clock, fired) = (clock.clone(), fired.clone());
            async move {
                clock.sleep_until(61_000).await;
                fired.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        clock.advance(Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(
            !fired.load(std::sync::atomic::Ordering::SeqCst),
            "fired early"
        );
        clock.advance(Duration::from_secs(30));
        timer.await.unwrap();
        assert!(fired.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(clock.now_ms(), 61_000);
    }

    #[tokio::test]
    async fn the_system_clock_reads_the_wall_clock_and_waits_for_it() {
        let before = now_ms();
        assert!(before > 1_700_000_000_000, "{before}");
        SystemClock.sleep_until(before + 20).await;
        assert!(now_ms() >= before + 20);
    }
}
