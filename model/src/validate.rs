//! Checks on decoded data: names as Kubernetes allows them, timestamps within sane bounds, sizes
//! within limits. Every error names the field it is about.

use crate::codec::{DecodeError, Limits};
use crate::delta::Delta;
use crate::envelope::{Envelope, Payload};
use crate::metrics::NodeMetricsSnapshot;
use crate::resources::{ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service};

/// 2020-01-01T00:00:00Z: no envelope from a running agent is older than this.
pub const MIN_TS_MS: i64 = 1_577_836_800_000;

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {reason}")]
pub struct InvalidField {
    /// The field, as a JSON path (`payload.items[3].name`).
    pub field: String,
    /// The rule it breaks.
    pub reason: String,
}

impl InvalidField {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error, with the field's path under `prefix` (e.g. `[2].`).
    pub(crate) fn prefixed(self, prefix: &str) -> DecodeError {
        DecodeError::Invalid {
            field: format!("{prefix}{}", self.field),
            reason: self.reason,
        }
    }
}

/// A DNS-1123 label: at most 63 lowercase alphanumerics or `-`, starting and ending
/// alphanumeric. What Kubernetes requires of namespaces, and what we require of cluster ids.
///
/// # Errors
/// A reason the value is not a label.
pub fn dns1123_label(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if value.len() > 63 {
        return Err(format!("{} characters, at most 63", value.len()));
    }
    let bytes = value.as_bytes();
    if let Some(c) = bytes
        .iter()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || **c == b'-'))
    {
        return Err(format!(
            "`{}` is not allowed (lowercase letters, digits and '-' only)",
            char::from(*c).escape_default()
        ));
    }
    if bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
        return Err("must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// A DNS-1123 subdomain: at most 253 characters, dot-separated labels. What Kubernetes requires
/// of most object names (pods, nodes, deployments, config maps, …).
///
/// # Errors
/// A reason the value is not a subdomain.
pub fn dns1123_subdomain(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if value.len() > 253 {
        return Err(format!("{} characters, at most 253", value.len()));
    }
    for label in value.split('.') {
        dns1123_label(label).map_err(|reason| {
            if label.is_empty() {
                "must not have an empty part between dots".to_owned()
            } else {
                reason
            }
        })?;
    }
    Ok(())
}

fn check(field: impl FnOnce() -> String, result: Result<(), String>) -> Result<(), InvalidField> {
    result.map_err(|reason| InvalidField::new(field(), reason))
}

fn timestamp(field: &str, ts_ms: i64, limits: &Limits, now_ms: i64) -> Result<(), InvalidField> {
    if ts_ms < MIN_TS_MS {
        return Err(InvalidField::new(
            field,
            format!("{ts_ms} is before 2020-01-01 (milliseconds since the Unix epoch expected)"),
        ));
    }
    if ts_ms > now_ms.saturating_add(limits.max_future_skew_ms) {
        return Err(InvalidField::new(
            field,
            format!(
                "{ts_ms} is {} days in the future (at most {} days ahead: milliseconds since \
                 the Unix epoch expected)",
                (ts_ms - now_ms) / 86_400_000,
                limits.max_future_skew_ms / 86_400_000
            ),
        ));
    }
    Ok(())
}

/// Checks a container image reference as the distribution grammar has it (what the container
/// runtime will pull): `[domain[:port]/]path[:tag][@algorithm:hex]`, path components lowercase
/// letters and digits joined by `.`, `_`, `__` or dashes, a tag of at most 128 word characters,
/// dots and dashes.
///
/// # Errors
/// A message naming what is wrong.
pub fn image_reference(image: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "`{}` is not an image reference: {why}",
            image.escape_debug()
        ))
    };
    if image.is_empty() || image.len() > 1_024 {
        return bad("it must have 1 to 1024 characters");
    }
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest {
        let Some((algorithm, hex)) = digest.split_once(':') else {
            return bad("a digest is ALGORITHM:HEX");
        };
        if algorithm.is_empty()
            || !algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
            || hex.len() < 32
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return bad("a digest is ALGORITHM:HEX with at least 32 lowercase hex digits");
        }
    }
    let (name, tag) = match rest.rfind(':') {
        Some(at) if !rest[at + 1..].contains('/') => (&rest[..at], Some(&rest[at + 1..])),
        _ => (rest, None),
    };
    if let Some(tag) = tag {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let bytes = tag.as_bytes();
        if bytes.is_empty()
            || bytes.len() > 128
            || !word(bytes[0])
            || !bytes.iter().all(|b| word(*b) || *b == b'.' || *b == b'-')
        {
            return bad(
                "a tag is 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            );
        }
    }
    if name.is_empty() || name.len() > 255 {
        return bad("the name must have 1 to 255 characters");
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let first = components[0];
    if components.len() > 1 && (first.contains(['.', ':']) || first == "localhost") {
        let (host, port) = first.split_once(':').unwrap_or((first, ""));
        let host_ok = host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if !host_ok
            || !port.bytes().all(|b| b.is_ascii_digit())
            || (first.contains(':') && port.is_empty())
        {
            return bad("the registry must be a host name with an optional :port");
        }
        components.remove(0);
    }
    for component in components {
        if !path_component(component) {
            return bad(
                "each path component is lowercase letters and digits joined by `.`, `_`, `__` or dashes",
            );
        }
    }
    Ok(())
}

/// `[a-z0-9]+` runs joined by one separator each: `.`, `_`, `__` or any number of `-`.
fn path_component(component: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        if !(matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod image_tests {
    use super::image_reference;

    #[test]
    fn image_references_are_checked_as_the_distribution_grammar_has_them() {
        for good in [
            "nginx",
            "nginx:1.27",
            "library/nginx:1.27-alpine",
            "ghcr.io/atlhyper/agent:v0.1.0",
            "registry.local:5000/team/app_name.x:latest",
            "busybox@sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c",
            "localhost/app:1",
        ] {
            assert_eq!(image_reference(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "nginx\0",
            "UPPER/CASE::@@bad",
            "nginx:",
            "nginx:bad tag",
            "-leading/dash",
            "a//b",
            "nginx@sha256:short",
            &format!("nginx:{}", "t".repeat(129)),
        ] {
            assert!(image_reference(bad).is_err(), "{bad:?}");
        }
    }
}

/// Checks a name people read in lists and audit records (a token's, a cluster's display name):
/// 1 to 64 letters, digits, spaces and `-_.@+`, no space at either end. No `:` (so nothing
/// passes for `cluster:ID` or `local:…`), no control or invisible format characters (zero-width,
/// bidi overrides) that would make two names look alike or rewrite a terminal.
///
/// # Errors
/// A message saying what is wrong.
pub fn display_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if !(1..=64).contains(&chars) {
        return Err(format!("must be 1 to 64 characters, not {chars}"));
    }
    if name.trim() != name {
        return Err("must not start or end with a space".to_owned());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '@' | '+')))
    {
        return Err(format!(
            "may hold letters, digits, spaces and -_.@+ only, not {:?}",
            bad
        ));
    }
    Ok(())
}

/// Where an object sits in a payload (`payload.items[3]`), written out only for an error.
#[derive(Debug, Clone, Copy)]
struct At<'a> {
    list: &'a str,
    i: usize,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "payload.{}[{}]", self.list, self.i)
    }
}

