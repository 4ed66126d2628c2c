//! What the agent owes master of one list, as deltas (see `atlhyper_model::delta`): the changes
//! since its last numbered push, coalesced by key (the latest upsert, or the deletion), and the
//! deltas sent but not yet acknowledged, kept byte for byte so a retry sends exactly what was
//! numbered. Master answering `resync`, a relist, too much owed while master is away, or the
//! safety-net schedule each turn the next push into the whole list, which owes nothing after it.

use std::collections::{BTreeMap, VecDeque};

use atlhyper_model::delta::REORDER_WINDOW;
use atlhyper_model::{PreEncodedEnvelope, Sequence, Source};
use serde_json::value::RawValue;

/// Most deltas of one list sent and not acknowledged: past it, the list goes whole instead
/// (master applies a delta at most a window ahead of the last in order).
pub const MAX_UNACKED: usize = (REORDER_WINDOW / 2) as usize;

/// Most bytes of deltas owed for one list (sent and not acknowledged, and changes not yet
/// sent, as JSON): past it, the list goes whole, and memory stays bounded while master is away.
pub const MAX_OWED_BYTES: usize = 8 << 20;

/// What every envelope of one list push shares.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// The list.
    pub source: Source,
    pub cluster_id: &'a str,
    pub ts_ms: i64,
    /// This run's epoch; `None` when master is not sent numbering (deltas off).
    pub epoch: Option<&'a str>,
}

/// A delta sent and not yet acknowledged.
struct Sent {
    seq: u64,
    /// The envelope's JSON, as sent.
    json: Vec<u8>,
}

/// One list's numbering and what is owed of it.
pub struct Outbox {
    /// The last seq given to a push of this list.
    seq: u64,
    /// Changes since the last numbered push: `None` for a deletion.
    pending: BTreeMap<String, Option<Box<RawValue>>>,
    pending_bytes: usize,
    unacked: VecDeque<Sent>,
    /// The next push is the whole list.
    whole: bool,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            seq: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            unacked: VecDeque::new(),
            whole: true,
        }
    }
}

/// What a list push wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The whole list, numbered `seq`.
    Whole { seq: u64, items: usize },
    /// Deltas, numbered `seqs` (resent ones first).
    Deltas { seqs: Vec<u64> },
}

impl Written {
    /// Envelopes written.
    pub fn envelopes(&self) -> usize {
        match self {
            Written::Whole { .. } => 1,
            Written::Deltas { seqs } => seqs.len(),
        }
    }
}

impl Outbox {
    /// Records an object's change (`None`: deleted), once the list has been sent whole.
    pub fn record(&mut self, key: &str, item: Option<&RawValue>) {
        if self.whole {
            return;
        }
        let bytes = key.len() + item.map_or(0, |i| i.get().len());
        if let Some(old) = self
            .pending
            .insert(key.to_owned(), item.map(|i| i.to_owned()))
        {
            self.pending_bytes -= key.len() + old.map_or(0, |i| i.get().len());
        }
        self.pending_bytes += bytes;
        if self.owed_bytes() > MAX_OWED_BYTES {
            self.send_whole();
        }
    }

    fn owed_bytes(&self) -> usize {
        self.pending_bytes + self.unacked.iter().map(|s| s.json.len()).sum::<usize>()
    }

    /// The next push is the whole list; nothing else is owed.
    pub fn send_whole(&mut self) {
        self.whole = true;
        self.pending.clear();
        self.pending_bytes = 0;
        self.unacked.clear();
    }

    pub fn wants_whole(&self) -> bool {
        self.whole
    }

    /// Whether a delta push would carry anything (owed deltas, or changes).
    pub fn owes(&self) -> bool {
        !self.unacked.is_empty() || !self.pending.is_empty()
    }

