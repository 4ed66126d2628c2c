//! Rates from cumulative counters. Counters can wrap (32-bit ones, on some drivers and kernels)
//! or restart from zero (a driver reload, a device that went and came back); neither may turn
//! into a negative or absurd rate.

/// The increase from `previous` to `current` of a counter, or `None` when it went down for a
/// reason other than a 32-bit wrap (a reset: no rate for this interval).
pub fn delta(previous: u64, current: u64) -> Option<u64> {
    if current >= previous {
        Some(current - previous)
    } else if previous <= u64::from(u32::MAX) {
        // A 32-bit counter went round.
        Some(current + (u64::from(u32::MAX) + 1 - previous))
    } else {
        None
    }
}

/// Per-second rate of a counter over `seconds`, at most `ceiling` (above it, the "increase" is
/// a reset that happened to land above the old value: reported as no traffic).
pub fn rate(previous: u64, current: u64, seconds: f64, ceiling: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    match delta(previous, current) {
        Some(d) => {
            let r = d as f64 / seconds;
            if r.is_finite() && r <= ceiling {
                r
            } else {
                0.0
            }
        }
        None => 0.0,
    }
}

/// Bytes per second no network interface reaches (400 Gbit/s is 50 GB/s).
pub const MAX_NET_BYTES_PER_SEC: f64 = 100e9;
/// Packets per second no interface reaches.
pub const MAX_PACKETS_PER_SEC: f64 = 1e9;
/// Bytes per second no block device reaches.
pub const MAX_DISK_BYTES_PER_SEC: f64 = 100e9;
/// Operations per second no block device reaches.
pub const MAX_DISK_OPS_PER_SEC: f64 = 1e8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_wrap_and_reset() {
        assert_eq!(delta(100, 250), Some(150));
        assert_eq!(delta(5, 5), Some(0));
        // A 32-bit counter wrapping: 100 before the top, 50 after zero.
        assert_eq!(delta(u64::from(u32::MAX) - 99, 50), Some(150));
        // A 64-bit counter going down: a reset, not a wrap.
        assert_eq!(delta(10_000_000_000, 5), None);
        assert_eq!(rate(10_000_000_000, 5, 5.0, MAX_NET_BYTES_PER_SEC), 0.0);
        assert_eq!(rate(0, 1_000, 5.0, MAX_NET_BYTES_PER_SEC), 200.0);
        // A reset to zero on a 32-bit-sized value looks like a wrap of almost 4 GiB; over a
        // millisecond that is absurd and reads as nothing.
        assert_eq!(rate(3_000_000_000, 0, 0.001, MAX_NET_BYTES_PER_SEC), 0.0);
        assert_eq!(rate(1, 2, 0.0, MAX_NET_BYTES_PER_SEC), 0.0);
    }
}
