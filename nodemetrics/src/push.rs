//! Pushing samples to the agent: gzip JSON with a bearer token. While the agent is unreachable
//! only the newest sample is kept (no queue grows) and pushes back off, doubling up to a minute.

use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::codec;
use atlhyper_runtime::Backoff;
use atlhyper_runtime::http::{self, Auth, HttpError, Post};

pub struct Pusher {
    client: reqwest::Client,
    url: String,
    auth: Auth,
}

impl Pusher {
    pub fn new(agent: &str, token: Option<String>, timeout: Duration) -> Self {
        Pusher {
            client: http::client(Some(timeout)),
            url: format!("{}/ingest/node-metrics", agent.trim_end_matches('/')),
            auth: Auth::bearer(token.as_deref()),
        }
    }

    /// Sends one sample.
    ///
    /// # Errors
    /// [`HttpError`] when the agent cannot be reached or does not answer 2xx.
    pub async fn push(&self, sample: &NodeMetricsSnapshot) -> Result<(), HttpError> {
        let body = codec::encode_gzip(sample, codec::DEFAULT_GZIP_LEVEL);
        http::post(&self.client, Post::json(&self.url, body, &self.auth).gzip())
            .await
            .map(drop)
    }
}

/// The wait before the next push after failures: from one sampling interval, doubling, to a
/// minute (or the interval, if longer), with jitter.
pub fn backoff(interval: Duration) -> Backoff {
    Backoff::new(interval, Duration::from_secs(60).max(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_interval_up_to_a_minute() {
        let i = Duration::from_secs(5);
        let b = backoff(i);
        assert_eq!(b.ceiling(1), i);
        assert_eq!(b.ceiling(2), 2 * i);
        assert_eq!(b.ceiling(10), Duration::from_secs(60));
        assert_eq!(
            backoff(Duration::from_secs(90)).ceiling(5),
            Duration::from_secs(90)
        );
    }
}
