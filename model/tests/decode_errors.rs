//! Every kind of bad body gives its own typed error naming what is wrong.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use atlhyper_model::codec::{self, ContentEncoding, DecodeError, Limits, SizeKind};
use atlhyper_model::{Envelope, NodeMetricsSnapshot};
use serde_json::{Value, json};

const NOW_MS: i64 = 1_795_608_060_000;

fn pods_envelope() -> Value {
    let text = include_str!("fixtures/pod_list_snapshot.json");
    serde_json::from_str(text).unwrap()
}

fn decode(value: &Value) -> Result<Vec<Envelope>, DecodeError> {
    let body = serde_json::to_vec(value).unwrap();
    codec::decode_envelopes(&body, ContentEncoding::Identity, &Limits::default(), NOW_MS)
}

fn invalid_field(result: Result<Vec<Envelope>, DecodeError>) -> String {
    match result {
        Err(DecodeError::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn malformed_json_names_where() {
    let body = br#"{"version":"v1","cluster_id":"prod-eu","#;
    let err = codec::decode_envelopes(body, ContentEncoding::Identity, &Limits::default(), NOW_MS)
        .unwrap_err();
    assert!(matches!(err, DecodeError::BadJson { .. }), "{err:?}");
    assert_eq!(err.code(), "bad_json");
    assert_eq!(err.http_status(), 400);
}

#[test]
fn wrong_type_names_the_field_path() {
    let mut envelope = pods_envelope();
    envelope["payload"]["items"][2]["restarts"] = json!("many");
    match decode(&envelope) {
        Err(DecodeError::BadJson { path, .. }) => assert_eq!(path, "payload.items[2].restarts"),
        other => panic!("expected BadJson, got {other:?}"),
    }
    // Inside a batch the envelope's index comes first.
    let batch = json!([pods_envelope(), envelope]);
    match decode(&batch) {
        Err(DecodeError::BadJson { path, .. }) => {
            assert_eq!(path, "[1].payload.items[2].restarts")
        }
        other => panic!("expected BadJson, got {other:?}"),
    }
}

#[test]
fn missing_field_is_bad_json_at_the_object() {
    let mut envelope = pods_envelope();
    envelope["payload"]["items"][0]
        .as_object_mut()
        .unwrap()
        .remove("uid");
    match decode(&envelope) {
        Err(DecodeError::BadJson { path, message }) => {
            assert_eq!(path, "payload.items[0]");
            assert!(message.contains("uid"), "{message}");
        }
        other => panic!("expected BadJson, got {other:?}"),
    }
}

#[test]
fn unknown_source_is_its_own_error() {
    let mut envelope = pods_envelope();
    envelope["source"] = json!("secret_list_snapshot");
    match decode(&envelope) {
        Err(e @ DecodeError::UnknownSource(_)) => {
            assert_eq!(e.code(), "unknown_source");
            assert!(e.to_string().contains("secret_list_snapshot"));
        }
        other => panic!("expected UnknownSource, got {other:?}"),
    }
}

#[test]
fn wrong_version_is_rejected_before_the_payload_is_read() {
    let mut envelope = pods_envelope();
    envelope["version"] = json!("v2");
    envelope["payload"] = json!("not even an object");
    assert!(matches!(decode(&envelope), Err(DecodeError::BadVersion(v)) if v == "v2"));
}

#[test]
fn cluster_id_must_be_a_dns_label() {
    let mut envelope = pods_envelope();
    envelope["cluster_id"] = json!("Prod_EU");
    assert_eq!(invalid_field(decode(&envelope)), "cluster_id");
}

#[test]
fn timestamps_far_in_the_future_or_past_are_invalid() {
    let mut envelope = pods_envelope();
    // A clock hours or weeks ahead is skew, reported by the receiver, not refused.
    envelope["ts_ms"] = json!(NOW_MS + 30 * 86_400_000);
    assert!(decode(&envelope).is_ok());
    // Years ahead is a unit mistake (microseconds, say).
    envelope["ts_ms"] = json!(NOW_MS * 1_000);
    assert_eq!(invalid_field(decode(&envelope)), "ts_ms");
    envelope["ts_ms"] = json!(NOW_MS + 400 * 86_400_000);
    assert_eq!(invalid_field(decode(&envelope)), "ts_ms");
    envelope["ts_ms"] = json!(1_000);
    assert_eq!(invalid_field(decode(&envelope)), "ts_ms");
}

#[test]
fn object_names_are_checked_as_kubernetes_does() {
    let mut envelope = pods_envelope();
    envelope["payload"]["items"][1]["namespace"] = json!("Shop");
    assert_eq!(
        invalid_field(decode(&envelope)),
        "payload.items[1].namespace"
    );
    let mut envelope = pods_envelope();
    envelope["payload"]["items"][3]["name"] = json!("");
    assert_eq!(invalid_field(decode(&envelope)), "payload.items[3].name");
    let batch = json!([pods_envelope(), envelope]);
    assert_eq!(invalid_field(decode(&batch)), "[1].payload.items[3].name");
}

#[test]
fn list_sizes_are_bounded() {
    let mut envelope = pods_envelope();
    let pod = envelope["payload"]["items"][0].clone();
    envelope["payload"]["items"] = Value::Array(vec![pod; 11]);
    let limits = Limits {
        max_items: 10,
        ..Limits::default()
    };
    let body = serde_json::to_vec(&envelope).unwrap();
    let err =
        codec::decode_envelopes(&body, ContentEncoding::Identity, &limits, NOW_MS).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Invalid { field, .. } if field == "payload.items"),
        "{err:?}"
    );

    let batch = Value::Array(vec![pods_envelope(); 3]);
    let limits = Limits {
        max_envelopes: 2,
        ..Limits::default()
    };
    let body = serde_json::to_vec(&batch).unwrap();
    let err =
        codec::decode_envelopes(&body, ContentEncoding::Identity, &limits, NOW_MS).unwrap_err();
    assert!(matches!(err, DecodeError::Invalid { .. }), "{err:?}");
    assert!(matches!(
        decode(&json!([])),
        Err(DecodeError::Invalid { .. })
    ));
}

#[test]
fn body_that_is_neither_object_nor_array_is_bad_json() {
    for body in [&b""[..], b"42", b"\"v1\"", b"null", b"   "] {
        let err =
            codec::decode_envelopes(body, ContentEncoding::Identity, &Limits::default(), NOW_MS)
                .unwrap_err();
        assert!(
            matches!(err, DecodeError::BadJson { .. }),
            "{body:?}: {err:?}"
        );
    }
}

#[test]
fn invalid_utf8_is_bad_json() {
    let err = codec::decode_envelopes(
        b"{\"version\":\"v\xff1\"}",
        ContentEncoding::Identity,
        &Limits::default(),
        NOW_MS,
    )
    .unwrap_err();
    assert!(matches!(&err, DecodeError::BadJson { message, .. } if message.contains("UTF-8")));
}

#[test]
fn oversized_bodies_are_too_large_before_any_parsing() {
    let body = serde_json::to_vec(&pods_envelope()).unwrap();
    let limits = Limits {
        max_compressed_bytes: body.len() - 1,
        ..Limits::default()
    };
    let err =
        codec::decode_envelopes(&body, ContentEncoding::Identity, &limits, NOW_MS).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::TooLarge {
            kind: SizeKind::Compressed,
            ..
        }
    ));
    assert_eq!(err.http_status(), 413);

    // Plain bodies are held to the decompressed cap as well.
    let limits = Limits {
        max_decompressed_bytes: body.len() - 1,
        ..Limits::default()
    };
    let err =
        codec::decode_envelopes(&body, ContentEncoding::Identity, &limits, NOW_MS).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::TooLarge {
            kind: SizeKind::Decompressed,
            ..
        }
    ));
}