/// Checks an object's namespace (a label) and name (a subdomain); `at` is its path.
fn namespaced(at: At<'_>, namespace: &str, name: &str) -> Result<(), InvalidField> {
    check(|| format!("{at}.namespace"), dns1123_label(namespace))?;
    check(|| format!("{at}.name"), dns1123_subdomain(name))
}

fn cluster_scoped(at: At<'_>, name: &str) -> Result<(), InvalidField> {
    check(|| format!("{at}.name"), dns1123_subdomain(name))
}

/// The names every listed object must have right; `at` is its path (`payload.items[3]`).
trait Named {
    fn check_names(&self, at: At<'_>) -> Result<(), InvalidField>;
    /// Lives in a namespace: its key is `namespace/name`.
    const NAMESPACED: bool = true;
}

impl Named for Pod {
    fn check_names(&self, at: At<'_>) -> Result<(), InvalidField> {
        namespaced(at, &self.namespace, &self.name)?;
        match &self.node {
            Some(node) => check(|| format!("{at}.node"), dns1123_subdomain(node)),
            None => Ok(()),
        }
    }
}

impl Named for Node {
    fn check_names(&self, at: At<'_>) -> Result<(), InvalidField> {
        cluster_scoped(at, &self.name)
    }
    const NAMESPACED: bool = false;
}

impl Named for Namespace {
    fn check_names(&self, at: At<'_>) -> Result<(), InvalidField> {
        check(|| format!("{at}.name"), dns1123_label(&self.name))
    }
    const NAMESPACED: bool = false;
}

macro_rules! namespaced_kinds {
    ($($ty:ty),*) => {$(
        impl Named for $ty {
            fn check_names(&self, at: At<'_>) -> Result<(), InvalidField> {
                namespaced(at, &self.namespace, &self.name)
            }
        }
    )*};
}
namespaced_kinds!(Event, Service, Ingress, Deployment, ConfigMap);

fn list<T: Named>(items: &[T]) -> Result<(), InvalidField> {
    items
        .iter()
        .enumerate()
        .try_for_each(|(i, item)| item.check_names(At { list: "items", i }))
}

/// A delta's upserts as list items; its deletes as keys of the kind (`namespace/name`, or
/// `name`).
fn delta<T: Named>(delta: &Delta<T>) -> Result<(), InvalidField> {
    delta
        .upserts
        .iter()
        .enumerate()
        .try_for_each(|(i, item)| item.check_names(At { list: "upserts", i }))?;
    delta.deletes.iter().enumerate().try_for_each(|(i, key)| {
        let at = || format!("payload.deletes[{i}]");
        if T::NAMESPACED {
            let Some((namespace, name)) = key.split_once('/') else {
                return Err(InvalidField::new(
                    at(),
                    format!("`{key}` is not a `namespace/name` key"),
                ));
            };
            check(at, dns1123_label(namespace))?;
            check(at, dns1123_subdomain(name))
        } else {
            check(at, dns1123_subdomain(key))
        }
    })
}

/// An epoch: what an agent draws at start, 1–64 letters, digits, `-` and `_`.
fn epoch(epoch: &str) -> Result<(), String> {
    if epoch.is_empty() || epoch.len() > 64 {
        return Err(format!("{} characters, 1–64 allowed", epoch.len()));
    }
    match epoch
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        Some(bad) => Err(format!(
            "may hold letters, digits, - and _ only, not {bad:?}"
        )),
        None => Ok(()),
    }
}

