//! Bytes ⇄ envelopes: gzip and JSON with hard caps on both the compressed and the decompressed
//! size, so a gzip bomb is a `TooLarge` error and never an allocation past the cap.

use std::borrow::Cow;
use std::io::{self, Read, Write};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::envelope::{Envelope, FastEnvelope, RawEnvelope};
use crate::validate::{self, InvalidField};

/// The gzip level agents and nodemetrics push with. On a 5,000-pod list level 1 compresses 9.3×
/// at 440 MiB/s, level 6 14.8× at 195 MiB/s (`docs/performance.md`): an agent pushing early on
/// every change spends its CPU budget on level 6, so it takes level 1.
pub const DEFAULT_GZIP_LEVEL: u32 = 1;

/// Caps and bounds a receiver enforces while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest body accepted as received (gzip or not).
    pub max_compressed_bytes: usize,
    /// Largest body after decompression.
    pub max_decompressed_bytes: usize,
    /// Most envelopes in one batch.
    pub max_envelopes: usize,
    /// Most items in one payload.
    pub max_items: usize,
    /// How far in the future a timestamp may be, in milliseconds. Not a clock-skew check:
    /// receivers order and age what they take by their own receive time, so a sender's clock
    /// that runs ahead is reported, not refused. This only catches unit mistakes
    /// (microseconds, seconds × 1000 twice).
    pub max_future_skew_ms: i64,
}

impl Default for Limits {
    /// Master's defaults: 8 MiB compressed, 128 MiB decompressed.
    fn default() -> Self {
        Limits {
            max_compressed_bytes: 8 << 20,
            max_decompressed_bytes: 128 << 20,
            max_envelopes: 1_024,
            max_items: 200_000,
            max_future_skew_ms: 366 * 24 * 3_600_000,
        }
    }
}

/// Whether a `Content-Type` value says JSON (`application/json`, parameters such as
/// `charset` allowed, any case): what every receiver of pushes takes.
pub fn is_json_media_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
}

/// The `Content-Encoding` of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    /// As it is.
    Identity,
    /// gzip (`gzip` or `x-gzip`).
    Gzip,
}

impl ContentEncoding {
    /// Reads a `Content-Encoding` header value; no header means identity.
    ///
    /// # Errors
    /// [`DecodeError::UnsupportedEncoding`] for anything but identity and gzip.
    pub fn from_header(value: Option<&str>) -> Result<Self, DecodeError> {
        match value.map(str::trim) {
            None | Some("") => Ok(ContentEncoding::Identity),
            Some(v) if v.eq_ignore_ascii_case("identity") => Ok(ContentEncoding::Identity),
            Some(v) if v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip") => {
                Ok(ContentEncoding::Gzip)
            }
            Some(v) => Err(DecodeError::UnsupportedEncoding(v.to_owned())),
        }
    }
}

/// Which cap a body exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeKind {
    /// The body as sent.
    Compressed,
    /// The body after gzip.
    Decompressed,
}

/// Why a body could not be decoded. Each variant names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Past a size cap.
    #[error("body is larger than the {kind:?} cap of {limit} bytes")]
    TooLarge {
        /// Which cap.
        kind: SizeKind,
        /// The cap, in bytes.
        limit: usize,
    },
    /// gzip that does not decompress.
    #[error("body is not valid gzip: {0}")]
    BadGzip(#[source] io::Error),
    /// JSON that does not parse into the type.
    #[error("invalid JSON at `{path}`: {message}")]
    BadJson {
        /// Where, as a JSON path.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// A `source` this build does not know.
    #[error("unknown source `{0}`")]
    UnknownSource(String),
    /// A protocol version other than v1.
    #[error("unsupported protocol version `{0}` (this build speaks v1)")]
    BadVersion(String),
    /// A field whose value breaks a rule (a name, a time, a size).
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A `Content-Encoding` other than gzip or none.
    #[error("unsupported Content-Encoding `{0}` (use gzip or none)")]
    UnsupportedEncoding(String),
}

impl DecodeError {
    /// A stable snake_case code for error bodies and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "payload_too_large",
            DecodeError::BadGzip(_) => "bad_gzip",
            DecodeError::BadJson { .. } => "bad_json",
            DecodeError::UnknownSource(_) => "unknown_source",
            DecodeError::BadVersion(_) => "bad_version",
            DecodeError::Invalid { .. } => "invalid",
            DecodeError::UnsupportedEncoding(_) => "unsupported_encoding",
        }
    }

    /// The HTTP status a receiver answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            DecodeError::TooLarge { .. } => 413,
            DecodeError::UnsupportedEncoding(_) => 415,
            _ => 400,
        }
    }

    pub(crate) fn bad_json(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let inner = e.path().to_string();
        let path = match (prefix.is_empty(), inner.as_str()) {
            (_, ".") => prefix.to_owned(),
            (true, _) => inner,
            (false, p) if p.starts_with('[') => format!("{prefix}{p}"),
            (false, p) => format!("{prefix}.{p}"),
        };
        DecodeError::BadJson {
            path: if path.is_empty() {
                ".".to_owned()
            } else {
                path
            },
            message: e.into_inner().to_string(),
        }
    }
}

