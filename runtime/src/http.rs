//! The one HTTP client set-up and the one way to POST to a peer (master, the agent, later a
//! webhook or an LLM provider): optional gzip, bearer/basic/custom-header auth, and one error
//! that keeps what a caller decides on — the status, `Retry-After`, and the start of the body.

use std::time::Duration;

/// A client for talking to one kind of peer: rustls (the process's ring provider), a connect
/// timeout, and pooled connections let go after 30 s — below master's default `--idle-timeout`
/// (60 s), so a request never lands on a connection the server is closing. `timeout` bounds
/// each whole request unless the request sets its own.
///
/// # Panics
/// Never in practice: the builder only fails on custom TLS settings, and none are made.
pub fn client(timeout: Option<Duration>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30));
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder
        .build()
        .expect("an HTTP client without custom TLS builds")
}

/// How a request proves who sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer …`.
    Bearer(String),
    /// `Authorization: Basic …`.
    Basic { user: String, password: String },
    /// A header of the peer's own (`X-Api-Key: …`).
    Header { name: String, value: String },
}

impl Auth {
    /// A bearer token, if there is one.
    pub fn bearer(token: Option<&str>) -> Self {
        token.map_or(Auth::None, |t| Auth::Bearer(t.to_owned()))
    }

    fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
            Auth::Header { name, value } => request.header(name.as_str(), value.as_str()),
        }
    }
}

/// One POST.
#[derive(Debug, Clone)]
pub struct Post<'a> {
    pub url: &'a str,
    /// The body as is (already gzip'd when `gzip`).
    pub body: Vec<u8>,
    /// The body is gzip: `Content-Encoding: gzip`.
    pub gzip: bool,
    pub content_type: &'static str,
    pub auth: &'a Auth,
    /// This request's own timeout (a long poll's), instead of the client's.
    pub timeout: Option<Duration>,
}

impl<'a> Post<'a> {
    /// A JSON body to `url`.
    pub fn json(url: &'a str, body: Vec<u8>, auth: &'a Auth) -> Self {
        Post {
            url,
            body,
            gzip: false,
            content_type: "application/json",
            auth,
            timeout: None,
        }
    }

    /// The body is gzip'd JSON.
    #[must_use]
    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Most of an error body kept: enough for a message, bounded against a hostile peer.
const ERROR_BODY_CHARS: usize = 500;
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Why a POST did not get a 2xx.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No answer: unreachable, refused, timed out, or cut off.
    #[error("no answer: {0}")]
    Unreachable(String),
    /// An answer other than 2xx.
    #[error("{status}: {body}")]
    Status {
        status: u16,
        /// `Retry-After` in seconds, at most five minutes.
        retry_after: Option<Duration>,
        /// The start of the body.
        body: String,
    },
}

impl HttpError {
    /// The status, if the peer answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            HttpError::Unreachable(_) => None,
        }
    }
}

/// Sends `post`; a 2xx answer is returned to read, anything else is an [`HttpError`].
///
/// # Errors
/// [`HttpError`].
pub async fn post(
    client: &reqwest::Client,
    post: Post<'_>,
) -> Result<reqwest::Response, HttpError> {
    let mut request = client
        .post(post.url)
        .header(reqwest::header::CONTENT_TYPE, post.content_type)
        .body(post.body);
    if post.gzip {
        request = request.header(reqwest::header::CONTENT_ENCODING, "gzip");
    }
    if let Some(timeout) = post.timeout {
        request = request.timeout(timeout);
    }
    let response = post
        .auth
        .apply(request)
        .send()
        .await
        .map_err(|e| HttpError::Unreachable(e.to_string()))?;
    if response.status().is_success() {
        return Ok(response);
    }
    Err(error_of(response).await)
}

/// The [`HttpError::Status`] of a non-2xx answer.
pub async fn error_of(response: reqwest::Response) -> HttpError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
    let body = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(ERROR_BODY_CHARS)
        .collect();
    HttpError::Status {
        status,
        retry_after,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_post_carries_gzip_and_auth_and_an_error_keeps_status_retry_after_and_body() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let app = axum::Router::new().route(
            "/in",
            axum::routing::post(|headers: axum::http::HeaderMap| async move {
                let got = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                if got("authorization") == "Bearer t0k" && got("content-encoding") == "gzip" {
                    (
                        axum::http::StatusCode::ACCEPTED,
                        [("retry-after", "0")],
                        String::new(),
                    )
                } else {
                    (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "9999")],
                        "x".repeat(10_000),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/in", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = client(Some(Duration::from_secs(5)));

        let auth = Auth::bearer(Some("t0k"));
        let ok = post(&client, Post::json(&url, b"{}".to_vec(), &auth).gzip()).await;
        assert_eq!(ok.unwrap().status().as_u16(), 202);

        let none = Auth::None;
        match post(&client, Post::json(&url, b"{}".to_vec(), &none)).await {
            Err(HttpError::Status {
                status,
                retry_after,
                body,
            }) => {
                assert_eq!(status, 429);
                assert_eq!(retry_after, Some(MAX_RETRY_AFTER));
                assert_eq!(body.len(), ERROR_BODY_CHARS);
            }
            other => panic!("{other:?}"),
        }
        let gone = post(
            &client,
            Post::json("http://127.0.0.1:9/x", Vec::new(), &none),
        )
        .await;
        assert!(matches!(gone, Err(HttpError::Unreachable(_))), "{gone:?}");
    }
}
