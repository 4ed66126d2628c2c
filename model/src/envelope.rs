//! The envelope every push travels in, and its typed payloads.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::codec::DecodeError;
use crate::delta::{Delta, Sequence};
use crate::metrics::NodeMetricsSnapshot;
use crate::resources::{ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service};
use crate::source::Source;

/// The protocol version an envelope speaks. Only `v1` exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProtocolVersion {
    #[default]
    #[serde(rename = "v1")]
    /// The protocol this build speaks.
    V1,
}

impl ProtocolVersion {
    /// The wire name (`v1`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V1 => "v1",
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One push of one source for one cluster.
///
/// On the wire:
/// `{"version":"v1","cluster_id":"prod-eu","source":"pod_list_snapshot","ts_ms":…,"payload":{"items":[…]}}`.
/// The `source` is not stored separately: it is the payload's variant, so the two cannot disagree.
/// A list or a delta from an agent that numbers its pushes also carries `"epoch"` and `"seq"`
/// after `ts_ms` (see [`crate::delta`]); a delta must.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `v1`.
    pub version: ProtocolVersion,
    /// The cluster the agent watches.
    pub cluster_id: String,
    /// When the agent took the snapshot, in milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// Where it stands in its agent's numbering of this list's pushes.
    pub sequence: Option<Sequence>,
    /// What it carries; its variant is the `source`.
    pub payload: Payload,
}

impl Envelope {
    /// A `v1` envelope.
    pub fn new(cluster_id: impl Into<String>, ts_ms: i64, payload: Payload) -> Self {
        Envelope {
            version: ProtocolVersion::V1,
            cluster_id: cluster_id.into(),
            ts_ms,
            sequence: None,
            payload,
        }
    }

    /// The same, numbered.
    pub fn with_sequence(mut self, sequence: Sequence) -> Self {
        self.sequence = Some(sequence);
        self
    }

    /// The source this envelope carries.
    pub fn source(&self) -> Source {
        self.payload.source()
    }
}

#[derive(Serialize)]
struct ItemsRef<'a, T> {
    items: &'a [T],
}

#[derive(Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

fn items<T: de::DeserializeOwned>(json: &str) -> Result<Vec<T>, serde_json::Error> {
    serde_json::from_str::<Items<T>>(json).map(|i| i.items)
}

fn items_with_path<T: de::DeserializeOwned>(
    json: &str,
) -> Result<Vec<T>, serde_path_to_error::Error<serde_json::Error>> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize::<_, Items<T>>(de).map(|i| i.items)
}

fn delta_with_path<T: de::DeserializeOwned>(
    json: &str,
) -> Result<Delta<T>, serde_path_to_error::Error<serde_json::Error>> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de)
}

