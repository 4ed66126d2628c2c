//! The simulated clock: wall time at start, then running `speed` times as fast as real time.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct SimClock {
    started_real: Instant,
    started_ms: i64,
    speed: f64,
}

impl SimClock {
    /// A clock that starts at the current wall time.
    pub fn new(speed: f64) -> Self {
        let started_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        SimClock {
            started_real: Instant::now(),
            started_ms,
            speed,
        }
    }

    /// Simulated milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let real = self.started_real.elapsed().as_secs_f64() * 1000.0;
        self.started_ms + (real * self.speed) as i64
    }
}