impl From<InvalidField> for DecodeError {
    fn from(e: InvalidField) -> Self {
        DecodeError::Invalid {
            field: e.field,
            reason: e.reason,
        }
    }
}

/// Returns the body as plain bytes: checked against the compressed cap, and inflated (if gzip)
/// in bounded steps that stop at the decompressed cap.
///
/// # Errors
/// [`DecodeError::TooLarge`] past either cap, [`DecodeError::BadGzip`] on a corrupt or truncated
/// stream.
pub fn decompress<'a>(
    body: &'a [u8],
    encoding: ContentEncoding,
    limits: &Limits,
) -> Result<Cow<'a, [u8]>, DecodeError> {
    if body.len() > limits.max_compressed_bytes {
        return Err(DecodeError::TooLarge {
            kind: SizeKind::Compressed,
            limit: limits.max_compressed_bytes,
        });
    }
    match encoding {
        ContentEncoding::Identity if body.len() > limits.max_decompressed_bytes => {
            Err(DecodeError::TooLarge {
                kind: SizeKind::Decompressed,
                limit: limits.max_decompressed_bytes,
            })
        }
        ContentEncoding::Identity => Ok(Cow::Borrowed(body)),
        ContentEncoding::Gzip => {
            inflate_capped(body, limits.max_decompressed_bytes).map(Cow::Owned)
        }
    }
}

/// Inflates at most `cap` bytes. The buffer never grows past `cap`: the size the gzip trailer
/// declares is not trusted.
fn inflate_capped(body: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    const CHUNK: usize = 64 << 10;
    let too_large = || DecodeError::TooLarge {
        kind: SizeKind::Decompressed,
        limit: cap,
    };
    let mut decoder = MultiGzDecoder::new(body);
    let mut out: Vec<u8> = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
    let mut chunk = [0u8; CHUNK];
    loop {
        let n = match decoder.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DecodeError::BadGzip(e)),
        };
        if out.len() + n > cap {
            return Err(too_large());
        }
        if out.capacity() - out.len() < n {
            let target = (out.capacity().saturating_mul(2))
                .max(out.len() + n)
                .min(cap);
            out.reserve_exact(target - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|e| DecodeError::BadJson {
        path: ".".to_owned(),
        message: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    })
}

/// Decodes a push body: one envelope or an array of them, checks version and source, types each
/// payload, and validates names, timestamps and sizes against `now_ms`.
///
/// # Errors
/// Any [`DecodeError`]; error paths name the envelope (`[2].payload.items[7].namespace`) when
/// the body is an array.
pub fn decode_envelopes(
    body: &[u8],
    encoding: ContentEncoding,
    limits: &Limits,
    now_ms: i64,
) -> Result<Vec<Envelope>, DecodeError> {
    let bytes = decompress(body, encoding, limits)?;
    let json = utf8(&bytes)?;
    let is_batch = match json.trim_start().as_bytes().first() {
        Some(b'[') => true,
        Some(b'{') => false,
        _ => {
            return Err(DecodeError::BadJson {
                path: ".".to_owned(),
                message: "expected an envelope object or an array of envelopes".to_owned(),
            });
        }
    };
    // One pass straight into typed payloads; only a failed body is read again, slowly, to
    // say exactly what is wrong.
    let fast = if is_batch {
        serde_json::from_str::<Vec<FastEnvelope>>(json)
            .map(|v| v.into_iter().map(|e| e.0).collect::<Vec<_>>())
    } else {
        serde_json::from_str::<FastEnvelope>(json).map(|e| vec![e.0])
    };
    let envelopes = match fast {
        Ok(envelopes) => envelopes,
        Err(fast_error) => {
            explain_failure(json, is_batch)?;
            // The careful reading found nothing wrong that the fast one did: report the latter.
            return Err(DecodeError::BadJson {
                path: ".".to_owned(),
                message: fast_error.to_string(),
            });
        }
    };
    if is_batch && envelopes.is_empty() {
        return Err(DecodeError::Invalid {
            field: ".".to_owned(),
            reason: "the batch holds no envelope".to_owned(),
        });
    }
    if envelopes.len() > limits.max_envelopes {
        return Err(DecodeError::Invalid {
            field: ".".to_owned(),
            reason: format!(
                "{} envelopes in one batch, at most {}",
                envelopes.len(),
                limits.max_envelopes
            ),
        });
    }
    for (i, envelope) in envelopes.iter().enumerate() {
        let checked = validate::envelope(envelope, limits, now_ms);
        match checked {
            Err(e) if is_batch => return Err(e.prefixed(&format!("[{i}]."))),
            Err(e) => return Err(e.into()),
            Ok(()) => {}
        }
    }
    Ok(envelopes)
}