/// Validates a decoded envelope: cluster id, timestamp, numbering, payload size, and every
/// item's names.
///
/// # Errors
/// The first [`InvalidField`], with its path from the envelope (`payload.items[3].namespace`).
pub fn envelope(envelope: &Envelope, limits: &Limits, now_ms: i64) -> Result<(), InvalidField> {
    check(
        || "cluster_id".to_owned(),
        dns1123_label(&envelope.cluster_id),
    )?;
    timestamp("ts_ms", envelope.ts_ms, limits, now_ms)?;
    let source = envelope.source();
    match &envelope.sequence {
        Some(sequence) if source.list().is_some() => {
            check(|| "epoch".to_owned(), epoch(&sequence.epoch))?;
        }
        Some(_) => {
            return Err(InvalidField::new(
                "epoch",
                format!("`{source}` is not numbered: only lists and deltas carry epoch and seq"),
            ));
        }
        None if source.is_delta() => {
            return Err(InvalidField::new(
                "epoch",
                "missing: a delta carries the `epoch` and `seq` of its agent's numbering",
            ));
        }
        None => {}
    }
    if envelope.payload.len() > limits.max_items {
        return Err(InvalidField::new(
            if source.is_delta() {
                "payload.upserts"
            } else {
                "payload.items"
            },
            format!(
                "{} items, at most {}",
                envelope.payload.len(),
                limits.max_items
            ),
        ));
    }
    match &envelope.payload {
        Payload::Events(items) => list(items),
        Payload::MetricsSnapshot(items) => items.iter().enumerate().try_for_each(|(i, m)| {
            node_metrics(m, limits, now_ms).map_err(|e| InvalidField {
                field: format!("payload.items[{i}].{}", e.field),
                reason: e.reason,
            })
        }),
        Payload::PodListSnapshot(items) => list(items),
        Payload::NodeListSnapshot(items) => list(items),
        Payload::ServiceListSnapshot(items) => list(items),
        Payload::NamespaceListSnapshot(items) => list(items),
        Payload::IngressListSnapshot(items) => list(items),
        Payload::DeploymentListSnapshot(items) => list(items),
        Payload::ConfigmapListSnapshot(items) => list(items),
        Payload::PodDelta(d) => delta(d),
        Payload::NodeDelta(d) => delta(d),
        Payload::ServiceDelta(d) => delta(d),
        Payload::NamespaceDelta(d) => delta(d),
        Payload::IngressDelta(d) => delta(d),
        Payload::DeploymentDelta(d) => delta(d),
        Payload::ConfigmapDelta(d) => delta(d),
    }
}

/// Validates one node's sample: node name, timestamp, and no negative or non-finite figure.
///
/// # Errors
/// The first [`InvalidField`], with its path inside the snapshot.
pub fn node_metrics(
    snapshot: &NodeMetricsSnapshot,
    limits: &Limits,
    now_ms: i64,
) -> Result<(), InvalidField> {
    check(|| "node".to_owned(), dns1123_subdomain(&snapshot.node))?;
    timestamp("ts_ms", snapshot.ts_ms, limits, now_ms)?;
    let cpu = &snapshot.cpu;
    let figures = [
        ("cpu.usage_percent", cpu.usage_percent),
        ("cpu.load1", cpu.load1),
        ("cpu.load5", cpu.load5),
        ("cpu.load15", cpu.load15),
    ];
    for (field, value) in figures {
        if !value.is_finite() || value < 0.0 {
            return Err(InvalidField::new(
                field,
                format!("{value} is not a figure ≥ 0"),
            ));
        }
    }
    if let Some(i) = cpu
        .per_core_percent
        .iter()
        .position(|v| !v.is_finite() || *v < 0.0)
    {
        return Err(InvalidField::new(
            format!("cpu.per_core_percent[{i}]"),
            "not a figure ≥ 0",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_dns1123() {
        for ok in ["a", "prod-eu", "x1", &"a".repeat(63)] {
            assert_eq!(dns1123_label(ok), Ok(()), "{ok}");
        }
        for bad in ["", "-a", "a-", "Prod", "a_b", "a.b", &"a".repeat(64), "ü"] {
            assert!(dns1123_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subdomains_are_dotted_labels() {
        for ok in ["kube-root-ca.crt", "web-7d9f8-abcde", "node-1.example.com"] {
            assert_eq!(dns1123_subdomain(ok), Ok(()), "{ok}");
        }
        for bad in ["", ".a", "a..b", "a.", "A.b", &"a.".repeat(127)] {
            assert!(dns1123_subdomain(bad).is_err(), "{bad}");
        }
    }
}