/// Writes the payload enum and everything that matches on its variants, once: list payloads
/// are `{"items":[…]}`, deltas `{"upserts":[…],"deletes":[…]}`.
macro_rules! payloads {
    (
        lists { $( $(#[$lmeta:meta])* $lvar:ident($lty:ty), )* }
        deltas { $( $(#[$dmeta:meta])* $dvar:ident($dty:ty), )* }
    ) => {
        /// A source's typed payload; its variant is the envelope's `source`.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Payload {
            $( $(#[$lmeta])* $lvar(Vec<$lty>), )*
            $( $(#[$dmeta])* $dvar(Delta<$dty>), )*
        }

        impl Payload {
            /// The source this payload belongs to.
            pub fn source(&self) -> Source {
                match self {
                    $( Payload::$lvar(_) => Source::$lvar, )*
                    $( Payload::$dvar(_) => Source::$dvar, )*
                }
            }

            /// How many records the payload holds (a delta's upserts and deletes).
            pub fn len(&self) -> usize {
                match self {
                    $( Payload::$lvar(v) => v.len(), )*
                    $( Payload::$dvar(d) => d.len(), )*
                }
            }

            /// Parses the JSON text of a payload as the given source's type.
            pub(crate) fn from_json(source: Source, json: &str) -> Result<Payload, serde_json::Error> {
                Ok(match source {
                    $( Source::$lvar => Payload::$lvar(items(json)?), )*
                    $( Source::$dvar => Payload::$dvar(serde_json::from_str(json)?), )*
                })
            }

            /// Like [`Payload::from_json`], but the error names the path of the offending value.
            pub(crate) fn from_json_with_path(
                source: Source,
                json: &str,
            ) -> Result<Payload, serde_path_to_error::Error<serde_json::Error>> {
                Ok(match source {
                    $( Source::$lvar => Payload::$lvar(items_with_path(json)?), )*
                    $( Source::$dvar => Payload::$dvar(delta_with_path(json)?), )*
                })
            }
        }

        impl Serialize for Payload {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( Payload::$lvar(items) => ItemsRef { items }.serialize(serializer), )*
                    $( Payload::$dvar(delta) => delta.serialize(serializer), )*
                }
            }
        }

        impl<'de> de::DeserializeSeed<'de> for PayloadSeed {
            type Value = Payload;

            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Payload, D::Error> {
                Ok(match self.0 {
                    $( Source::$lvar => Payload::$lvar(Items::<$lty>::deserialize(d)?.items), )*
                    $( Source::$dvar => Payload::$dvar(Delta::<$dty>::deserialize(d)?), )*
                })
            }
        }
    };
}

payloads! {
    lists {
        /// New or updated events (merged by uid).
        Events(Event),
        /// The latest sample of each node.
        MetricsSnapshot(NodeMetricsSnapshot),
        /// Every pod, in place of the last list.
        PodListSnapshot(Pod),
        /// Every node.
        NodeListSnapshot(Node),
        /// Every service.
        ServiceListSnapshot(Service),
        /// Every namespace.
        NamespaceListSnapshot(Namespace),
        /// Every ingress.
        IngressListSnapshot(Ingress),
        /// Every deployment.
        DeploymentListSnapshot(Deployment),
        /// Every config map.
        ConfigmapListSnapshot(ConfigMap),
    }
    deltas {
        /// Pods added, changed or gone.
        PodDelta(Pod),
        /// Nodes added, changed or gone.
        NodeDelta(Node),
        /// Services added, changed or gone.
        ServiceDelta(Service),
        /// Namespaces added, changed or gone.
        NamespaceDelta(Namespace),
        /// Ingresses added, changed or gone.
        IngressDelta(Ingress),
        /// Deployments added, changed or gone.
        DeploymentDelta(Deployment),
        /// Config maps added, changed or gone.
        ConfigmapDelta(ConfigMap),
    }
}

impl Payload {
    /// It carries no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `source` is written before `payload` so a streaming reader knows the type in time.
        let mut s = serializer.serialize_struct("Envelope", 7)?;
        s.serialize_field("version", &self.version)?;
        s.serialize_field("cluster_id", &self.cluster_id)?;
        s.serialize_field("source", &self.source())?;
        s.serialize_field("ts_ms", &self.ts_ms)?;
        serialize_sequence(&mut s, self.sequence.as_ref())?;
        s.serialize_field("payload", &self.payload)?;
        s.end()
    }
}

fn serialize_sequence<S: SerializeStruct>(
    s: &mut S,
    sequence: Option<&Sequence>,
) -> Result<(), S::Error> {
    match sequence {
        Some(sequence) => {
            s.serialize_field("epoch", &sequence.epoch)?;
            s.serialize_field("seq", &sequence.seq)
        }
        None => {
            s.skip_field("epoch")?;
            s.skip_field("seq")
        }
    }
}

/// An envelope whose items are already JSON, written exactly as [`Envelope`] writes itself.
/// An agent keeps each object's summary serialized once, when it changes, so a snapshot push
/// only copies bytes instead of cloning and re-serializing every object.
pub struct PreEncodedEnvelope<'a, I> {
    /// The cluster the agent watches.
    pub cluster_id: &'a str,
    /// When the agent took it (ms since the epoch).
    pub ts_ms: i64,
    /// Which list (or delta) it is.
    pub source: Source,
    /// Where it stands in the agent's numbering.
    pub sequence: Option<&'a Sequence>,
    /// Each item's JSON (a delta's upserts); must be what serializing the source's item type
    /// gives.
    pub items: I,
    /// A delta's deleted keys (ignored for any other source).
    pub deletes: &'a [String],
}

struct PreEncodedItems<I>(I);

impl<'a, I: Iterator<Item = &'a RawValue> + Clone> Serialize for PreEncodedItems<I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Items", 1)?;
        s.serialize_field("items", &Seq(self.0.clone()))?;
        s.end()
    }
}

struct PreEncodedDelta<'a, I>(I, &'a [String]);

impl<'a, 'r, I: Iterator<Item = &'r RawValue> + Clone> Serialize for PreEncodedDelta<'a, I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Delta", 2)?;
        s.serialize_field("upserts", &Seq(self.0.clone()))?;
        s.serialize_field("deletes", self.1)?;
        s.end()
    }
}