#[test]
fn truncated_and_corrupt_gzip_is_bad_gzip() {
    let gz = codec::encode_gzip(&pods_envelope(), 6);
    for cut in [5, gz.len() / 2, gz.len() - 4] {
        let err = codec::decode_envelopes(
            &gz[..cut],
            ContentEncoding::Gzip,
            &Limits::default(),
            NOW_MS,
        )
        .unwrap_err();
        assert!(
            matches!(err, DecodeError::BadGzip(_)),
            "cut at {cut}: {err:?}"
        );
    }
    let mut corrupt = gz.clone();
    corrupt[gz.len() / 2] ^= 0xff;
    let err = codec::decode_envelopes(&corrupt, ContentEncoding::Gzip, &Limits::default(), NOW_MS)
        .unwrap_err();
    assert!(matches!(err, DecodeError::BadGzip(_)), "{err:?}");
    let plain = serde_json::to_vec(&pods_envelope()).unwrap();
    let err = codec::decode_envelopes(&plain, ContentEncoding::Gzip, &Limits::default(), NOW_MS)
        .unwrap_err();
    assert!(matches!(err, DecodeError::BadGzip(_)), "{err:?}");
}

#[test]
fn content_encoding_header_is_parsed_strictly() {
    assert_eq!(
        ContentEncoding::from_header(None).unwrap(),
        ContentEncoding::Identity
    );
    assert_eq!(
        ContentEncoding::from_header(Some(" GZIP ")).unwrap(),
        ContentEncoding::Gzip
    );
    let err = ContentEncoding::from_header(Some("br")).unwrap_err();
    assert_eq!(err.http_status(), 415);
    assert_eq!(err.code(), "unsupported_encoding");
}

#[test]
fn node_metrics_bodies_decode_under_the_same_caps() {
    let envelope: Value =
        serde_json::from_str(include_str!("fixtures/metrics_snapshot.json")).unwrap();
    let snapshot = &envelope["payload"]["items"][0];
    let gz = codec::encode_gzip(snapshot, 1);
    let decoded: NodeMetricsSnapshot =
        codec::decode_json(&gz, ContentEncoding::Gzip, &Limits::default()).unwrap();
    assert_eq!(decoded.network[0].interface, "enp3s0");
    atlhyper_model::validate::node_metrics(&decoded, &Limits::default(), NOW_MS).unwrap();

    let mut bad = decoded.clone();
    bad.cpu.usage_percent = f64::NAN;
    let err = atlhyper_model::validate::node_metrics(&bad, &Limits::default(), NOW_MS).unwrap_err();
    assert_eq!(err.field, "cpu.usage_percent");
    let mut bad = decoded;
    bad.ts_ms = NOW_MS + 400 * 86_400_000;
    let err = atlhyper_model::validate::node_metrics(&bad, &Limits::default(), NOW_MS).unwrap_err();
    assert_eq!(err.field, "ts_ms");
}
