//! What master knows of each open connection: whether a request is in flight, when it last
//! did something. An idle connection is the cheapest thing to give up when the cap or the
//! file-descriptor limit is reached, and nothing else is ever given up.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use hyper::body::Frame;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// One accepted connection.
pub struct Conn {
    id: u64,
    accepted: Instant,
    /// Milliseconds since `accepted` of the last byte read or request finished.
    last_ms: AtomicU64,
    /// Milliseconds since `accepted` of the last request started or finished.
    last_request_ms: AtomicU64,
    /// Requests in flight (a long poll and a stream are in flight while they are held).
    active: AtomicUsize,
    /// Requests started on it so far.
    requests: AtomicU64,
    /// It speaks HTTP/2 (client PINGs do not keep it alive; only requests do).
    http2: AtomicBool,
    /// Asked to close (evicted); set once.
    closing: AtomicBool,
    pub close: Notify,
}

/// Why a connection was closed by master rather than by its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No request arrived within the header timeout of the accept.
    FirstByte,
    /// No request for the idle timeout after the last one.
    Idle,
}

impl Conn {
    fn elapsed_ms(&self) -> u64 {
        self.accepted.elapsed().as_millis() as u64
    }

    fn touch(&self) {
        self.last_ms.store(self.elapsed_ms(), Ordering::Relaxed);
    }

    fn is_idle(&self) -> bool {
        self.active.load(Ordering::Acquire) == 0
    }

    /// When this connection expires if nothing happens, and why; `None` while a request is
    /// in flight.
    pub fn deadline(&self, first_byte: Duration, idle: Duration) -> Option<(Instant, Expiry)> {
        if !self.is_idle() {
            return None;
        }
        if self.requests.load(Ordering::Acquire) == 0 {
            return Some((self.accepted + first_byte, Expiry::FirstByte));
        }
        let last = if self.http2.load(Ordering::Relaxed) {
            self.last_request_ms.load(Ordering::Relaxed)
        } else {
            self.last_ms.load(Ordering::Relaxed)
        };
        Some((
            self.accepted + Duration::from_millis(last) + idle,
            Expiry::Idle,
        ))
    }

    /// A request started; the guard marks its end when the response body is done or dropped.
    pub fn start_request(self: &Arc<Self>, http2: bool) -> ActiveGuard {
        if http2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.active.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::AcqRel);
        let now = self.elapsed_ms();
        self.last_request_ms.store(now, Ordering::Relaxed);
        self.last_ms.store(now, Ordering::Relaxed);
        ActiveGuard(self.clone())
    }
}

/// Held while a request is in flight.
pub struct ActiveGuard(Arc<Conn>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let now = self.0.elapsed_ms();
        self.0.last_request_ms.store(now, Ordering::Relaxed);
        self.0.last_ms.store(now, Ordering::Relaxed);
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Every open connection, to count them and to pick an idle one to close.
#[derive(Default)]
pub struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    /// Registers a newly accepted connection; it is forgotten when the returned handle drops.
    pub fn open(self: &Arc<Self>) -> Registered {
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            accepted: Instant::now(),
            last_ms: AtomicU64::new(0),
            last_request_ms: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        });
        self.open.lock().insert(conn.id, conn.clone());
        Registered {
            conn,
            registry: self.clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.open.lock().len()
    }

    /// Asks the connection idle the longest (no request in flight) to close; whether there
    /// was one. A connection that has never sent a request counts as idle since its accept.
    pub fn evict_idle(&self) -> bool {
        let open = self.open.lock();
        let oldest = open
            .values()
            .filter(|c| c.is_idle() && !c.closing.load(Ordering::Relaxed))
            .min_by_key(|c| c.accepted + Duration::from_millis(c.last_ms.load(Ordering::Relaxed)));
        match oldest {
            Some(conn) => {
                conn.closing.store(true, Ordering::Relaxed);
                conn.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A connection's place in the registry, given up on drop.
pub struct Registered {
    pub conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.open.lock().remove(&self.conn.id);
    }
}

/// The socket, noting when bytes arrive.
pub struct Tracked<S> {
    pub inner: S,
    pub conn: Arc<Conn>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.conn.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A response body that keeps its request counted as in flight until it is sent or dropped.
pub struct Guarded {
    pub inner: Body,
    pub _guard: ActiveGuard,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_longest_idle_connection_is_evicted_and_busy_ones_never() {
        let registry = Arc::new(Registry::default());
        let old = registry.open();
        tokio::time::advance(Duration::from_secs(1)).await;
        let busy = registry.open();
        let _in_flight = busy.conn.start_request(false);
        tokio::time::advance(Duration::from_secs(1)).await;
        let new = registry.open();
        assert_eq!(registry.len(), 3);

        assert!(registry.evict_idle());
        assert!(old.conn.closing.load(Ordering::Relaxed));
        assert!(!new.conn.closing.load(Ordering::Relaxed));
        assert!(registry.evict_idle());
        assert!(new.conn.closing.load(Ordering::Relaxed));
        assert!(
            !registry.evict_idle(),
            "a connection with a request in flight stays"
        );
        drop(old);
        assert_eq!(registry.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_first_byte_then_the_last_request() {
        let registry = Arc::new(Registry::default());
        let r = registry.open();
        let (first, idle) = (Duration::from_secs(10), Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(
            r.conn.deadline(first, idle),
            Some((start + first, Expiry::FirstByte))
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        let guard = r.conn.start_request(false);
        assert_eq!(r.conn.deadline(first, idle), None, "in flight: no deadline");
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(guard);
        assert_eq!(
            r.conn.deadline(first, idle),
            Some((start + Duration::from_secs(102) + idle, Expiry::Idle))
        );
    }
}