struct Seq<I>(I);

impl<'a, I: Iterator<Item = &'a RawValue> + Clone> Serialize for Seq<I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

impl<'a, 'r, I: Iterator<Item = &'r RawValue> + Clone> Serialize for PreEncodedEnvelope<'a, I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Envelope", 7)?;
        s.serialize_field("version", &ProtocolVersion::V1)?;
        s.serialize_field("cluster_id", self.cluster_id)?;
        s.serialize_field("source", &self.source)?;
        s.serialize_field("ts_ms", &self.ts_ms)?;
        serialize_sequence(&mut s, self.sequence)?;
        if self.source.is_delta() {
            s.serialize_field(
                "payload",
                &PreEncodedDelta(self.items.clone(), self.deletes),
            )?;
        } else {
            s.serialize_field("payload", &PreEncodedItems(self.items.clone()))?;
        }
        s.end()
    }
}

/// Single-pass reading of an envelope: when `source` precedes `payload` (as every encoder of
/// ours writes it) the payload is parsed straight into its type; otherwise it is captured raw
/// and parsed once the source is known. Errors here are plain serde errors: the codec re-reads a
/// failed body with [`RawEnvelope`] to say precisely what is wrong.
pub(crate) struct FastEnvelope(pub Envelope);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Version,
    ClusterId,
    Source,
    TsMs,
    Epoch,
    Seq,
    Payload,
    #[serde(other)]
    Other,
}

struct PayloadSeed(Source);

