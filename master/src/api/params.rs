//! Query parameters: list filters, sorting, paging, time ranges. Unknown parameters and bad
//! values are 400s that name them.

use atlhyper_model::selector::LabelSelector;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ApiError;

/// The query string as `T`, whose fields are the parameters an endpoint knows (every field an
/// `Option<String>`, `T` denying unknown fields): a parameter it does not know or one given
/// twice is a 400 naming it; the values' own checks stay with the handler, which names them.
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    let mut map = serde_json::Map::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let previous = map.insert(
            key.to_string(),
            serde_json::Value::String(value.into_owned()),
        );
        if previous.is_some() {
            return Err(ApiError::bad_request(format!(
                "query parameter `{key}` is given twice"
            )));
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
        // serde: "unknown field `colour`, expected one of `a`, `b`, `c`" (`a` or `b`; `a`;
        // "there are no fields").
        let text = e.to_string();
        match text.strip_prefix("unknown field ") {
            Some(rest) => {
                let (name, known) = rest.split_once(", ").unwrap_or((rest, ""));
                let known = known
                    .strip_prefix("expected one of ")
                    .or_else(|| known.strip_prefix("expected "))
                    .map_or_else(
                        || "none".to_owned(),
                        |k| k.replace('`', "").replace(" or ", ", "),
                    );
                ApiError::bad_request(format!("unknown query parameter {name} (known: {known})"))
            }
            None => ApiError::bad_request(format!("query: {text}")),
        }
    })
}

/// A query string as `T` ([`parse_query`]): the one way a handler reads its parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query()).map(Query)
    }
}

/// An endpoint that takes no parameter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

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

/// A list's parameters as they come.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    cluster: Option<String>,
    namespace: Option<String>,
    node: Option<String>,
    status: Option<String>,
    phase: Option<String>,
    label: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

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
        let q: ListQuery = parse_query(query)?;
        let mut status = list(q.status.as_ref());
        status.extend(list(q.phase.as_ref()));
        let sort = match q.sort.as_deref() {
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
        let limit = match &q.limit {
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
        let offset = match &q.cursor {
            None => 0,
            Some(c) => decode_cursor(c)?,
        };
        Ok(ListParams {
            clusters: list(q.cluster.as_ref()),
            namespace: q.namespace.filter(|v| !v.is_empty()),
            node: q.node.filter(|v| !v.is_empty()),
            status,
            label: LabelSelector::parse(q.label.as_deref().unwrap_or(""))
                .map_err(|e| ApiError::bad_request(format!("`label`: {e}")))?,
            q: q.q.filter(|v| !v.is_empty()).map(|v| v.to_lowercase()),
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
    fn a_typed_query_names_what_it_does_not_know_and_what_repeats() {
        let err = parse_query::<NoParams>(Some("x=1")).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.message, "unknown query parameter `x` (known: none)");
        assert!(parse_query::<NoParams>(None).is_ok());
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Two {
            #[allow(dead_code)]
            a: Option<String>,
            #[allow(dead_code)]
            b: Option<String>,
        }
        let err = parse_query::<Two>(Some("a=1&c=2")).unwrap_err();
        assert_eq!(err.message, "unknown query parameter `c` (known: a, b)");
        let err = parse_query::<Two>(Some("a=1&a=2")).unwrap_err();
        assert!(err.message.contains("given twice"), "{}", err.message);
        let two = parse_query::<Two>(Some("b=x%20y")).unwrap();
        assert_eq!(two.b.as_deref(), Some("x y"));
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
