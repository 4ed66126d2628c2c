//! The golden fixtures are the protocol's documentation: each must decode, and encode back to
//! exactly the same JSON.

use std::fs;
use std::path::{Path, PathBuf};

use atlhyper_model::codec::{self, ContentEncoding, Limits};
use atlhyper_model::{
    AckBatch, Command, CommandSet, Envelope, Payload, PreEncodedEnvelope, Source, WatchRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

/// The fixtures' envelopes were taken at 2026-11-25T08:00:00Z; decode as if shortly after.
const NOW_MS: i64 = 1_795_608_000_000 + 60_000;

fn fixture(name: &str) -> (PathBuf, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, bytes)
}

fn as_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("fixture is JSON")
}

/// Decodes, re-encodes and compares with the file, value for value.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let (path, bytes) = fixture(name);
    let typed: T = codec::decode_json(&bytes, ContentEncoding::Identity, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let again = codec::encode_json(&typed);
    assert_eq!(
        as_value(&again),
        as_value(&bytes),
        "{name} does not round-trip exactly"
    );
    typed
}

#[test]
fn every_source_has_a_fixture_that_round_trips_exactly() {
    for source in Source::ALL {
        let name = format!("{}.json", source.as_str());
        let (_, bytes) = fixture(&name);
        let envelopes = codec::decode_envelopes(
            &bytes,
            ContentEncoding::Identity,
            &Limits::default(),
            NOW_MS,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(envelopes.len(), 1);
        let envelope = &envelopes[0];
        assert_eq!(envelope.source(), source, "{name} carries another source");
        assert!(!envelope.payload.is_empty(), "{name} has no items");
        assert_eq!(
            as_value(&codec::encode_json(envelope)),
            as_value(&bytes),
            "{name} does not round-trip exactly"
        );

        // The same through gzip, and through serde's own Deserialize.
        let gz = codec::encode_gzip(envelope, codec::DEFAULT_GZIP_LEVEL);
        let back = codec::decode_envelopes(&gz, ContentEncoding::Gzip, &Limits::default(), NOW_MS)
            .unwrap();
        assert_eq!(&back[0], envelope);
        let via_serde: Envelope = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(&via_serde, envelope);
    }
}

#[test]
fn a_pre_encoded_envelope_writes_the_same_bytes_as_the_typed_one() {
    for source in Source::ALL {
        let (_, bytes) = fixture(&format!("{}.json", source.as_str()));
        let envelope: Envelope = serde_json::from_slice(&bytes).unwrap();
        fn raw<T: Serialize>(items: &[T]) -> Vec<Box<RawValue>> {
            items
                .iter()
                .map(|item| serde_json::value::to_raw_value(item).unwrap())
                .collect()
        }
        let mut deletes: &[String] = &[];
        let items = match &envelope.payload {
            Payload::Events(v) => raw(v),
            Payload::MetricsSnapshot(v) => raw(v),
            Payload::PodListSnapshot(v) => raw(v),
            Payload::NodeListSnapshot(v) => raw(v),
            Payload::ServiceListSnapshot(v) => raw(v),
            Payload::NamespaceListSnapshot(v) => raw(v),
            Payload::IngressListSnapshot(v) => raw(v),
            Payload::DeploymentListSnapshot(v) => raw(v),
            Payload::ConfigmapListSnapshot(v) => raw(v),
            Payload::PodDelta(d) => (raw(&d.upserts), deletes = &d.deletes).0,
            Payload::NodeDelta(d) => (raw(&d.upserts), deletes = &d.deletes).0,
            Payload::ServiceDelta(d) => (raw(&d.upserts), deletes = &d.deletes).0,
            Payload::NamespaceDelta(d) => (raw(&d.upserts), deletes = &d.deletes).0,
            Payload::IngressDelta(d) => (raw(&d.upserts), deletes = &d.deletes).0,
            Payload::DeploymentDelta(d) => (raw(&d.upserts), deletes = &d.deletes).0,
            Payload::ConfigmapDelta(d) => (raw(&d.upserts), deletes = &d.deletes).0,
        };
        let pre = PreEncodedEnvelope {
            cluster_id: &envelope.cluster_id,
            ts_ms: envelope.ts_ms,
            source,
            sequence: envelope.sequence.as_ref(),
            items: items.iter().map(AsRef::as_ref),
            deletes,
        };
        assert_eq!(
            String::from_utf8(codec::encode_json(&pre)).unwrap(),
            String::from_utf8(codec::encode_json(&envelope)).unwrap(),
            "{source:?}"
        );
    }
}

#[test]
fn every_source_decodes_as_one_batch() {
    let envelopes: Vec<Value> = Source::ALL
        .iter()
        .map(|s| as_value(&fixture(&format!("{}.json", s.as_str())).1))
        .collect();
    let body = serde_json::to_vec(&envelopes).unwrap();
    let gz = codec::gzip(&body, 6);
    let decoded =
        codec::decode_envelopes(&gz, ContentEncoding::Gzip, &Limits::default(), NOW_MS).unwrap();
    let sources: Vec<Source> = decoded.iter().map(Envelope::source).collect();
    assert_eq!(sources, Source::ALL);
}

#[test]
fn a_delta_carries_its_numbering_and_one_without_it_is_refused() {
    let (_, bytes) = fixture("pod_delta.json");
    let envelopes = codec::decode_envelopes(
        &bytes,
        ContentEncoding::Identity,
        &Limits::default(),
        NOW_MS,
    )
    .unwrap();
    let sequence = envelopes[0].sequence.clone().unwrap();
    assert_eq!(
        (sequence.epoch.as_str(), sequence.seq),
        ("q7Xc2mJ9aT4bR1sW", 4711)
    );
    for (edit, field) in [
        (r#""epoch": "q7Xc2mJ9aT4bR1sW","#, "epoch"),
        (r#""seq": 4711,"#, "epoch"),
    ] {
        let text = String::from_utf8(bytes.clone()).unwrap().replace(edit, "");
        let err = codec::decode_envelopes(
            text.as_bytes(),
            ContentEncoding::Identity,
            &Limits::default(),
            NOW_MS,
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid", "{err}");
        assert!(err.to_string().contains(field), "{err}");
    }
    // A key that is not `namespace/name`, and an epoch of the wrong shape.
    for (from, to, field) in [
        (
            "shop/cart-7d9f8-old",
            "cart-7d9f8-old",
            "payload.deletes[0]",
        ),
        ("q7Xc2mJ9aT4bR1sW", "not an epoch", "epoch"),
    ] {
        let text = String::from_utf8(bytes.clone()).unwrap().replace(from, to);
        let err = codec::decode_envelopes(
            text.as_bytes(),
            ContentEncoding::Identity,
            &Limits::default(),
            NOW_MS,
        )
        .unwrap_err();
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn the_receipt_and_the_stream_delta_round_trip_exactly() {
    let receipt: atlhyper_model::api::IngestReceipt = round_trip("ingest_receipt.json");
    let resync = &receipt.accepted[1];
    assert!(resync.resync);
    assert_eq!(resync.expected_seq, Some(4702));
    assert!(!receipt.accepted[0].resync);
    let delta: atlhyper_model::api::StreamDelta<Value> = round_trip("stream_delta.json");
    assert_eq!(delta.source, Source::PodListSnapshot);
    assert_eq!(delta.deletes, ["shop/cart-7d9f8-old"]);
    assert!(!delta.relist);
}

#[test]
fn commands_of_every_kind_round_trip_exactly() {
    let commands: Vec<Command> = round_trip("commands.json");
    let mut kinds: Vec<&str> = commands.iter().map(|c| c.kind.name()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "cordon",
            "delete_pod",
            "describe",
            "drain",
            "pod_logs",
            "restart_pod",
            "rollout_restart",
            "scale",
            "uncordon",
            "update_image"
        ]
    );
}

#[test]
fn command_set_ack_and_watch_request_round_trip_exactly() {
    let set: CommandSet = round_trip("command_set.json");
    assert_eq!(set.commands.len(), 2);
    let acks: AckBatch = round_trip("ack.json");
    assert!(acks.results.iter().any(|a| a.output.is_some()));
    let watch: WatchRequest = round_trip("watch_request.json");
    assert_eq!(watch.rv, 16);
}
