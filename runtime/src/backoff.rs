//! How long to wait before trying again: exponential from `min` to `max` with full jitter (a
//! uniform draw below the exponential step, never under `min`), so a fleet that failed together
//! does not come back together.

use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};

/// An exponential back-off with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The step after the first failure (and the least ever waited).
    pub min: Duration,
    /// The largest step.
    pub max: Duration,
}

impl Backoff {
    pub const fn new(min: Duration, max: Duration) -> Self {
        Backoff { min, max }
    }

    /// The step after `failures` failures in a row, before jitter: `min`, doubling, at most
    /// `max` (zero failures: no wait).
    pub fn ceiling(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let doublings = failures.saturating_sub(1).min(20);
        self.min
            .saturating_mul(1 << doublings)
            .min(self.max.max(self.min))
    }

    /// The wait after `failures` failures in a row: uniform between `min` and
    /// [`Backoff::ceiling`].
    pub fn delay(&self, failures: u32) -> Duration {
        let ceiling = self.ceiling(failures);
        if ceiling <= self.min {
            return ceiling;
        }
        let mut rng = rand::rngs::SmallRng::from_os_rng();
        Duration::from_secs_f64(rng.random_range(self.min.as_secs_f64()..=ceiling.as_secs_f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_min_to_max_and_draws_stay_under_it() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(b.ceiling(0), Duration::ZERO);
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(3), Duration::from_secs(4));
        assert_eq!(b.ceiling(40), Duration::from_secs(30));
        let draws: Vec<Duration> = (0..200).map(|_| b.delay(10)).collect();
        assert!(draws.iter().all(|d| *d >= b.min && *d <= b.max));
        // Full jitter: the draws spread over the range rather than bunch at the top.
        assert!(draws.iter().any(|d| *d < Duration::from_secs(15)));
        assert!(draws.iter().any(|d| *d > Duration::from_secs(15)));
    }
}
