//! Which pushes of a list master applies: the rules of `atlhyper_model::delta`, kept per
//! (cluster, list). Pure: no clock, no I/O, so a restart replaying the stored pushes in their
//! commit order reaches the same verdicts.

use std::collections::BTreeSet;

use atlhyper_model::Sequence;
use atlhyper_model::delta::REORDER_WINDOW;

/// What to do with a delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Apply it (object by object: an older write never replaces a newer one).
    Apply,
    /// Seen already (a retry): nothing to do.
    Duplicate,
    /// Numbered at or before the list held (a retry that lost a race with a snapshot).
    Stale,
    /// Not applied: a delta went missing, or the list held is another epoch's. `new` is false
    /// while master already waits for the snapshot that answers an earlier resync.
    Resync { expected_seq: u64, new: bool },
}

/// The numbering state of one held list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Numbering {
    /// Empty for a list from an agent that does not number its pushes.
    epoch: String,
    /// The seq of the snapshot the list was built from.
    base: u64,
    /// Every delta in `(base, prefix]` was applied.
    prefix: u64,
    /// Deltas applied above `prefix`, their predecessors still on their way.
    ahead: BTreeSet<u64>,
    /// The highest seq received in this epoch, whatever became of it.
    highest: u64,
    /// A resync was asked for: deltas wait for a snapshot.
    awaiting: bool,
}

impl Numbering {
    /// The numbering after a full list with `sequence` (`None`: unnumbered), or `None` when that
    /// list is stale: numbered at or before what this epoch already sent.
    pub fn after_snapshot(&self, sequence: Option<&Sequence>) -> Option<Numbering> {
        let Some(sequence) = sequence else {
            return Some(Numbering::default());
        };
        if !self.epoch.is_empty() && sequence.epoch == self.epoch && sequence.seq <= self.highest {
            return None;
        }
        Some(Numbering {
            epoch: sequence.epoch.clone(),
            base: sequence.seq,
            prefix: sequence.seq,
            ahead: BTreeSet::new(),
            highest: sequence.seq,
            awaiting: false,
        })
    }

    /// Admits a delta: its verdict, and the state after it.
    pub fn admit(&mut self, sequence: &Sequence) -> Verdict {
        if self.epoch.is_empty() || sequence.epoch != self.epoch {
            let new = !self.awaiting;
            self.awaiting = true;
            return Verdict::Resync {
                expected_seq: 0,
                new,
            };
        }
        let seq = sequence.seq;
        self.highest = self.highest.max(seq);
        if self.awaiting {
            return Verdict::Resync {
                expected_seq: self.prefix + 1,
                new: false,
            };
        }
        if seq <= self.base {
            return Verdict::Stale;
        }
        if seq <= self.prefix || self.ahead.contains(&seq) {
            return Verdict::Duplicate;
        }
        if seq > self.prefix + REORDER_WINDOW {
            self.awaiting = true;
            return Verdict::Resync {
                expected_seq: self.prefix + 1,
                new: true,
            };
        }
        self.ahead.insert(seq);
        while self.ahead.remove(&(self.prefix + 1)) {
            self.prefix += 1;
        }
        Verdict::Apply
    }

    /// Every delta at or below this was applied (or is older than the list).
    pub fn prefix(&self) -> u64 {
        self.prefix
    }

    /// The seq objects of a snapshot are written at.
    pub fn base(&self) -> u64 {
        self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(epoch: &str, seq: u64) -> Sequence {
        Sequence {
            epoch: epoch.to_owned(),
            seq,
        }
    }

    #[test]
    fn in_order_reordered_duplicate_stale_and_lost() {
        let mut n = Numbering::default()
            .after_snapshot(Some(&at("e", 10)))
            .unwrap();
        assert_eq!(n.admit(&at("e", 11)), Verdict::Apply);
        assert_eq!(
            n.admit(&at("e", 13)),
            Verdict::Apply,
            "ahead, within the window"
        );
        assert_eq!(n.prefix(), 11);
        assert_eq!(n.admit(&at("e", 12)), Verdict::Apply);
        assert_eq!(n.prefix(), 13, "the gap closed");
        assert_eq!(n.admit(&at("e", 12)), Verdict::Duplicate);
        assert_eq!(n.admit(&at("e", 9)), Verdict::Stale);
        let far = 13 + REORDER_WINDOW + 1;
        assert_eq!(
            n.admit(&at("e", far)),
            Verdict::Resync {
                expected_seq: 14,
                new: true
            }
        );
        assert_eq!(
            n.admit(&at("e", far + 1)),
            Verdict::Resync {
                expected_seq: 14,
                new: false
            },
            "one resync per loss"
        );
        assert_eq!(
            n.after_snapshot(Some(&at("e", far))),
            None,
            "older than sent"
        );
        let n = n.after_snapshot(Some(&at("e", far + 2))).unwrap();
        assert_eq!(n.prefix(), far + 2);
    }

    #[test]
    fn another_epoch_or_an_unnumbered_list_asks_for_a_snapshot() {
        let mut n = Numbering::default();
        assert_eq!(
            n.admit(&at("e", 1)),
            Verdict::Resync {
                expected_seq: 0,
                new: true
            }
        );
        let mut n = n.after_snapshot(Some(&at("e", 5))).unwrap();
        assert!(matches!(
            n.admit(&at("f", 1)),
            Verdict::Resync { new: true, .. }
        ));
        // A new run's snapshot is never stale, whatever its seq.
        assert!(n.after_snapshot(Some(&at("f", 1))).is_some());
        assert_eq!(n.after_snapshot(None), Some(Numbering::default()));
    }
}
