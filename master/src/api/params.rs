//! Query parameters: list filters, sorting, paging, time ranges. Unknown parameters and bad
//! values are 400s that name them.

use std::collections::HashMap;

use atlhyper_model::selector::LabelSelector;
use base64::Engine as _;

use super::ApiError;

/// Reads the query string into a map, refusing parameters outside `allowed` and repeats.
pub fn query_map(
    query: Option<&str>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut map = HashMap::new();
    let bytes = query.unwrap_or("").as_bytes();
    for (key, value) in form_urlencoded::parse(bytes) {
        if !allowed.contains(&&*key) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter `{key}` (known: {})",
                allowed.join(", ")
            )));
        }
        if map.insert(key.to_string(), value.into_owned()).is_some() {
            return Err(ApiError::bad_request(format!(
                "query parameter `{key}` is given twice"
            )));
        }
    }
    Ok(map)
}

/// Filters, sort and page of a list request.
#[derive(Debug, Default)]
pub struct ListParams {
    pub clusters: Vec<String>,
    pub namespace: Option<String>,
    pub node: Option<String>,
    /// Matches the status column or (pods) the phase, case-insensitively; commas for several.
    pub status: Vec<String>,
    pub label: LabelSelector,
    /// Case-insensitive substring of name, namespace, node, status or kind-specific text.
    pub q: Option<String>,
    pub sort: Option<(String, bool)>,
    pub limit: Option<usize>,
    pub offset: usize,
}

pub const LIST_PARAMS: &[&str] = &[
    "cluster",
    "namespace",
    "node",
    "status",
    "phase",
    "label",
    "q",
    "sort",
    "limit",
    "cursor",
];

/// Most items one page may hold.
pub const MAX_LIMIT: usize = 10_000;

fn list(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

impl ListParams {
    /// Reads the list parameters; `sorts` are the sort fields the kind knows.
    pub fn parse(query: Option<&str>, sorts: &[&str]) -> Result<Self, ApiError> {
        let map = query_map(query, LIST_PARAMS)?;
        let mut status = list(map.get("status"));
        status.extend(list(map.get("phase")));
        let sort = match map.get("sort").map(String::as_str) {
            None | Some("") => None,
            Some(s) => {
                let (field, descending) = match s.strip_prefix('-') {
                    Some(f) => (f, true),
                    None => (s, false),
                };
                if !sorts.contains(&field) {
                    return Err(ApiError::bad_request(format!(
                        "cannot sort on `{field}` (known: {}; prefix `-` for descending)",
                        sorts.join(", ")
                    )));
                }
                Some((field.to_owned(), descending))
            }
        };
        let limit = match map.get("limit") {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`limit` must be a number from 1 to {MAX_LIMIT}, not `{v}`"
                    )));
                }
            },
        };
        let offset = match map.get("cursor") {
            None => 0,
            Some(c) => decode_cursor(c)?,
        };
        Ok(ListParams {
            clusters: list(map.get("cluster")),
            namespace: map.get("namespace").filter(|v| !v.is_empty()).cloned(),
            node: map.get("node").filter(|v| !v.is_empty()).cloned(),
            status,
            label: LabelSelector::parse(map.get("label").map_or("", String::as_str))
                .map_err(|e| ApiError::bad_request(format!("`label`: {e}")))?,
            q: map
                .get("q")
                .filter(|v| !v.is_empty())
                .map(|v| v.to_lowercase()),
            sort,
            limit,
            offset,
        })
    }

    pub fn wants_cluster(&self, id: &str) -> bool {
        self.clusters.is_empty() || self.clusters.iter().any(|c| c == id)
    }
}

/// The opaque cursor of the page that starts at `offset`.
pub fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(cursor: &str) -> Result<usize, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::bad_request("`cursor` is not one this API gave out"))
}

