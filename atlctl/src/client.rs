//! A typed client of master's `/api/v1`, shared by the CLI and the console. Every failure is a
//! [`CliError`] a person can act on: unreachable, bad token, role too low, not found.

use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::{ClusterSummary, ErrorBody, InCluster, List, WhoAmI};
use serde::de::DeserializeOwned;

use crate::error::{CliError, Result};

/// Largest answer read: a 5,000-pod list is about 10 MB of JSON.
const MAX_ANSWER_BYTES: usize = 256 << 20;
/// Most of an error answer read: its message is shown on one line.
const MAX_ERROR_BYTES: usize = 64 << 10;
/// Longest `Retry-After` waited out before a request is sent again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The start of an answer's body, at most `cap` bytes; the rest is never read.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(cap - body.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    body
}

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
            // Below master's default --idle-timeout (60 s).
            .pool_idle_timeout(Duration::from_secs(30))
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

    /// Sends a request; maps every failure to a [`CliError`]. A `429` with a `Retry-After` of
    /// at most [`MAX_RETRY_AFTER`] is waited out and sent again, up to three times (as
    /// client-go does).
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let mut request = request;
        let mut tries = 0;
        let response = loop {
            let again = request.try_clone();
            let response = request.send().await.map_err(|e| self.transport(&e))?;
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
                .filter(|wait| *wait <= MAX_RETRY_AFTER);
            match (response.status().as_u16(), retry_after, again) {
                (429, Some(wait), Some(again)) if tries < 3 => {
                    tries += 1;
                    tokio::time::sleep(wait).await;
                    request = again;
                }
                _ => break response,
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = read_capped(response, MAX_ERROR_BYTES).await;
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
            409 => CliError::Conflict(message),
            400 | 422 => CliError::Usage(message),
            429 => CliError::Failed(format!("master is busy (429): {message}")),
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

    /// Reads a successful answer as `T`, decoding while it arrives: a 10 MB list is never
    /// held as text and as objects at once.
    async fn decode<T: DeserializeOwned + Send + 'static>(
        &self,
        mut response: reqwest::Response,
    ) -> Result<T> {
        let (chunks, arriving) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
        let decoding = tokio::task::spawn_blocking(move || {
            let reader = std::io::BufReader::with_capacity(
                64 << 10,
                ChunkReader {
                    arriving,
                    chunk: Vec::new(),
                    at: 0,
                },
            );
            serde_json::from_reader::<_, T>(reader)
        });
        let mut total = 0usize;
        let mut failed = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    total += chunk.len();
                    if total > MAX_ANSWER_BYTES {
                        failed = Some(CliError::Failed(format!(
                            "master at {} answered more than {} MiB",
                            self.base,
                            MAX_ANSWER_BYTES >> 20
                        )));
                        break;
                    }
                    // The decoder stopped (bad JSON): its error says why.
                    if chunks.send(chunk.to_vec()).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    failed = Some(self.transport(&e));
                    break;
                }
            }
        }
        drop(chunks);
        let decoded = decoding
            .await
            .map_err(|e| CliError::Failed(format!("decoding master's answer failed: {e}")))?;
        if let Some(e) = failed {
            return Err(e);
        }
        decoded.map_err(|e| {
            CliError::Failed(format!(
                "master at {} answered something that is not the expected JSON ({e})",
                self.base
            ))
        })
    }

    /// GETs `path` and reads the answer as `T`.
    pub async fn get<T: DeserializeOwned + Send + 'static>(&self, path: &str) -> Result<T> {
        let response = self.send(self.request(path).timeout(self.timeout)).await?;
        self.decode(response).await
    }

    /// Every page of a list: `plural` is the path under `/api/v1` (`pods`), `query` its filters.
    pub async fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        plural: &str,
        query: &[(&str, String)],
    ) -> Result<List<T>> {
        let mut cursor: Option<String> = None;
        let mut all: Option<List<T>> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut pairs: Vec<(&str, String)> = query.to_vec();
            if let Some(c) = &cursor {
                pairs.push(("cursor", c.clone()));
            }
            let path = format!("/api/v1/{plural}{}", query_string(&pairs));
            let mut page: List<T> = self.get(&path).await?;
            cursor = page.next_cursor.take();
            if let Some(c) = &cursor
                && !seen.insert(c.clone())
            {
                return Err(CliError::Failed(format!(
                    "master at {} repeated the list cursor `{c}`; the listing would never end",
                    self.base
                )));
            }
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
    pub async fn post<B: serde::Serialize, T: DeserializeOwned + Send + 'static>(
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
        // The answer's head within the request timeout; the body then lasts.
        tokio::time::timeout(self.timeout, self.send(request))
            .await
            .unwrap_or_else(|_| {
                Err(CliError::Unreachable(format!(
                    "master at {} did not open the stream within {}",
                    self.base,
                    humantime::format_duration(self.timeout)
                )))
            })
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

/// The chunks of an answer as they arrive, as a blocking reader for serde_json.
struct ChunkReader {
    arriving: tokio::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.arriving.blocking_recv() {
                Some(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A server that answers every request with `body`, written in small pieces.
    async fn serve(body: &'static [u8]) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                for piece in body.chunks(7) {
                    let _ = socket.write_all(piece).await;
                    let _ = socket.flush().await;
                }
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn an_answer_is_decoded_as_it_arrives_and_bad_json_is_a_clear_error() {
        let body =
            br#"{"api_version":"atlhyper.io/v1","kind":"WhoAmI","name":"alice","role":"viewer"}"#;
        let client = Client::new(&serve(body).await, None, Duration::from_secs(5)).unwrap();
        let who: WhoAmI = client.get("/api/v1/whoami").await.unwrap();
        assert_eq!(who.name, "alice");

        for bad in [
            &b"{\"name\": \"alice\", \"role\": "[..],
            b"<html>oops</html>",
            b"",
        ] {
            let body: &'static [u8] = Box::leak(bad.to_vec().into_boxed_slice());
            let client = Client::new(&serve(body).await, None, Duration::from_secs(5)).unwrap();
            let e = client.get::<WhoAmI>("/api/v1/whoami").await.unwrap_err();
            assert!(e.to_string().contains("not the expected JSON"), "{e}");
            assert_eq!(e.exit_code(), 1);
        }
    }
}