    /// Writes the whole list, numbered when the header has an epoch.
    pub fn write_whole<'a>(
        &mut self,
        header: &Header<'_>,
        items: impl Iterator<Item = &'a RawValue> + Clone,
        count: usize,
        out: &mut Vec<u8>,
    ) -> Written {
        self.send_whole();
        self.whole = false;
        self.seq += 1;
        let sequence = header.epoch.map(|epoch| Sequence {
            epoch: epoch.to_owned(),
            seq: self.seq,
        });
        let envelope = PreEncodedEnvelope {
            cluster_id: header.cluster_id,
            ts_ms: header.ts_ms,
            source: header.source,
            sequence: sequence.as_ref(),
            items,
            deletes: &[],
        };
        serde_json::to_writer(&mut *out, &envelope).expect("JSON into memory");
        Written::Whole {
            seq: self.seq,
            items: count,
        }
    }

    /// Writes the deltas owed: those sent before and not acknowledged (as they were), then one
    /// of the changes since (or an empty one when `heartbeat` and nothing else is owed, so
    /// master sees the list is alive). Envelopes are separated by commas.
    pub fn write_deltas(
        &mut self,
        header: &Header<'_>,
        epoch: &str,
        heartbeat: bool,
        out: &mut Vec<u8>,
    ) -> Written {
        let (source, cluster_id, ts_ms) = (header.source, header.cluster_id, header.ts_ms);
        let mut seqs = Vec::new();
        for sent in &self.unacked {
            if !seqs.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(&sent.json);
            seqs.push(sent.seq);
        }
        if !self.pending.is_empty() || (heartbeat && seqs.is_empty()) {
            let delta = source.delta().expect("a list source");
            self.seq += 1;
            let sequence = Sequence {
                epoch: epoch.to_owned(),
                seq: self.seq,
            };
            let pending = std::mem::take(&mut self.pending);
            self.pending_bytes = 0;
            let deletes: Vec<String> = pending
                .iter()
                .filter(|(_, item)| item.is_none())
                .map(|(key, _)| key.clone())
                .collect();
            let envelope = PreEncodedEnvelope {
                cluster_id,
                ts_ms,
                source: delta,
                sequence: Some(&sequence),
                items: pending.values().filter_map(|item| item.as_deref()),
                deletes: &deletes,
            };
            let json = serde_json::to_vec(&envelope).expect("JSON into memory");
            if !seqs.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(&json);
            seqs.push(self.seq);
            self.unacked.push_back(Sent {
                seq: self.seq,
                json,
            });
            if self.unacked.len() > MAX_UNACKED {
                // Too far ahead of what master confirmed: once this push settles, the list
                // goes whole.
                self.whole = true;
            }
        }
        Written::Deltas { seqs }
    }

    /// Master took the delta `seq` (or refused it for good): it is no longer owed.
    pub fn acknowledge(&mut self, seq: u64) {
        self.unacked.retain(|s| s.seq != seq);
    }

    /// The list went out whole but the push failed: it goes whole again.
    pub fn whole_failed(&mut self) {
        self.send_whole();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    fn envelopes(out: &[u8]) -> Vec<serde_json::Value> {
        serde_json::from_slice(&[b"[", out, b"]"].concat()).unwrap()
    }

    #[test]
    fn changes_coalesce_by_key_and_a_retry_resends_the_same_numbers() {
        let mut outbox = Outbox::default();
        let item = raw(r#"{"name":"a"}"#);
        let mut out = Vec::new();
        let at = |ts_ms| Header {
            source: Source::NamespaceListSnapshot,
            cluster_id: "c1",
            ts_ms,
            epoch: Some("e"),
        };
        let whole = outbox.write_whole(&at(1), std::iter::once(&*item), 1, &mut out);
        assert_eq!(whole, Written::Whole { seq: 1, items: 1 });
        outbox.record("a", Some(&raw(r#"{"name":"a","v":1}"#)));
        outbox.record("a", Some(&raw(r#"{"name":"a","v":2}"#)));
        outbox.record("b", None);
        let mut out = Vec::new();
        let first = outbox.write_deltas(&at(2), "e", false, &mut out);
        assert_eq!(first, Written::Deltas { seqs: vec![2] });
        let sent = envelopes(&out);
        assert_eq!(sent[0]["source"], "namespace_delta");
        assert_eq!(sent[0]["seq"], 2);
        assert_eq!(
            sent[0]["payload"]["upserts"][0]["v"], 2,
            "the latest upsert"
        );
        assert_eq!(sent[0]["payload"]["deletes"], serde_json::json!(["b"]));
        // Not acknowledged: the retry carries delta 2 as it was, and the new change as 3.
        outbox.record("c", None);
        let mut again = Vec::new();
        let retry = outbox.write_deltas(&at(3), "e", false, &mut again);
        assert_eq!(retry, Written::Deltas { seqs: vec![2, 3] });
        assert!(again.starts_with(&out));
        outbox.acknowledge(2);
        outbox.acknowledge(3);
        let mut idle = Vec::new();
        let nothing = outbox.write_deltas(&at(4), "e", false, &mut idle);
        assert_eq!(nothing, Written::Deltas { seqs: vec![] });
        let beat = outbox.write_deltas(&at(4), "e", true, &mut idle);
        assert_eq!(
            beat,
            Written::Deltas { seqs: vec![4] },
            "a heartbeat is an empty delta"
        );
    }

    #[test]
    fn too_much_owed_turns_into_the_whole_list() {
        let pods = Header {
            source: Source::PodListSnapshot,
            cluster_id: "c1",
            ts_ms: 1,
            epoch: Some("e"),
        };
        let mut outbox = Outbox::default();
        outbox.record("ignored", None);
        assert!(!outbox.owes(), "nothing is owed before the list went whole");
        let mut out = Vec::new();
        outbox.write_whole(&pods, std::iter::empty(), 0, &mut out);
        for i in 0..=MAX_UNACKED {
            outbox.record(&format!("ns/p{i}"), None);
            outbox.write_deltas(&pods, "e", false, &mut Vec::new());
        }
        assert!(
            outbox.wants_whole(),
            "past the window of unacknowledged deltas"
        );
        let mut outbox = Outbox::default();
        outbox.write_whole(&pods, std::iter::empty(), 0, &mut out);
        let big = raw(&format!("\"{}\"", "x".repeat(1 << 20)));
        for i in 0..9 {
            outbox.record(&format!("ns/p{i}"), Some(&big));
        }
        assert!(
            outbox.wants_whole() && !outbox.owes(),
            "past the bytes owed"
        );
    }
}
