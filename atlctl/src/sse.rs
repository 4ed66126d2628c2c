//! Master's live stream as a client reads it: Server-Sent Events over one long GET, resumed
//! with `Last-Event-ID` after a dropped connection.

use std::time::Duration;

use crate::client::Client;
use crate::error::{CliError, Result};

/// One event: its name (`snapshot`, `events`, `metrics`, `reset`), id and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Splits a byte stream into events (the `text/event-stream` format: `field: value` lines,
/// a blank line ends an event, `:` lines are comments).
#[derive(Default)]
pub struct Parser {
    buffer: Vec<u8>,
    event: String,
    id: Option<String>,
    data: Vec<String>,
}

impl Parser {
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() || !self.event.is_empty() {
                    out.push(SseEvent {
                        event: if self.event.is_empty() {
                            "message".to_owned()
                        } else {
                            std::mem::take(&mut self.event)
                        },
                        id: self.id.clone(),
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => value.clone_into(&mut self.event),
                "data" => self.data.push(value.to_owned()),
                "id" => self.id = Some(value.to_owned()),
                _ => {}
            }
        }
        out
    }
}

/// A subscription that reconnects (resuming where it left off) until dropped.
pub struct Subscription {
    client: Client,
    query: Vec<(&'static str, String)>,
    response: Option<reqwest::Response>,
    parser: Parser,
    pending: std::collections::VecDeque<SseEvent>,
    last_id: Option<String>,
    failures: u32,
    /// Told when the connection drops (`false`) and comes back (`true`); when set, nothing
    /// is printed (the console draws its own indicator).
    on_state: Option<Box<dyn FnMut(bool) + Send>>,
}

impl Subscription {
    /// Opens the stream once, so a bad token or an unknown kind fails at once.
    ///
    /// # Errors
    /// What [`Client`] maps the first answer to.
    pub async fn open(client: &Client, query: Vec<(&'static str, String)>) -> Result<Self> {
        let response = client.open_stream(&query, None).await?;
        Ok(Subscription {
            client: client.clone(),
            query,
            response: Some(response),
            parser: Parser::default(),
            pending: Default::default(),
            last_id: None,
            failures: 0,
            on_state: None,
        })
    }

    /// Reports the connection's state to `f` instead of printing it.
    pub fn on_state(mut self, f: impl FnMut(bool) + Send + 'static) -> Self {
        self.on_state = Some(Box::new(f));
        self
    }

    /// The next event. A dropped connection is reopened with back-off; a refused token or a
    /// server that vanished for good is an error.
    pub async fn next(&mut self) -> Result<SseEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if event.id.is_some() {
                    self.last_id.clone_from(&event.id);
                }
                return Ok(event);
            }
            let Some(response) = &mut self.response else {
                self.reconnect().await?;
                continue;
            };
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    self.failures = 0;
                    self.pending.extend(self.parser.feed(&bytes));
                }
                Ok(None) | Err(_) => {
                    self.response = None;
                    self.parser = Parser::default();
                    if let Some(f) = &mut self.on_state {
                        f(false);
                    }
                }
            }
        }
    }

    async fn reconnect(&mut self) -> Result<()> {
        self.failures += 1;
        if self.failures == 2 && self.on_state.is_none() {
            eprintln!(
                "atlctl: lost the stream from {}; reconnecting…",
                self.client.server()
            );
        }
        let wait = Duration::from_millis(250) * (1 << self.failures.min(5));
        tokio::time::sleep(wait.min(Duration::from_secs(5))).await;
        match self
            .client
            .open_stream(&self.query, self.last_id.as_deref())
            .await
        {
            Ok(response) => {
                self.response = Some(response);
                if let Some(f) = &mut self.on_state {
                    f(true);
                }
                Ok(())
            }
            Err(CliError::Unreachable(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_put_together() {
        let mut p = Parser::default();
        assert!(p.feed(b": keep-alive\n\nid: 7\nevent: snap").is_empty());
        let events = p.feed(b"shot\ndata: {\"a\":1}\n\nevent: reset\ndata: x\r\ndata: y\n\n");
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: "snapshot".into(),
                    id: Some("7".into()),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: "reset".into(),
                    id: Some("7".into()),
                    data: "x\ny".into()
                },
            ]
        );
    }
}