impl<'de> Deserialize<'de> for FastEnvelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = FastEnvelope;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an envelope")
            }

            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FastEnvelope, A::Error> {
                let mut cluster_id: Option<String> = None;
                let mut source: Option<Source> = None;
                let mut ts_ms: Option<i64> = None;
                let mut epoch: Option<String> = None;
                let mut seq: Option<u64> = None;
                let mut payload: Option<Payload> = None;
                let mut raw_payload: Option<&'de RawValue> = None;
                let mut version_seen = false;
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Version => {
                            let version: std::borrow::Cow<'de, str> = map.next_value()?;
                            if version != ProtocolVersion::V1.as_str() {
                                return Err(de::Error::custom("unsupported version"));
                            }
                            version_seen = true;
                        }
                        Field::ClusterId => cluster_id = Some(map.next_value()?),
                        Field::Source => source = Some(map.next_value()?),
                        Field::TsMs => ts_ms = Some(map.next_value()?),
                        Field::Epoch => epoch = Some(map.next_value()?),
                        Field::Seq => seq = Some(map.next_value()?),
                        Field::Payload => match source {
                            Some(source) => {
                                payload = Some(map.next_value_seed(PayloadSeed(source))?)
                            }
                            None => raw_payload = Some(map.next_value()?),
                        },
                        Field::Other => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                let (true, Some(cluster_id), Some(source), Some(ts_ms)) =
                    (version_seen, cluster_id, source, ts_ms)
                else {
                    return Err(de::Error::custom("missing field"));
                };
                let payload = match (payload, raw_payload) {
                    (Some(payload), _) => payload,
                    (None, Some(raw)) => {
                        Payload::from_json(source, raw.get()).map_err(de::Error::custom)?
                    }
                    (None, None) => return Err(de::Error::missing_field("payload")),
                };
                let sequence = match (epoch, seq) {
                    (Some(epoch), Some(seq)) => Some(Sequence { epoch, seq }),
                    (None, None) => None,
                    _ => return Err(de::Error::custom("epoch and seq go together")),
                };
                Ok(FastEnvelope(Envelope {
                    version: ProtocolVersion::V1,
                    cluster_id,
                    ts_ms,
                    sequence,
                    payload,
                }))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The envelope's fields with the payload still raw JSON: the version and source are checked
/// before the payload is parsed as the source's type.
#[derive(Deserialize)]
pub(crate) struct RawEnvelope<'a> {
    #[serde(borrow)]
    pub version: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub cluster_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub source: std::borrow::Cow<'a, str>,
    pub ts_ms: i64,
    #[serde(borrow, default)]
    pub epoch: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    pub seq: Option<u64>,
    #[serde(borrow)]
    pub payload: &'a RawValue,
}

#[derive(Deserialize)]
struct OwnedRawEnvelope {
    version: String,
    cluster_id: String,
    source: String,
    ts_ms: i64,
    #[serde(default)]
    epoch: Option<String>,
    #[serde(default)]
    seq: Option<u64>,
    payload: Box<RawValue>,
}

/// Reading an envelope checks its version and source and types its payload; it does not
/// validate names or bounds (the codec's `decode_envelopes` does).
impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = OwnedRawEnvelope::deserialize(deserializer)?;
        let raw = RawEnvelope {
            version: raw.version.into(),
            cluster_id: raw.cluster_id.into(),
            source: raw.source.into(),
            ts_ms: raw.ts_ms,
            epoch: raw.epoch.map(Into::into),
            seq: raw.seq,
            payload: &raw.payload,
        };
        raw.into_envelope("").map_err(de::Error::custom)
    }
}

impl RawEnvelope<'_> {
    /// Checks version and source and parses the payload; `at` prefixes error paths (`[3].`).
    pub(crate) fn into_envelope(self, at: &str) -> Result<Envelope, DecodeError> {
        if self.version != ProtocolVersion::V1.as_str() {
            return Err(DecodeError::BadVersion(self.version.into_owned()));
        }
        let source: Source = self
            .source
            .parse()
            .map_err(|e: crate::source::UnknownSource| DecodeError::UnknownSource(e.0))?;
        let sequence = match (self.epoch, self.seq) {
            (Some(epoch), Some(seq)) => Some(Sequence {
                epoch: epoch.into_owned(),
                seq,
            }),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(DecodeError::Invalid {
                    field: format!("{at}epoch"),
                    reason: "missing: `seq` needs the `epoch` it counts in".to_owned(),
                });
            }
            (Some(_), None) => {
                return Err(DecodeError::Invalid {
                    field: format!("{at}seq"),
                    reason: "missing: an `epoch` needs its `seq`".to_owned(),
                });
            }
        };
        let json = self.payload.get();
        let payload = match Payload::from_json(source, json) {
            Ok(payload) => payload,
            // The fast parse failed: parse again, tracking the path, to say where.
            Err(_) => match Payload::from_json_with_path(source, json) {
                Err(e) => return Err(DecodeError::bad_json(&format!("{at}payload"), e)),
                Ok(payload) => payload,
            },
        };
        Ok(Envelope {
            version: ProtocolVersion::V1,
            cluster_id: self.cluster_id.into_owned(),
            ts_ms: self.ts_ms,
            sequence,
            payload,
        })
    }
}
