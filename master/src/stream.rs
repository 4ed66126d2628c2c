//! The live stream's hub: every change gets an id and is kept in one buffer, bounded by count
//! and by bytes (the oldest go first), from which `Last-Event-ID` resumes and live subscribers
//! alike read. A subscriber follows the buffer with its own cursor, woken by a version number
//! (no second queue holds items per subscriber); one that falls behind the buffer's oldest item
//! is told to list again.

use std::collections::VecDeque;
use std::sync::Arc;

use atlhyper_model::api::StreamKind;
use parking_lot::Mutex;

use tokio::sync::watch;

/// One stream event, serialized once for every subscriber.
#[derive(Debug)]
pub struct StreamItem {
    pub id: u64,
    pub cluster_id: String,
    /// What changed: `pods`, `nodes`, …, `events`, `metrics`, `commands`.
    pub kind: StreamKind,
    /// The SSE event name: `snapshot`, `delta`, `events`, `metrics` or `command`.
    pub event: &'static str,
    /// JSON.
    pub data: String,
}

impl StreamItem {
    /// What it costs held in the buffer.
    fn bytes(&self) -> usize {
        self.data.len() + self.cluster_id.len() + std::mem::size_of::<Self>() + 16
    }
}

/// How much the buffer keeps.
#[derive(Debug, Clone, Copy)]
pub struct BufferLimits {
    pub max_items: usize,
    pub max_bytes: usize,
}

struct Buffer {
    next_id: u64,
    items: VecDeque<Arc<StreamItem>>,
    bytes: usize,
}

impl Buffer {
    fn oldest_id(&self) -> u64 {
        self.items.front().map_or(self.next_id, |i| i.id)
    }

    /// What followed `after`, or `None` when some of it is no longer kept.
    fn after(&self, after: u64) -> Option<Vec<Arc<StreamItem>>> {
        if after + 1 < self.oldest_id() || after >= self.next_id {
            return None;
        }
        let skip = (after + 1 - self.oldest_id()) as usize;
        Some(self.items.iter().skip(skip).cloned().collect())
    }
}

pub struct Hub {
    buffer: Mutex<Buffer>,
    /// The id of the newest item, for subscribers to wait on.
    newest: watch::Sender<u64>,
    limits: BufferLimits,
}

/// What a new subscriber gets: the buffered items after its resume point, then the live ones.
pub struct Subscription {
    pub replay: Vec<Arc<StreamItem>>,
    /// The resume point is older than the buffer (or from another run of master): the client
    /// missed changes and should list again.
    pub gap: bool,
    pub live: Live,
}

impl Subscription {
    /// The id live items follow: where a client resumes from if it has seen nothing newer.
    pub fn position(&self) -> u64 {
        self.live.after
    }
}

/// A subscriber's place in the stream.
pub struct Live {
    hub: Arc<Hub>,
    after: u64,
    newest: watch::Receiver<u64>,
}

/// What a live subscriber reads next.
pub enum Next {
    Items(Vec<Arc<StreamItem>>),
    /// It fell behind the buffer by this many items; it now follows from the newest.
    Lagged(u64),
    /// Master is stopping.
    Closed,
}

impl Live {
    /// The id of the last item read (or skipped, after a lag).
    pub fn position(&self) -> u64 {
        self.after
    }

    /// The items after the last ones read, waiting for some if there are none.
    pub async fn next(&mut self) -> Next {
        loop {
            // Marked seen before looking, so a publish after the look wakes the wait below.
            self.newest.borrow_and_update();
            {
                let buffer = self.hub.buffer.lock();
                match buffer.after(self.after) {
                    Some(items) if !items.is_empty() => {
                        self.after = items.last().expect("not empty").id;
                        return Next::Items(items);
                    }
                    Some(_) => {}
                    None => {
                        let missed = buffer.oldest_id().saturating_sub(self.after + 1);
                        self.after = buffer.next_id - 1;
                        return Next::Lagged(missed);
                    }
                }
            }
            if self.newest.changed().await.is_err() {
                return Next::Closed;
            }
        }
    }
}

impl Hub {
    /// Ids start at `first_id` (master passes the start time in µs, so ids keep growing across
    /// restarts and a stale resume point is recognised).
    pub fn new(limits: BufferLimits, first_id: u64) -> Self {
        let first_id = first_id.max(1);
        Hub {
            buffer: Mutex::new(Buffer {
                next_id: first_id,
                items: VecDeque::new(),
                bytes: 0,
            }),
            newest: watch::Sender::new(first_id - 1),
            limits,
        }
    }

    /// Numbers, buffers and announces one event; the oldest go while the buffer is over its
    /// count or its bytes (the newest always stays).
    pub fn publish(&self, cluster_id: &str, kind: StreamKind, event: &'static str, data: String) {
        let mut buffer = self.buffer.lock();
        let item = Arc::new(StreamItem {
            id: buffer.next_id,
            cluster_id: cluster_id.to_owned(),
            kind,
            event,
            data,
        });
        buffer.next_id += 1;
        buffer.bytes += item.bytes();
        buffer.items.push_back(item);
        while buffer.items.len() > 1
            && (buffer.items.len() > self.limits.max_items || buffer.bytes > self.limits.max_bytes)
        {
            let dropped = buffer.items.pop_front().expect("not empty");
            buffer.bytes -= dropped.bytes();
        }
        // Announced under the lock: a subscriber sees each item exactly once.
        let newest = buffer.next_id - 1;
        self.newest.send_replace(newest);
    }

