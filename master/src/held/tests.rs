//! The merge against a reference map: a list built by applying deltas in any order the channel
//! may deliver them — duplicated, reordered within the agent's window, some lost — ends equal to
//! the agent's own list, asking for at most one snapshot per loss.

use std::collections::BTreeMap;

use atlhyper_model::delta::REORDER_WINDOW;
use atlhyper_model::resources::Namespace;
use atlhyper_model::{Delta, Sequence};
use proptest::prelude::*;

use super::numbering::{Numbering, Verdict};
use super::*;

fn namespace(name: &str, version: u32) -> Namespace {
    Namespace {
        name: name.to_owned(),
        uid: format!("uid-{name}"),
        phase: format!("Active-{version}"),
        labels: Default::default(),
        created_ms: 0,
    }
}

/// One change the agent saw: `Some(version)` writes `ns{key}`, `None` deletes it.
type Change = (u8, Option<u32>);

fn sequence(seq: u64) -> Sequence {
    Sequence {
        epoch: "e".to_owned(),
        seq,
    }
}

enum Push {
    Delta { seq: u64, change: Change },
    Snapshot { seq: u64, items: Vec<Namespace> },
}

impl Push {
    fn seq(&self) -> u64 {
        match self {
            Push::Delta { seq, .. } | Push::Snapshot { seq, .. } => *seq,
        }
    }
}

/// The agent: turns each change into a delta numbered in order, never has more than half the
/// window in flight, and answers a new resync with its whole list at the next number, sending
/// no further delta until that list is taken.
struct Agent {
    changes: Vec<Change>,
    made: usize,
    next_seq: u64,
    state: BTreeMap<String, Namespace>,
    resyncing: Option<u64>,
}

impl Agent {
    fn make(&mut self) -> Push {
        let (key, version) = self.changes[self.made];
        self.made += 1;
        let name = format!("ns{key}");
        match version {
            Some(v) => self.state.insert(name.clone(), namespace(&name, v)),
            None => self.state.remove(&name),
        };
        self.push_delta((key, version))
    }

    fn push_delta(&mut self, change: Change) -> Push {
        self.next_seq += 1;
        Push::Delta {
            seq: self.next_seq,
            change,
        }
    }

    fn snapshot(&mut self) -> Push {
        self.next_seq += 1;
        self.resyncing = Some(self.next_seq);
        Push::Snapshot {
            seq: self.next_seq,
            items: self.state.values().cloned().collect(),
        }
    }
}

struct Master {
    list: HeldList<Namespace>,
    numbering: Numbering,
    resyncs: usize,
}

impl Master {
    /// Receives one push; `true` when it asks for a resync (a new one).
    fn receive(&mut self, push: &Push) -> bool {
        match push {
            Push::Delta { seq, change } => match self.numbering.admit(&sequence(*seq)) {
                Verdict::Apply => {
                    let (key, version) = *change;
                    let mut delta = Delta::default();
                    match version {
                        Some(v) => delta.upserts.push(namespace(&format!("ns{key}"), v)),
                        None => delta.deletes.push(format!("ns{key}")),
                    }
                    self.list = self.list.apply(delta, *seq, self.numbering.prefix()).0;
                    false
                }
                Verdict::Resync { new, .. } => {
                    self.resyncs += usize::from(new);
                    new
                }
                Verdict::Duplicate | Verdict::Stale => false,
            },
            Push::Snapshot { seq, items } => {
                if let Some(numbering) = self.numbering.after_snapshot(Some(&sequence(*seq))) {
                    self.numbering = numbering;
                    self.list = HeldList::from_items(items.clone(), *seq);
                }
                false
            }
        }
    }
}

/// Runs the agent's changes through a channel driven by `choices`: it delivers any of the four
/// oldest pushes in flight (the oldest at the latest once half the window behind), sends some
/// twice, and loses the deltas at the indices in `lost`. Returns master's list, the agent's,
/// and the resyncs asked.
fn simulate(
    changes: &[Change],
    choices: &[u8],
    lost: &std::collections::BTreeSet<usize>,
) -> (
    BTreeMap<String, Namespace>,
    BTreeMap<String, Namespace>,
    usize,
) {
    let base = 100;
    let mut agent = Agent {
        changes: changes.to_vec(),
        made: 0,
        next_seq: base,
        state: BTreeMap::new(),
        resyncing: None,
    };
    let mut master = Master {
        numbering: Numbering::default()
            .after_snapshot(Some(&sequence(base)))
            .unwrap(),
        list: HeldList::from_items(Vec::new(), base),
        resyncs: 0,
    };
    let half = (REORDER_WINDOW / 2) as usize;
    // (index of the change, retried already, the push)
    let mut in_flight: std::collections::VecDeque<(usize, bool, Push)> = Default::default();
    let mut choices = choices.iter().cycle();
    loop {
        while in_flight.len() < half
            && agent.made < agent.changes.len()
            && agent.resyncing.is_none()
        {
            let index = agent.made;
            in_flight.push_back((index, false, agent.make()));
        }
        let Some(&choice) = choices.next() else { break };
        if in_flight.is_empty() {
            break;
        }
        // The agent's window: the oldest unacknowledged push goes before it falls half a window
        // behind.
        let oldest = in_flight.front().map_or(0, |(_, _, p)| p.seq());
        let pick = if agent.next_seq - oldest >= half as u64 {
            0
        } else {
            usize::from(choice) % in_flight.len().min(4)
        };
        let (index, retried, push) = in_flight.remove(pick).expect("picked in range");
        if matches!(push, Push::Delta { .. }) && lost.contains(&index) {
            continue;
        }
        if master.receive(&push) {
            in_flight.push_back((usize::MAX, false, agent.snapshot()));
        }
        if let Push::Snapshot { seq, .. } = push
            && agent.resyncing == Some(seq)
        {
            agent.resyncing = None;
        }
        // A retry (its answer was lost): the same push again, later, once.
        if choice >= 224 && !retried {
            in_flight.push_back((index, true, push));
        }
    }
    (
        master
            .list
            .iter()
            .map(|n| (n.name.clone(), n.clone()))
            .collect(),
        agent.state,
        master.resyncs,
    )
}

