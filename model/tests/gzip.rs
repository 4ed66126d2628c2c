//! Gzip as the agent sends it and master stores it: every body, small or big, repeated on one
//! thread's reused deflate state, reads back whole with a standard gzip reader (and `gunzip`'s
//! framing: CRC and length).

use std::io::Read as _;

use atlhyper_model::codec;

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip stream, its CRC and length checked");
    out
}

/// Bytes that compress badly (a xorshift stream): the output outgrows its first guess.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn bodies_one_after_another_read_back_whole_at_every_level() {
    let json =
        serde_json::to_vec(&serde_json::json!({"pods": (0..5_000).collect::<Vec<_>>()})).unwrap();
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"{}".to_vec(),
        json,
        noise(300_000),
        b"[1,2,3]".to_vec(),
    ];
    for level in [1, 6, 9] {
        for _round in 0..2 {
            for body in &bodies {
                assert_eq!(gunzip(&codec::gzip(body, level)), *body, "level {level}");
            }
        }
    }
}

#[test]
fn values_small_and_past_64_kib_encode_to_their_json() {
    let small = serde_json::json!({"name": "web-1", "restarts": 3});
    let big =
        serde_json::json!({"items": (0..40_000).map(|i| format!("pod-{i}")).collect::<Vec<_>>()});
    for value in [small, big] {
        let gz = codec::encode_gzip(&value, codec::DEFAULT_GZIP_LEVEL);
        assert_eq!(gunzip(&gz), serde_json::to_vec(&value).unwrap());
    }
}
