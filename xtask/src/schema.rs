//! JSON Schemas of every `atlctl --json` document (and master's answers, the same shapes):
//! `cargo xtask schema` writes them to `docs/schema/`. A schema that changes needs a line in
//! `docs/schema/VERSIONS.md` naming its new hash and what changed, or the test below fails:
//! scripts depend on these shapes.

use std::path::PathBuf;

use atlhyper_model::api::{
    ClusterSummary, CommandInfo, InCluster, IngestReceipt, Item, List, PodMetrics, StreamDelta,
    WatchEvent,
};
use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service,
};
use atlhyper_model::{Delta, NodeMetricsSnapshot, Source};

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/schema")
}

fn render<T: schemars::JsonSchema>() -> String {
    let mut text =
        serde_json::to_string_pretty(&schemars::schema_for!(T)).expect("a schema is JSON");
    text.push('\n');
    text
}

macro_rules! kinds {
    ($($ty:ty => $kind:literal),* $(,)?) => {
        vec![$(
            (concat!($kind, "List.json"), render::<List<InCluster<$ty>>>()),
            (concat!($kind, ".json"), render::<Item<InCluster<$ty>>>()),
            (concat!($kind, "WatchEvent.json"), render::<WatchEvent<Item<InCluster<$ty>>>>()),
        )*]
    };
}

/// A delta push as an agent sends it to `POST /ingest` (the envelope writes itself by hand, so
/// its schema is written out here).
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct DeltaEnvelope<T> {
    /// `v1`.
    version: String,
    /// The cluster the agent watches.
    cluster_id: String,
    /// The delta source, e.g. `pod_delta`.
    source: Source,
    /// When the agent took it (ms since the epoch).
    ts_ms: i64,
    /// Drawn at random when the agent started.
    epoch: String,
    /// One more than the agent's previous push of this list in this epoch.
    seq: u64,
    /// Objects added or changed, and keys gone.
    payload: Delta<T>,
}

macro_rules! deltas {
    ($($ty:ty => $kind:literal),* $(,)?) => {
        vec![$(
            (concat!($kind, "Delta.json"), render::<DeltaEnvelope<$ty>>()),
            (concat!($kind, "StreamDelta.json"), render::<StreamDelta<InCluster<$ty>>>()),
        )*]
    };
}

/// (file name, schema) of every document.
pub fn all() -> Vec<(&'static str, String)> {
    let mut all = kinds! {
        Pod => "Pod",
        Node => "Node",
        Deployment => "Deployment",
        Service => "Service",
        Namespace => "Namespace",
        Ingress => "Ingress",
        ConfigMap => "ConfigMap",
        Event => "Event",
    };
    all.push((
        "NodeMetricsList.json",
        render::<List<InCluster<NodeMetricsSnapshot>>>(),
    ));
    all.push((
        "PodMetricsList.json",
        render::<List<InCluster<PodMetrics>>>(),
    ));
    all.push(("ClusterList.json", render::<List<ClusterSummary>>()));
    all.push(("Cluster.json", render::<Item<ClusterSummary>>()));
    all.push(("CommandList.json", render::<List<CommandInfo>>()));
    all.push(("Command.json", render::<Item<CommandInfo>>()));
    all.extend(deltas! {
        Pod => "Pod",
        Node => "Node",
        Deployment => "Deployment",
        Service => "Service",
        Namespace => "Namespace",
        Ingress => "Ingress",
        ConfigMap => "ConfigMap",
    });
    all.push(("IngestReceipt.json", render::<IngestReceipt>()));
    all
}

/// The first 16 hex digits of the schema's SHA-256: what `VERSIONS.md` records.
pub fn hash(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn write() -> anyhow::Result<()> {
    let dir = dir();
    std::fs::create_dir_all(&dir)?;
    let versions = std::fs::read_to_string(dir.join("VERSIONS.md")).unwrap_or_default();
    for (name, text) in all() {
        std::fs::write(dir.join(name), &text)?;
        let row = format!("| {name} | {} |", hash(&text));
        if !versions.contains(&row) {
            println!(
                "docs/schema/{name} changed: add `{row} atlhyper.io/v1 | what changed |` to VERSIONS.md"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_current_and_every_change_has_a_version_note() {
        let dir = dir();
        let versions = std::fs::read_to_string(dir.join("VERSIONS.md")).unwrap();
        let mut problems = Vec::new();
        for (name, text) in all() {
            match std::fs::read_to_string(dir.join(name)) {
                Ok(on_disk) if on_disk == text => {}
                Ok(_) => problems.push(format!("{name} differs from the types")),
                Err(_) => problems.push(format!("{name} is missing")),
            }
            let row = format!("| {name} | {} |", hash(&text));
            if !versions.contains(&row) {
                problems.push(format!("VERSIONS.md has no `{row}` line"));
            }
        }
        assert!(
            problems.is_empty(),
            "{}; run `cargo xtask schema` and note each change in docs/schema/VERSIONS.md",
            problems.join("; ")
        );
    }
}