    /// The largest event worth buffering whole: an eighth of the byte budget, so one change
    /// never pushes out the events before it.
    pub fn max_item_bytes(&self) -> usize {
        self.limits.max_bytes / 8
    }

    /// Subscribes, replaying what came after `last_event_id`.
    pub fn subscribe(self: &Arc<Self>, last_event_id: Option<u64>) -> Subscription {
        let buffer = self.buffer.lock();
        let newest = buffer.next_id - 1;
        let live = |after| Live {
            hub: self.clone(),
            after,
            newest: self.newest.subscribe(),
        };
        let Some(after) = last_event_id else {
            return Subscription {
                replay: Vec::new(),
                gap: false,
                live: live(newest),
            };
        };
        match buffer.after(after) {
            Some(replay) => Subscription {
                replay,
                gap: false,
                live: live(newest),
            },
            None => Subscription {
                replay: Vec::new(),
                gap: true,
                live: live(newest),
            },
        }
    }

    /// Connected subscribers.
    /// The id the next event will get.
    pub fn next_id(&self) -> u64 {
        self.buffer.lock().next_id
    }

    pub fn subscribers(&self) -> usize {
        self.newest.receiver_count()
    }

    /// Items and bytes held now.
    pub fn held(&self) -> (usize, usize) {
        let buffer = self.buffer.lock();
        (buffer.items.len(), buffer.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_replays_what_followed_and_flags_a_gap() {
        let hub = Arc::new(Hub::new(limits(3), 100));
        for i in 0..5 {
            hub.publish("c1", StreamKind::Pods, "snapshot", format!("{{\"n\":{i}}}"));
        }
        // Kept: 102, 103, 104.
        let s = hub.subscribe(Some(102));
        assert!(!s.gap);
        assert_eq!(
            s.replay.iter().map(|i| i.id).collect::<Vec<_>>(),
            [103, 104]
        );
        let s = hub.subscribe(Some(101));
        assert!(
            !s.gap,
            "101 is just before the oldest kept: nothing was missed"
        );
        assert_eq!(s.replay.len(), 3);
        assert!(
            hub.subscribe(Some(100)).gap,
            "102's predecessor 101 was dropped"
        );
        assert!(hub.subscribe(Some(5_000)).gap, "an id from another run");
        let s = hub.subscribe(Some(104));
        assert!(!s.gap && s.replay.is_empty());
    }

    fn limits(max_items: usize) -> BufferLimits {
        BufferLimits {
            max_items,
            max_bytes: usize::MAX,
        }
    }

    fn ids(next: Next) -> Vec<u64> {
        match next {
            Next::Items(items) => items.iter().map(|i| i.id).collect(),
            Next::Lagged(n) => panic!("lagged by {n}"),
            Next::Closed => panic!("closed"),
        }
    }

    #[tokio::test]
    async fn live_subscribers_get_each_item_once() {
        let hub = Arc::new(Hub::new(limits(10), 1));
        hub.publish("c1", StreamKind::Pods, "snapshot", "{}".into());
        let mut s = hub.subscribe(Some(0));
        hub.publish("c1", StreamKind::Events, "events", "{}".into());
        assert_eq!(s.replay.len(), 1);
        assert_eq!(ids(s.live.next().await), [2]);
        assert_eq!(hub.subscribers(), 1);
        let waiting = tokio::spawn(async move { ids(s.live.next().await) });
        tokio::task::yield_now().await;
        hub.publish("c1", StreamKind::Events, "events", "{}".into());
        hub.publish("c1", StreamKind::Events, "events", "{}".into());
        let got = waiting.await.unwrap();
        assert!(got == [3, 4] || got == [3], "{got:?}");
    }

    #[test]
    fn the_buffer_keeps_to_its_bytes_and_always_the_newest() {
        let hub = Arc::new(Hub::new(
            BufferLimits {
                max_items: 10_000,
                max_bytes: 1 << 20,
            },
            1,
        ));
        for _ in 0..50 {
            hub.publish("c1", StreamKind::Pods, "snapshot", "x".repeat(100 << 10));
        }
        let (items, bytes) = hub.held();
        assert!(bytes <= 1 << 20, "{bytes}");
        assert_eq!(items, 10, "ten 100 KiB items fit in 1 MiB, eleven do not");
        assert!(hub.subscribe(Some(1)).gap, "the first is gone");
        assert_eq!(hub.subscribe(Some(45)).replay.len(), 5);
        // One item over the budget on its own is still kept.
        hub.publish("c1", StreamKind::Pods, "snapshot", "x".repeat(2 << 20));
        assert_eq!(hub.held().0, 1);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_and_follows_from_the_newest() {
        let hub = Arc::new(Hub::new(limits(3), 1));
        let mut s = hub.subscribe(None);
        for _ in 0..5 {
            hub.publish("c1", StreamKind::Pods, "snapshot", "{}".into());
        }
        // 1..=5 published, 3..=5 kept: 1 and 2 were missed.
        assert!(matches!(s.live.next().await, Next::Lagged(2)));
        hub.publish("c1", StreamKind::Pods, "snapshot", "{}".into());
        assert_eq!(ids(s.live.next().await), [6]);
    }
}
