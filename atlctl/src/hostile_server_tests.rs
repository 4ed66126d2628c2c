//! atlctl against a hostile or broken master: endless error bodies, a list cursor that never
//! ends, a server that accepts and never answers, a stream line that never ends, a 429.
//! Each must end in a clear error (or a retry) in bounded time and memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use atlhyper_model::api::{List, WhoAmI};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::client::Client;
use crate::sse::Parser;

/// Serves every connection with `answer`, given the socket after the request's head.
async fn serve<F, Fut>(answer: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                answer(socket).await;
            });
        }
    });
    format!("http://{addr}")
}

/// A hang is a failure, not a wait: every case must end well within this.
const HANG: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_endless_error_body_is_read_only_up_to_a_cap() {
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let url = serve(move |mut socket| {
        let counter = counter.clone();
        async move {
            let _ = socket
                .write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n\r\n",
                )
                .await;
            let chunk = vec![b'x'; 64 << 10];
            while socket.write_all(&chunk).await.is_ok() {
                counter.fetch_add(chunk.len(), Ordering::Relaxed);
            }
        }
    })
    .await;
    let client = Client::new(&url, None, Duration::from_secs(60)).unwrap();
    let e = tokio::time::timeout(HANG, client.get::<WhoAmI>("/api/v1/whoami"))
        .await
        .expect("the error body is not read for ever")
        .unwrap_err();
    assert_eq!(e.exit_code(), 1, "{e}");
    assert!(e.to_string().len() < 400, "a one-line message: {e}");
    assert!(
        written.load(Ordering::Relaxed) < 32 << 20,
        "read {} bytes of an error body",
        written.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn a_list_cursor_that_repeats_is_an_error_not_a_loop() {
    let url = serve(|mut socket| async move {
        let body = br#"{"api_version":"atlhyper.io/v1","kind":"ClusterList","items":[],"next_cursor":"again"}"#;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let _ = socket.write_all(head.as_bytes()).await;
        let _ = socket.write_all(body).await;
    })
    .await;
    let client = Client::new(&url, None, Duration::from_secs(5)).unwrap();
    let listed = tokio::time::timeout(
        HANG,
        client.list::<atlhyper_model::api::ClusterSummary>("clusters", &[]),
    )
    .await
    .expect("a repeated cursor ends the listing");
    let e = listed.map(|l: List<_>| l.items.len()).unwrap_err();
    assert!(e.to_string().contains("cursor"), "{e}");
}

#[tokio::test]
async fn a_stream_whose_server_never_answers_times_out_at_the_request_timeout() {
    let url = serve(|socket| async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(socket);
    })
    .await;
    let client = Client::new(&url, None, Duration::from_secs(1)).unwrap();
    let opened = tokio::time::timeout(HANG, client.open_stream(&[], None))
        .await
        .expect("the stream's set-up is bounded by --request-timeout");
    let e = opened.map(|_| ()).unwrap_err();
    assert_eq!(e.exit_code(), 5, "{e}");
}

#[test]
fn a_stream_line_that_never_ends_is_refused_past_the_event_cap() {
    let mut parser = Parser::default();
    let chunk = vec![b'x'; 64 << 10];
    let mut fed = b"data: ".len();
    assert!(parser.feed(b"data: ").is_ok());
    let refused = loop {
        fed += chunk.len();
        match parser.feed(&chunk) {
            Ok(events) => assert!(events.is_empty()),
            Err(e) => break e,
        }
        assert!(fed < 256 << 20, "no cap: {fed} bytes buffered");
    };
    assert!(refused.to_string().contains("MiB"), "{refused}");
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let url = serve(move |mut socket| {
        let seen = seen.clone();
        async move {
            let answer: &[u8] = if seen.fetch_add(1, Ordering::Relaxed) == 0 {
                b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 79\r\n\r\n{\"api_version\":\"atlhyper.io/v1\",\"kind\":\"WhoAmI\",\"name\":\"alice\",\"role\":\"viewer\"}"
            };
            let _ = socket.write_all(answer).await;
        }
    })
    .await;
    let client = Client::new(&url, None, Duration::from_secs(5)).unwrap();
    let who = tokio::time::timeout(HANG, client.whoami())
        .await
        .unwrap()
        .expect("retried after a second");
    assert_eq!(who.name, "alice");
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}
