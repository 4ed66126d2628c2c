//! A typed client of master's `/api/v1`, shared by the CLI and the console. Every failure is a
//! [`CliError`] a person can act on: unreachable, bad token, role too low, not found.

use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::{ClusterSummary, ErrorBody, InCluster, List, WhoAmI};
use serde::de::DeserializeOwned;

use crate::error::{CliError, Result};

/// Largest answer read: a 5,000-pod list is about 10 MB of JSON.
const MAX_ANSWER_BYTES: usize = 256 << 20;

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    timeout: Duration,
}

impl Client {
    /// `server` is master's base URL (`http://127.0.0.1:8080`).
    ///
    /// # Errors
    /// [`CliError::Usage`] when the URL is not http(s).
    pub fn new(server: &str, token: Option<String>, timeout: Duration) -> Result<Self> {
        let base = server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "server `{server}` is not an http:// or https:// URL"
            )));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| CliError::Failed(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            token,
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn server(&self) -> &str {
        &self.base
    }

    fn request(&self, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }

    /// Sends a request built on `path`; maps every failure to a [`CliError`].
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await.unwrap_or_default();
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.error.message)
            .unwrap_or_else(|_| {
                let text = String::from_utf8_lossy(&body);
                let text = text.trim();
                if text.is_empty() {
                    status.to_string()
                } else {
                    text.chars().take(200).collect()
                }
            });
        Err(match status.as_u16() {
            401 => CliError::Auth(if self.token.is_some() {
                format!("master refused the token: {message}")
            } else {
                "master needs a token: set ATLHYPER_TOKEN, pass --token, or add one to a context \
                 (atlctl config set-context)"
                    .to_owned()
            }),
            403 => CliError::Auth(format!("forbidden: {message}")),
            404 => CliError::NotFound(message),
            400 | 422 => CliError::Usage(message),
            _ => CliError::Failed(format!("master answered {status}: {message}")),
        })
    }

    fn transport(&self, e: &reqwest::Error) -> CliError {
        if e.is_timeout() {
            CliError::Unreachable(format!(
                "master at {} did not answer within {}",
                self.base,
                humantime::format_duration(self.timeout)
            ))
        } else if e.is_connect() {
            CliError::Unreachable(format!("cannot reach master at {}", self.base))
        } else {
            CliError::Unreachable(format!("talking to master at {} failed: {e}", self.base))
        }
    }

    /// Reads a successful answer as `T`.
    async fn decode<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T> {
        let body = read_capped(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| self.transport(&e))?;
        serde_json::from_slice(&body).map_err(|e| {
            CliError::Failed(format!(
                "master at {} answered something that is not the expected JSON ({e})",
                self.base
            ))
        })
    }

    /// GETs `path` and reads the answer as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self.send(self.request(path).timeout(self.timeout)).await?;
        self.decode(response).await
    }

    /// Every page of a list: `plural` is the path under `/api/v1` (`pods`), `query` its filters.
    pub async fn list<T: DeserializeOwned>(
        &self,
        plural: &str,
        query: &[(&str, String)],
    ) -> Result<List<T>> {
        let mut cursor: Option<String> = None;
        let mut all: Option<List<T>> = None;
        loop {
            let mut pairs: Vec<(&str, String)> = query.to_vec();
            if let Some(c) = &cursor {
                pairs.push(("cursor", c.clone()));
            }
            let path = format!("/api/v1/{plural}{}", query_string(&pairs));
            let mut page: List<T> = self.get(&path).await?;
            cursor = page.next_cursor.take();
            match &mut all {
                None => all = Some(page),
                Some(all) => all.items.append(&mut page.items),
            }
            if cursor.is_none() {
                return Ok(all.expect("one page at least"));
            }
        }
    }

    /// POSTs `body` as JSON with an `Idempotency-Key`; reads the answer as `T`.
    pub async fn post<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> Result<T> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("idempotency-key", idempotency_key)
            .json(body)
            .timeout(self.timeout);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = self.send(request).await?;
        self.decode(response).await
    }

    pub async fn clusters(&self) -> Result<List<ClusterSummary>> {
        self.list("clusters", &[]).await
    }

    pub async fn node_metrics(
        &self,
        cluster: Option<&str>,
    ) -> Result<List<InCluster<NodeMetricsSnapshot>>> {
        let query: Vec<(&str, String)> = cluster
            .map(|c| ("cluster", c.to_owned()))
            .into_iter()
            .collect();
        self.list("node-metrics", &query).await
    }

    pub async fn whoami(&self) -> Result<WhoAmI> {
        self.get("/api/v1/whoami").await
    }

    /// Opens master's live stream (no overall timeout: it lasts).
    pub(crate) async fn open_stream(
        &self,
        query: &[(&str, String)],
        last_event_id: Option<&str>,
    ) -> Result<reqwest::Response> {
        let mut request = self.request(&format!("/api/v1/stream{}", query_string(query)));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        self.send(request).await
    }
}

/// `?a=1&b=2`, encoded; empty for no pairs.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let mut out = String::from("?");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    // The announced size up front: a 10 MB list is not grown by doubling to 16 MB.
    let announced = response.content_length().unwrap_or(0).min(cap as u64 + 1);
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > cap {
            break;
        }
    }
    Ok(body)
}
