//! What the tests and benches of several crates share, written once: waiting for a condition
//! ([`wait_for`]), an API call's JSON answer ([`json`]), percentiles of measured samples
//! ([`percentile`], [`median`]), a program under test and what `/proc` says of it
//! ([`process`]), and a real terminal to drive the console in ([`tmux::Tmux`]). A
//! dev-dependency only: shipped code never links it.

pub mod process;
pub mod tmux;

use std::time::{Duration, Instant};

/// Polls `check` every 100 ms until it holds (`true`) or `timeout` passes (`false`).
pub async fn wait_for(timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `request` and reads its answer as JSON (whatever the status; `Null` if the body is
/// not JSON): the tail every API call in a test shares.
///
/// # Panics
/// When the request cannot be sent or its body read.
pub async fn json(request: reqwest::RequestBuilder) -> serde_json::Value {
    serde_json::from_str(&text(request).await).unwrap_or(serde_json::Value::Null)
}

/// Sends `request` and reads its answer's body as text (a `/metrics` page, say).
///
/// # Panics
/// When the request cannot be sent or its body read.
pub async fn text(request: reqwest::RequestBuilder) -> String {
    request
        .send()
        .await
        .expect("the request is answered")
        .text()
        .await
        .expect("the answer's body")
}

/// The `p` quantile (0.0–1.0, nearest rank) of `samples`, which it sorts.
///
/// # Panics
/// On no samples.
pub fn percentile<T: PartialOrd + Copy>(samples: &mut [T], p: f64) -> T {
    assert!(!samples.is_empty(), "a percentile of no samples");
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let at = ((samples.len() as f64 - 1.0) * p.clamp(0.0, 1.0)).round() as usize;
    samples[at]
}

/// The median of `samples` (the upper one of an even count), which it sorts.
pub fn median<T: PartialOrd + Copy>(samples: &mut [T]) -> T {
    assert!(!samples.is_empty(), "a median of no samples");
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    samples[samples.len() / 2]
}

/// Kills `child` with its whole process group (it was spawned with `process_group(0)`, so its
/// pid is the group's id), reaps it, and waits up to five seconds for every other process of
/// the group to be gone. A wrapper such as `faketime` runs the real program as its own child;
/// killing only the wrapper would leave that child running after the test. Whether the group
/// emptied.
pub fn kill_process_group(child: &mut std::process::Child) -> bool {
    let group = format!("-{}", child.id());
    let signal = |sig: &str| {
        std::process::Command::new("kill")
            .args([sig, "--", &group])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    signal("-KILL");
    // Reaped, the direct child no longer counts (a zombie does for `kill -0`).
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while signal("-0") {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut samples: Vec<u32> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut samples, 0.5), 51);
        assert_eq!(percentile(&mut samples, 0.99), 99);
        assert_eq!(percentile(&mut samples, 1.0), 100);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    }
}