/// Reads a body that failed to decode field by field, returning the precise error: the JSON
/// path of a bad value, an unknown source, a wrong version.
fn explain_failure(json: &str, is_batch: bool) -> Result<(), DecodeError> {
    if is_batch {
        let raws: Vec<RawEnvelope<'_>> = parse_borrowed(json)?;
        for (i, raw) in raws.into_iter().enumerate() {
            raw.into_envelope(&format!("[{i}]."))?;
        }
    } else {
        let raw: RawEnvelope<'_> = parse_borrowed(json)?;
        raw.into_envelope("")?;
    }
    Ok(())
}

/// Parses borrowed JSON; on failure parses again with path tracking, so the fast path pays
/// nothing for good error messages.
fn parse_borrowed<'a, T: serde::Deserialize<'a>>(json: &'a str) -> Result<T, DecodeError> {
    match serde_json::from_str(json) {
        Ok(value) => Ok(value),
        Err(_) => {
            let de = &mut serde_json::Deserializer::from_str(json);
            match serde_path_to_error::deserialize::<_, T>(de) {
                Ok(value) => Ok(value),
                Err(e) => Err(DecodeError::bad_json("", e)),
            }
        }
    }
}

/// Decodes any other JSON body (node-metrics pushes, control requests) under the same caps.
///
/// # Errors
/// [`DecodeError::TooLarge`], [`DecodeError::BadGzip`], [`DecodeError::BadJson`] naming the path,
/// [`DecodeError::UnsupportedEncoding`].
pub fn decode_json<T: DeserializeOwned>(
    body: &[u8],
    encoding: ContentEncoding,
    limits: &Limits,
) -> Result<T, DecodeError> {
    let bytes = decompress(body, encoding, limits)?;
    let json = utf8(&bytes)?;
    parse_borrowed(json)
}

/// Serializes a value (an envelope, a batch, anything of the protocol) to JSON.
pub fn encode_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("protocol types serialize infallibly (string keys only)")
}

/// Serializes a value straight into a gzip stream at `level` (0–9).
pub fn encode_gzip<T: Serialize + ?Sized>(value: &T, level: u32) -> Vec<u8> {
    // Up to 64 KiB of JSON is written out and gzipped with the thread's deflate state; past
    // that it streams through a deflater of its own, handed 64 KiB at a time (serde_json writes
    // many tiny pieces, several times slower to feed one by one).
    let mut small = SmallJson(Vec::new());
    if serde_json::to_writer(&mut small, value).is_ok() {
        return gzip(&small.0, level);
    }
    drop(small);
    let encoder = GzEncoder::new(Vec::new(), Compression::new(level.min(9)));
    let mut buffered = io::BufWriter::with_capacity(64 << 10, encoder);
    serde_json::to_writer(&mut buffered, value)
        .expect("protocol types serialize infallibly into memory");
    let encoder = buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("writing into a Vec cannot fail");
    encoder.finish().expect("writing into a Vec cannot fail")
}

/// A writer that refuses to grow past 64 KiB (then the value is streamed instead).
struct SmallJson(Vec<u8>);

impl Write for SmallJson {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() + buf.len() > 64 << 10 {
            return Err(io::Error::other("past 64 KiB"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Gzips bytes that are already JSON.
///
/// The deflate state (several hundred KiB, zeroed when made) is made once per thread and level
/// and reset for each body: an agent gzips a small delta ten times a second, and a master
/// re-gzips every plain-JSON delta it stores — a fresh state each time cost more than the
/// compression, and under thousands a second it was master's RSS (each state's pages taken
/// anew from the allocator).
pub fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    use flate2::{Compress, Crc, FlushCompress, Status};
    thread_local! {
        static STATES: std::cell::RefCell<Vec<(u32, Compress)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let level = level.min(9);
    // RFC 1952: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    let mut out = Vec::with_capacity(bytes.len() / 3 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    STATES.with_borrow_mut(|states| {
        let at = match states.iter().position(|(l, _)| *l == level) {
            Some(at) => at,
            None => {
                states.push((level, Compress::new(Compression::new(level), false)));
                states.len() - 1
            }
        };
        let deflate = &mut states[at].1;
        deflate.reset();
        loop {
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(4096));
            }
            let read = deflate.total_in() as usize;
            let status = deflate
                .compress_vec(&bytes[read..], &mut out, FlushCompress::Finish)
                .expect("deflating into memory cannot fail");
            if status == Status::StreamEnd {
                break;
            }
        }
    });
    let mut crc = Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE: the length modulo 2^32.
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}
