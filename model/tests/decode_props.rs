//! Property tests: whatever bytes arrive, `decode` returns a value or a typed error, never a
//! panic, and never more than the caps allow.

use atlhyper_model::codec::{self, ContentEncoding, DecodeError, Limits};
use proptest::prelude::*;

const NOW_MS: i64 = 1_795_608_060_000;
const FIXTURE: &str = include_str!("fixtures/pod_list_snapshot.json");

fn small_limits() -> Limits {
    Limits {
        max_compressed_bytes: 64 << 10,
        max_decompressed_bytes: 256 << 10,
        ..Limits::default()
    }
}

fn decode(body: &[u8], encoding: ContentEncoding) -> Result<usize, DecodeError> {
    codec::decode_envelopes(body, encoding, &small_limits(), NOW_MS).map(|v| v.len())
}

proptest! {
    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = decode(&body, ContentEncoding::Identity);
        let _ = decode(&body, ContentEncoding::Gzip);
    }

    #[test]
    fn random_bytes_behind_a_gzip_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..2048)
    ) {
        let mut body = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        body.extend_from_slice(&tail);
        prop_assert!(decode(&body, ContentEncoding::Gzip).is_err());
    }

    #[test]
    fn gzip_of_random_bytes_is_an_error_or_a_value(
        plain in proptest::collection::vec(any::<u8>(), 0..4096),
        level in 0u32..=9,
    ) {
        let gz = codec::gzip(&plain, level);
        let _ = decode(&gz, ContentEncoding::Gzip);
    }

    #[test]
    fn every_truncation_of_a_valid_body_is_an_error(cut_ratio in 0.0f64..1.0) {
        let plain = FIXTURE.as_bytes();
        // Cutting off only trailing whitespace leaves valid JSON: cut into the content.
        let content = FIXTURE.trim_end().len();
        let cut = ((content as f64) * cut_ratio) as usize;
        prop_assert!(decode(&plain[..cut], ContentEncoding::Identity).is_err());
        let gz = codec::gzip(plain, 6);
        let cut = ((gz.len() as f64) * cut_ratio) as usize;
        prop_assert!(cut < gz.len());
        prop_assert!(decode(&gz[..cut], ContentEncoding::Gzip).is_err());
    }

    #[test]
    fn flipped_bytes_in_a_valid_body_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut body = FIXTURE.as_bytes().to_vec();
        for (index, byte) in flips {
            let i = index.index(body.len());
            body[i] = byte;
        }
        if let Ok(envelopes) = codec::decode_envelopes(
            &body, ContentEncoding::Identity, &small_limits(), NOW_MS)
        {
            // What decodes must re-encode to something that decodes to the same.
            let again = codec::encode_json(&envelopes[0]);
            let back = codec::decode_envelopes(
                &again, ContentEncoding::Identity, &small_limits(), NOW_MS).unwrap();
            prop_assert_eq!(&back[0], &envelopes[0]);
        }
    }

    #[test]
    fn nesting_of_any_depth_is_an_error_not_a_stack_overflow(depth in 1usize..20_000) {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        prop_assert!(decode(nested.as_bytes(), ContentEncoding::Identity).is_err());
        let payload = format!(
            r#"{{"version":"v1","cluster_id":"a","source":"events","ts_ms":{NOW_MS},"payload":{{"items":{}{}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let result = decode(payload.as_bytes(), ContentEncoding::Identity);
        prop_assert!(result.is_err() || depth == 1, "depth {}: {:?}", depth, result);
    }
}

#[test]
fn a_huge_declared_size_in_the_gzip_trailer_is_not_trusted() {
    let mut gz = codec::gzip(FIXTURE.as_bytes(), 6);
    let n = gz.len();
    gz[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = decode(&gz, ContentEncoding::Gzip).unwrap_err();
    assert!(matches!(err, DecodeError::BadGzip(_)), "{err:?}");
}

#[test]
fn many_concatenated_gzip_members_still_stop_at_the_cap() {
    let member = codec::gzip(&vec![b' '; 100_000], 9);
    let body: Vec<u8> = std::iter::repeat_n(member, 20).flatten().collect();
    let err = decode(&body, ContentEncoding::Gzip).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge { .. }), "{err:?}");
}
