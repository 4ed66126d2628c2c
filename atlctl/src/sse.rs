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

/// Largest event the stream may send (its lines together): a change of a big list is a few
/// MiB; past this the stream is refused rather than buffered without end.
pub const MAX_EVENT_BYTES: usize = 64 << 20;

/// A stream event larger than [`MAX_EVENT_BYTES`].
#[derive(Debug, thiserror::Error)]
#[error("master's stream sent an event over {} MiB", MAX_EVENT_BYTES >> 20)]
pub struct EventTooLarge;

/// Splits a byte stream into events (the `text/event-stream` format: `field: value` lines,
/// a blank line ends an event, `:` lines are comments). Each byte is looked at once: what
/// was searched for a line end is not searched again.
#[derive(Default)]
pub struct Parser {
    buffer: Vec<u8>,
    /// Bytes at the buffer's start known to hold no line end.
    scanned: usize,
    event: String,
    id: Option<String>,
    data: Vec<String>,
    /// Bytes of the event being read, in `data` so far.
    data_bytes: usize,
}

impl Parser {
    /// The events `bytes` completes.
    ///
    /// # Errors
    /// [`EventTooLarge`] when one event outgrows [`MAX_EVENT_BYTES`].
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, EventTooLarge> {
        self.buffer.extend_from_slice(bytes);
        let buffer = std::mem::take(&mut self.buffer);
        let mut out = Vec::new();
        let mut start = 0;
        let mut from = self.scanned;
        while let Some(at) = buffer[from..].iter().position(|b| *b == b'\n') {
            let end = from + at;
            self.line(&buffer[start..end], &mut out);
            start = end + 1;
            from = start;
        }
        self.buffer = buffer;
        self.buffer.drain(..start);
        self.scanned = self.buffer.len();
        if self.buffer.len() + self.data_bytes > MAX_EVENT_BYTES {
            return Err(EventTooLarge);
        }
        Ok(out)
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
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
            self.data_bytes = 0;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                self.data_bytes += value.len() + 1;
                self.data.push(value.to_owned());
            }
            "id" => self.id = Some(value.to_owned()),
            _ => {}
        }
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
                    let events = self
                        .parser
                        .feed(&bytes)
                        .map_err(|e| CliError::Failed(e.to_string()))?;
                    self.pending.extend(events);
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
        assert!(
            p.feed(b": keep-alive\n\nid: 7\nevent: snap")
                .unwrap()
                .is_empty()
        );
        let events = p
            .feed(b"shot\ndata: {\"a\":1}\n\nevent: reset\ndata: x\r\ndata: y\n\n")
            .unwrap();
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
