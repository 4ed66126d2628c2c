//! The data sources an agent pushes: the nine of the seed's full-snapshot schedule, and a delta
//! source beside each of the seven lists.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an envelope carries. The wire name is the snake_case variant name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// New and updated events, merged by uid.
    Events,
    /// Node samples from nodemetrics.
    MetricsSnapshot,
    /// Every pod.
    PodListSnapshot,
    /// Every node.
    NodeListSnapshot,
    /// Every service.
    ServiceListSnapshot,
    /// Every namespace.
    NamespaceListSnapshot,
    /// Every ingress.
    IngressListSnapshot,
    /// Every deployment.
    DeploymentListSnapshot,
    /// Every config map.
    ConfigmapListSnapshot,
    /// Pods added, changed or gone since the previous push of the pod list.
    PodDelta,
    /// Nodes added, changed or gone.
    NodeDelta,
    /// Services added, changed or gone.
    ServiceDelta,
    /// Namespaces added, changed or gone.
    NamespaceDelta,
    /// Ingresses added, changed or gone.
    IngressDelta,
    /// Deployments added, changed or gone.
    DeploymentDelta,
    /// Config maps added, changed or gone.
    ConfigmapDelta,
}

/// How a receiver stores what a source sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// The payload is the whole current list: it replaces the previous one for (cluster, source).
    Replace,
    /// The payload adds records to a time-ordered series (events merged by uid, metrics per node).
    Append,
    /// The payload changes the held list of its list source: objects added or changed, keys gone.
    Merge,
}

impl Source {
    /// The sources pushed on a schedule (the full lists, events and node samples), in the order
    /// of the seed's schedule.
    pub const SCHEDULED: [Source; 9] = [
        Source::Events,
        Source::MetricsSnapshot,
        Source::PodListSnapshot,
        Source::NodeListSnapshot,
        Source::ServiceListSnapshot,
        Source::NamespaceListSnapshot,
        Source::IngressListSnapshot,
        Source::DeploymentListSnapshot,
        Source::ConfigmapListSnapshot,
    ];

    /// Every source: the scheduled ones, then the deltas.
    pub const ALL: [Source; 16] = [
        Source::Events,
        Source::MetricsSnapshot,
        Source::PodListSnapshot,
        Source::NodeListSnapshot,
        Source::ServiceListSnapshot,
        Source::NamespaceListSnapshot,
        Source::IngressListSnapshot,
        Source::DeploymentListSnapshot,
        Source::ConfigmapListSnapshot,
        Source::PodDelta,
        Source::NodeDelta,
        Source::ServiceDelta,
        Source::NamespaceDelta,
        Source::IngressDelta,
        Source::DeploymentDelta,
        Source::ConfigmapDelta,
    ];

