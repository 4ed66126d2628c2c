//! Pushing samples to the agent: gzip JSON with a bearer token. While the agent is unreachable
//! only the newest sample is kept (no queue grows) and pushes back off, doubling up to a minute.

use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::codec;

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("cannot reach the agent: {0}")]
    Unreachable(String),
    #[error("the agent answered {status}: {body}")]
    Refused { status: u16, body: String },
}

pub struct Pusher {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Pusher {
    pub fn new(agent: &str, token: Option<String>, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("an HTTP client without custom TLS builds");
        Pusher {
            client,
            url: format!("{}/ingest/node-metrics", agent.trim_end_matches('/')),
            token,
        }
    }

    /// Sends one sample.
    ///
    /// # Errors
    /// [`PushError`] when the agent cannot be reached or does not answer 2xx.
    pub async fn push(&self, sample: &NodeMetricsSnapshot) -> Result<(), PushError> {
        let body = codec::encode_gzip(sample, codec::DEFAULT_GZIP_LEVEL);
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| PushError::Unreachable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(PushError::Refused {
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        })
    }
}

/// How long to wait before the next push after `failures` failures in a row.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32 << failures.min(6).saturating_sub(1);
    (interval * factor).min(Duration::from_secs(60).max(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let i = Duration::from_secs(5);
        assert_eq!(backoff(i, 0), Duration::ZERO);
        assert_eq!(backoff(i, 1), i);
        assert_eq!(backoff(i, 2), 2 * i);
        assert_eq!(backoff(i, 3), 4 * i);
        assert_eq!(backoff(i, 10), Duration::from_secs(60));
    }
}