fn changes() -> impl Strategy<Value = Vec<Change>> {
    prop::collection::vec((0u8..12, prop::option::weighted(0.75, 0u32..1_000)), 1..300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Duplicates and reorderings within the window converge without a resync.
    #[test]
    fn duplicates_and_reorderings_converge_without_a_resync(
        changes in changes(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let (held, agent, resyncs) = simulate(&changes, &choices, &Default::default());
        prop_assert_eq!(resyncs, 0);
        prop_assert_eq!(held, agent);
    }

    /// Every loss leads to at most one resync, after which the list is exact: losses in the
    /// first part of the run, enough deltas after them for master to notice.
    #[test]
    fn each_loss_costs_at_most_one_resync_and_ends_exact(
        changes in prop::collection::vec((0u8..12, prop::option::weighted(0.75, 0u32..1_000)), 200..300),
        choices in prop::collection::vec(any::<u8>(), 1..64),
        lost in prop::collection::btree_set(0usize..60, 1..4),
    ) {
        let (held, agent, resyncs) = simulate(&changes, &choices, &lost);
        prop_assert!(resyncs <= lost.len(), "{} resyncs for {} losses", resyncs, lost.len());
        prop_assert!(resyncs >= 1, "a loss went unnoticed");
        prop_assert_eq!(held, agent);
    }
}

#[test]
fn a_late_upsert_does_not_bring_back_a_deleted_object() {
    let list = HeldList::<Namespace>::from_items(vec![namespace("a", 1)], 10);
    let delete = Delta {
        upserts: vec![],
        deletes: vec!["a".to_owned()],
    };
    // seq 12 (the delete) arrives before seq 11 (an update).
    let (list, applied) = list.apply(delete, 12, 10);
    assert_eq!(applied.removed, ["a"]);
    let update = Delta {
        upserts: vec![namespace("a", 2)],
        deletes: vec![],
    };
    let (list, applied) = list.apply(update, 11, 10);
    assert!(applied.upserts.is_empty(), "the older write was applied");
    assert!(list.is_empty());
    // Once every delta up to 12 is in, the tombstone goes.
    let (list, _) = list.apply(Delta::default(), 13, 13);
    assert!(list.tombstones.is_empty());
}

#[test]
fn replacing_a_list_reports_what_changed() {
    let old = HeldList::from_items(vec![namespace("a", 1), namespace("b", 1)], 0);
    let new = HeldList::from_items(vec![namespace("b", 2), namespace("c", 1)], 0);
    let applied = old.diff(&new);
    assert_eq!(
        (applied.added, applied.changed, applied.removed),
        (
            vec!["c".to_owned()],
            vec!["b".to_owned()],
            vec!["a".to_owned()]
        )
    );
    assert_eq!(applied.upserts.len(), 2);
}

#[test]
fn a_change_too_large_for_the_stream_asks_to_list_again() {
    let old = HeldList::from_items(vec![], 0);
    let new = HeldList::from_items((0..50).map(|i| namespace(&format!("n{i}"), 1)).collect(), 0);
    let change =
        |applied| ListChange::new::<Namespace>("c1", Source::NamespaceListSnapshot, 1, 50, applied);
    let (keys, whole) = change(old.diff(&new)).delta_json(1 << 20);
    assert_eq!(keys.added.len(), 50);
    let whole: serde_json::Value = serde_json::from_str(&whole).unwrap();
    assert_eq!(whole["upserts"].as_array().unwrap().len(), 50);
    assert_eq!(whole.get("relist"), None);
    let (_, relist) = change(old.diff(&new)).delta_json(1_000);
    let relist: serde_json::Value = serde_json::from_str(&relist).unwrap();
    assert_eq!(relist["relist"], true);
    assert!(relist["upserts"].as_array().unwrap().is_empty());
}