    /// The wire name, e.g. `pod_list_snapshot`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Events => "events",
            Source::MetricsSnapshot => "metrics_snapshot",
            Source::PodListSnapshot => "pod_list_snapshot",
            Source::NodeListSnapshot => "node_list_snapshot",
            Source::ServiceListSnapshot => "service_list_snapshot",
            Source::NamespaceListSnapshot => "namespace_list_snapshot",
            Source::IngressListSnapshot => "ingress_list_snapshot",
            Source::DeploymentListSnapshot => "deployment_list_snapshot",
            Source::ConfigmapListSnapshot => "configmap_list_snapshot",
            Source::PodDelta => "pod_delta",
            Source::NodeDelta => "node_delta",
            Source::ServiceDelta => "service_delta",
            Source::NamespaceDelta => "namespace_delta",
            Source::IngressDelta => "ingress_delta",
            Source::DeploymentDelta => "deployment_delta",
            Source::ConfigmapDelta => "configmap_delta",
        }
    }

    /// The list a source's pushes change: itself for a list, the list beside it for a delta,
    /// `None` for events and node samples.
    pub const fn list(self) -> Option<Source> {
        Some(match self {
            Source::Events | Source::MetricsSnapshot => return None,
            Source::PodListSnapshot | Source::PodDelta => Source::PodListSnapshot,
            Source::NodeListSnapshot | Source::NodeDelta => Source::NodeListSnapshot,
            Source::ServiceListSnapshot | Source::ServiceDelta => Source::ServiceListSnapshot,
            Source::NamespaceListSnapshot | Source::NamespaceDelta => Source::NamespaceListSnapshot,
            Source::IngressListSnapshot | Source::IngressDelta => Source::IngressListSnapshot,
            Source::DeploymentListSnapshot | Source::DeploymentDelta => {
                Source::DeploymentListSnapshot
            }
            Source::ConfigmapListSnapshot | Source::ConfigmapDelta => Source::ConfigmapListSnapshot,
        })
    }

    /// The delta source beside a list (`None` for anything else).
    pub const fn delta(self) -> Option<Source> {
        Some(match self {
            Source::PodListSnapshot => Source::PodDelta,
            Source::NodeListSnapshot => Source::NodeDelta,
            Source::ServiceListSnapshot => Source::ServiceDelta,
            Source::NamespaceListSnapshot => Source::NamespaceDelta,
            Source::IngressListSnapshot => Source::IngressDelta,
            Source::DeploymentListSnapshot => Source::DeploymentDelta,
            Source::ConfigmapListSnapshot => Source::ConfigmapDelta,
            _ => return None,
        })
    }

    /// Whether it is a delta source.
    pub const fn is_delta(self) -> bool {
        matches!(self.store_mode(), StoreMode::Merge)
    }

    /// The seed's full-push interval for this source (a delta's is its list's); agents push
    /// earlier on change.
    pub const fn default_interval(self) -> Duration {
        let list = match self.list() {
            Some(list) => list,
            None => self,
        };
        Duration::from_secs(match list {
            Source::Events | Source::MetricsSnapshot => 5,
            Source::PodListSnapshot => 25,
            Source::NodeListSnapshot => 30,
            Source::ServiceListSnapshot => 35,
            Source::NamespaceListSnapshot => 40,
            Source::IngressListSnapshot => 45,
            Source::DeploymentListSnapshot => 50,
            _ => 55,
        })
    }

    /// Whether a payload replaces the latest one or appends to a series.
    pub const fn store_mode(self) -> StoreMode {
        match self {
            Source::Events | Source::MetricsSnapshot => StoreMode::Append,
            Source::PodDelta
            | Source::NodeDelta
            | Source::ServiceDelta
            | Source::NamespaceDelta
            | Source::IngressDelta
            | Source::DeploymentDelta
            | Source::ConfigmapDelta => StoreMode::Merge,
            _ => StoreMode::Replace,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the nine sources.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source `{0}`")]
pub struct UnknownSource(pub String);

impl FromStr for Source {
    type Err = UnknownSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| UnknownSource(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde_and_from_str() {
        for source in Source::ALL {
            let json = serde_json::to_string(&source).unwrap();
            assert_eq!(json, format!("\"{}\"", source.as_str()));
            assert_eq!(source.as_str().parse::<Source>(), Ok(source));
        }
        assert_eq!(
            "pods".parse::<Source>(),
            Err(UnknownSource("pods".to_owned()))
        );
    }

    #[test]
    fn schedule_matches_the_seed() {
        let secs: Vec<u64> = Source::SCHEDULED
            .iter()
            .map(|s| s.default_interval().as_secs())
            .collect();
        assert_eq!(secs, [5, 5, 25, 30, 35, 40, 45, 50, 55]);
        assert_eq!(Source::Events.store_mode(), StoreMode::Append);
        assert_eq!(Source::MetricsSnapshot.store_mode(), StoreMode::Append);
        assert_eq!(Source::PodListSnapshot.store_mode(), StoreMode::Replace);
    }

    #[test]
    fn each_list_has_a_delta_beside_it_and_back() {
        for source in Source::ALL {
            match source.store_mode() {
                StoreMode::Replace => {
                    let delta = source.delta().unwrap();
                    assert_eq!(delta.list(), Some(source));
                    assert_eq!(delta.store_mode(), StoreMode::Merge);
                    assert_eq!(delta.default_interval(), source.default_interval());
                }
                StoreMode::Merge => assert!(source.list().unwrap().delta() == Some(source)),
                StoreMode::Append => assert_eq!((source.list(), source.delta()), (None, None)),
            }
        }
        assert_eq!(Source::ALL.iter().filter(|s| s.is_delta()).count(), 7);
    }
}