/// A time: milliseconds since the epoch, `now`, or a duration before now (`-15m`).
pub fn time_ms(name: &str, value: &str, now_ms: i64) -> Result<i64, ApiError> {
    let out_of_range = || {
        ApiError::bad_request(format!(
            "`{name}`: `{value}` is out of range (from the Unix epoch to ten years ahead)"
        ))
    };
    let ms = if value == "now" {
        now_ms
    } else if let Some(ago) = value.strip_prefix('-') {
        let ago = humantime::parse_duration(ago)
            .map_err(|e| ApiError::bad_request(format!("`{name}`: `{value}`: {e}")))?;
        i64::try_from(ago.as_millis())
            .ok()
            .and_then(|ago| now_ms.checked_sub(ago))
            .ok_or_else(out_of_range)?
    } else {
        value.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "`{name}` must be milliseconds since the epoch, `now` or `-DURATION`, not `{value}`"
            ))
        })?
    };
    if !(0..=now_ms.saturating_add(MAX_SPAN_MS)).contains(&ms) {
        return Err(out_of_range());
    }
    Ok(ms)
}

/// The longest span a time or a step may cover: ten years.
const MAX_SPAN_MS: i64 = 10 * 366 * 86_400_000;

/// A duration: milliseconds, or with a unit (`30s`, `5m`); above zero, at most ten years.
pub fn duration_ms(name: &str, value: &str) -> Result<i64, ApiError> {
    let ms = match value.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => humantime::parse_duration(value)
            .map_err(|e| ApiError::bad_request(format!("`{name}`: `{value}`: {e}")))
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))?,
    };
    if !(1..=MAX_SPAN_MS).contains(&ms) {
        return Err(ApiError::bad_request(format!(
            "`{name}` must be above zero and at most ten years, not `{value}`"
        )));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_times_and_steps_are_refused_not_wrapped() {
        let now = 1_800_000_000_000;
        for (name, value) in [
            ("from", "-9223372036854775808"),
            ("from", "9223372036854775807"),
            ("from", "-1000000000years"),
            ("to", "-300000000000000000000ms"),
        ] {
            let e = time_ms(name, value, now).expect_err(value);
            assert!(e.message.contains(name), "{}", e.message);
        }
        assert_eq!(time_ms("from", "-1h", now).unwrap(), now - 3_600_000);
        assert_eq!(
            time_ms("from", "1700000000000", now).unwrap(),
            1_700_000_000_000
        );
        for value in ["9223372036854775807", "1000000000000years"] {
            duration_ms("step", value).expect_err(value);
        }
        assert_eq!(duration_ms("step", "1m").unwrap(), 60_000);
    }

    #[test]
    fn list_params_parse_and_name_what_is_wrong() {
        let p = ListParams::parse(
            Some("cluster=a,b&namespace=shop&status=Running,CrashLoopBackOff&label=app%3Dweb&q=Web&sort=-restarts&limit=5"),
            &["name", "restarts"],
        )
        .unwrap();
        assert_eq!(p.clusters, ["a", "b"]);
        assert_eq!(p.status, ["Running", "CrashLoopBackOff"]);
        assert_eq!(p.q.as_deref(), Some("web"));
        assert_eq!(p.sort, Some(("restarts".to_owned(), true)));
        assert_eq!(p.limit, Some(5));
        let cursor = encode_cursor(40);
        let p = ListParams::parse(Some(&format!("cursor={cursor}")), &[]).unwrap();
        assert_eq!(p.offset, 40);

        for (query, needle) in [
            ("colour=red", "unknown query parameter `colour`"),
            ("limit=0", "`limit`"),
            ("limit=ten", "`limit`"),
            ("sort=colour", "cannot sort on `colour`"),
            ("label=app%3D%28web", "`label`"),
            ("cursor=zzz", "`cursor`"),
            ("q=a&q=b", "given twice"),
        ] {
            let err = ListParams::parse(Some(query), &["name"]).unwrap_err();
            assert_eq!(err.status, 400, "{query}");
            assert!(err.message.contains(needle), "{query}: {}", err.message);
        }
    }

    #[test]
    fn times_and_durations() {
        let now = 1_000_000;
        assert_eq!(time_ms("from", "now", now).unwrap(), now);
        assert_eq!(time_ms("from", "-15m", now).unwrap(), now - 900_000);
        assert_eq!(time_ms("from", "123", now).unwrap(), 123);
        assert!(time_ms("from", "yesterday", now).is_err());
        assert_eq!(duration_ms("step", "30s").unwrap(), 30_000);
        assert_eq!(duration_ms("step", "500").unwrap(), 500);
        assert!(duration_ms("step", "0").is_err());
    }
}
