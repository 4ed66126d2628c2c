//! The live stream's hub: every change gets an id, is kept in a bounded buffer for
//! `Last-Event-ID` resume, and is broadcast to connected subscribers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

/// One stream event, serialized once for every subscriber.
#[derive(Debug)]
pub struct StreamItem {
    pub id: u64,
    pub cluster_id: String,
    /// What changed: `pods`, `nodes`, …, `events`, `metrics`, `commands`.
    pub kind: &'static str,
    /// The SSE event name: `snapshot`, `events`, `metrics` or `command`.
    pub event: &'static str,
    /// JSON.
    pub data: String,
}

struct Buffer {
    next_id: u64,
    items: VecDeque<Arc<StreamItem>>,
}

pub struct Hub {
    buffer: Mutex<Buffer>,
    sender: broadcast::Sender<Arc<StreamItem>>,
    capacity: usize,
}

/// What a new subscriber gets: the buffered items after its resume point, then the live ones.
pub struct Subscription {
    pub replay: Vec<Arc<StreamItem>>,
    /// The resume point is older than the buffer (or from another run of master): the client
    /// missed changes and should list again.
    pub gap: bool,
    pub live: broadcast::Receiver<Arc<StreamItem>>,
}

impl Hub {
    /// Ids start at `first_id` (master passes the start time in µs, so ids keep growing across
    /// restarts and a stale resume point is recognised).
    pub fn new(capacity: usize, first_id: u64) -> Self {
        let (sender, _) = broadcast::channel(capacity.clamp(16, 4_096));
        Hub {
            buffer: Mutex::new(Buffer {
                next_id: first_id.max(1),
                items: VecDeque::with_capacity(capacity.min(4_096)),
            }),
            sender,
            capacity,
        }
    }

    /// Numbers, buffers and broadcasts one event.
    pub fn publish(&self, cluster_id: &str, kind: &'static str, event: &'static str, data: String) {
        let mut buffer = self.buffer.lock().expect("stream buffer lock");
        let item = Arc::new(StreamItem {
            id: buffer.next_id,
            cluster_id: cluster_id.to_owned(),
            kind,
            event,
            data,
        });
        buffer.next_id += 1;
        if buffer.items.len() == self.capacity {
            buffer.items.pop_front();
        }
        buffer.items.push_back(item.clone());
        // Sent under the lock, so a subscriber that joins sees each item exactly once: in its
        // replay or live.
        let _ = self.sender.send(item);
    }

    /// Subscribes, replaying what came after `last_event_id`.
    pub fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        let buffer = self.buffer.lock().expect("stream buffer lock");
        let live = self.sender.subscribe();
        let Some(after) = last_event_id else {
            return Subscription {
                replay: Vec::new(),
                gap: false,
                live,
            };
        };
        let oldest_kept = buffer.items.front().map_or(buffer.next_id, |i| i.id);
        let gap = after + 1 < oldest_kept || after >= buffer.next_id;
        let replay = if gap {
            Vec::new()
        } else {
            buffer
                .items
                .iter()
                .filter(|i| i.id > after)
                .cloned()
                .collect()
        };
        Subscription { replay, gap, live }
    }

    /// Connected subscribers.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_replays_what_followed_and_flags_a_gap() {
        let hub = Hub::new(3, 100);
        for i in 0..5 {
            hub.publish("c1", "pods", "snapshot", format!("{{\"n\":{i}}}"));
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

    #[tokio::test]
    async fn live_subscribers_get_each_item_once() {
        let hub = Hub::new(10, 1);
        hub.publish("c1", "pods", "snapshot", "{}".into());
        let mut s = hub.subscribe(Some(0));
        hub.publish("c1", "events", "events", "{}".into());
        assert_eq!(s.replay.len(), 1);
        assert_eq!(s.live.recv().await.unwrap().id, 2);
        assert_eq!(hub.subscribers(), 1);
    }
}
