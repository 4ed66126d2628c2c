//! Objects: list, get, create, replace, patch, delete, and the subresources, for every kind,
//! routed from the URL as the API server lays it out.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

use super::ApiState;
use super::discovery;
use super::subresources;
use super::table::{IncludeObject, Printable, TableWriter};
use crate::kinds::ResourceKind;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use crate::store::{Filter, Key, Stored};
use crate::with_kind;

/// What a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: ResourceKind,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// One request, decoded.
pub struct Call {
    pub method: Method,
    pub headers: HeaderMap,
    pub query: HashMap<String, String>,
    pub body: Body,
}

impl Call {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }

    pub fn wants_table(&self) -> bool {
        self.headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("as=Table"))
    }

    /// The body, capped.
    pub async fn bytes(self, limit: usize) -> ApiResult<(HeaderMap, Bytes)> {
        let headers = self.headers;
        let bytes = axum::body::to_bytes(self.body, limit)
            .await
            .map_err(|_| ApiError::too_large(limit))?;
        Ok((headers, bytes))
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Call {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(&mut parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()).into_response())?;
        Ok(Call {
            method: parts.method,
            headers: parts.headers,
            query,
            body,
        })
    }
}

pub async fn core(State(state): State<ApiState>, Path(rest): Path<String>, call: Call) -> Response {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["v1"] => axum::Json(discovery::resource_list("")).into_response(),
        ["v1", rest @ ..] => route(state, "", rest, call).await,
        _ => ApiError::no_route(&format!("/api/{rest}")).into_response(),
    }
}

pub async fn grouped(
    State(state): State<ApiState>,
    Path(rest): Path<String>,
    call: Call,
) -> Response {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [group] if discovery::serves_group(group) => {
            let gv = serde_json::json!({"groupVersion": format!("{group}/v1"), "version": "v1"});
            axum::Json(serde_json::json!({
                "kind": "APIGroup", "apiVersion": "v1", "name": group,
                "versions": [gv.clone()], "preferredVersion": gv,
            }))
            .into_response()
        }
        [group, "v1"] if discovery::serves_group(group) => {
            axum::Json(discovery::resource_list(group)).into_response()
        }
        [group, "v1", rest @ ..] if discovery::serves_group(group) => {
            route(state, group, rest, call).await
        }
        _ => ApiError::no_route(&format!("/apis/{rest}")).into_response(),
    }
}

/// Resolves the path after `/api/v1` or `/apis/{group}/v1`.
pub fn parse_target(group: &str, segments: &[&str]) -> Option<Target> {
    let kind = |plural: &str| ResourceKind::from_plural(group, plural);
    let target = |kind, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        Some(Target {
            kind,
            namespace: namespace.map(str::to_owned),
            name: name.map(str::to_owned),
            subresource: sub.map(str::to_owned),
        })
    };
    match segments {
        ["namespaces", ns, plural, rest @ ..] if kind(plural).is_some_and(|k| k.namespaced()) => {
            let k = kind(plural)?;
            match rest {
                [] => target(k, Some(ns), None, None),
                [name] => target(k, Some(ns), Some(name), None),
                [name, sub] => target(k, Some(ns), Some(name), Some(sub)),
                _ => None,
            }
        }
        [plural] => target(kind(plural)?, None, None, None),
        [plural, name] => {
            let k = kind(plural)?;
            (!k.namespaced()).then_some(())?;
            target(k, None, Some(name), None)
        }
        [plural, name, sub] => {
            let k = kind(plural)?;
            (!k.namespaced()).then_some(())?;
            target(k, None, Some(name), Some(sub))
        }
        _ => None,
    }
}

async fn route(state: ApiState, group: &str, segments: &[&str], call: Call) -> Response {
    let Some(target) = parse_target(group, segments) else {
        return ApiError::no_route(&segments.join("/")).into_response();
    };
    let result = match &target.subresource {
        Some(_) => subresources::handle(state, target, call).await,
        None => with_kind!(await target.kind, object(state, target, call)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn object<K: Stored + Printable>(
    state: ApiState,
    target: Target,
    call: Call,
) -> ApiResult<Response> {
    match (&call.method, &target.name) {
        (&Method::GET, None) if call.flag("watch") => {
            let filter = filter::<K>(&target, &call)?;
            Ok(super::watch::serve::<K>(state, filter, &call))
        }
        (&Method::GET, None) => list::<K>(&state, &target, &call),
        (&Method::GET, Some(name)) => get::<K>(&state, &target, name, &call),
        (&Method::POST, None) => create::<K>(&state, &target, call).await,
        (&Method::PUT, Some(_)) => replace::<K>(&state, &target, call).await,
        (&Method::PATCH, Some(name)) => {
            let name = name.clone();
            patch::<K>(&state, &target, &name, call).await
        }
        (&Method::DELETE, Some(name)) => {
            let name = name.clone();
            delete::<K>(&state, &target, &name, call).await
        }
        (&Method::DELETE, None) => delete_collection::<K>(&state, &target, &call),
        (method, _) => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))),
    }
}

/// The filter a list or watch asks for.
pub fn filter<K: Stored>(target: &Target, call: &Call) -> ApiResult<Filter> {
    Ok(Filter {
        namespace: target.namespace.clone(),
        labels: LabelSelector::parse(call.param("labelSelector").unwrap_or_default())?,
        fields: FieldSelector::parse(
            call.param("fieldSelector").unwrap_or_default(),
            K::RESOURCE.selectable_fields(),
        )?,
    })
}

fn namespace_of(target: &Target) -> &str {
    target.namespace.as_deref().unwrap_or_default()
}

/// Continue tokens: the resourceVersion of the first page and the last key served, in hex so
/// they are opaque and URL-safe.
fn encode_continue(rv: u64, key: &Key) -> String {
    format!("{rv}\n{}\n{}", key.0, key.1)
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_continue(token: &str) -> Option<(u64, Key)> {
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let mut parts = text.split('\n');
    let rv = parts.next()?.parse().ok()?;
    let key = (parts.next()?.to_owned(), parts.next()?.to_owned());
    Some((rv, key))
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

fn list<K: Stored + Printable>(
    state: &ApiState,
    target: &Target,
    call: &Call,
) -> ApiResult<Response> {
    let filter = filter::<K>(target, call)?;
    let limit = match call.param("limit") {
        None | Some("0") => None,
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit: {l}")))?,
        ),
    };
    let now = state.sim.now_ms();
    let world = state.sim.world();
    let table = world.table::<K>();
    let (list_rv, after) = match call.param("continue") {
        Some(token) => {
            let (rv, key) = decode_continue(token)
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
            if rv < world.compacted_rv() {
                return Err(ApiError::expired(
                    "The provided continue parameter is too old to display a consistent list \
                     result. You can start a new list without the continue parameter.",
                ));
            }
            (rv, Some(key))
        }
        None => {
            check_list_version(call, world.rv(), table.log.compacted_rv())?;
            (world.rv(), None)
        }
    };
    let (page, next) = table.page(&filter, after.as_ref(), limit);
    let token = next.map(|key| encode_continue(list_rv, &key));
    if call.wants_table() {
        let include = IncludeObject::parse(call.param("includeObject"));
        let mut table = TableWriter::new::<K>(list_rv, token.as_deref(), true);
        for entry in &page {
            table.row(&*entry.object, &entry.json, include, now);
        }
        drop(world);
        return Ok(json_response(StatusCode::OK, Bytes::from(table.finish())));
    }
    let metadata = match &token {
        Some(t) => format!(r#"{{"resourceVersion":"{list_rv}","continue":"{t}"}}"#),
        None => format!(r#"{{"resourceVersion":"{list_rv}"}}"#),
    };
    let head = format!(
        r#"{{"kind":"{}","apiVersion":"{}","metadata":{metadata},"items":["#,
        K::RESOURCE.list_kind(),
        K::RESOURCE.api_version()
    );
    let items: Vec<Bytes> = page.iter().map(|e| e.json.clone()).collect();
    drop(world);
    Ok(list_body(Bytes::from(head), items))
}

/// How much of a list is copied together before it is handed to the connection.
const LIST_CHUNK: usize = 64 << 10;

/// A list's JSON streamed from the stored bytes of its items: the lock is released before the
/// first byte is written, and a 5,000-pod list never exists as one 10 MB buffer.
fn list_body(head: Bytes, items: Vec<Bytes>) -> Response {
    let length = head.len()
        + items.iter().map(Bytes::len).sum::<usize>()
        + items.len().saturating_sub(1)
        + 2;
    let mut items = items.into_iter().enumerate().peekable();
    let mut head = Some(head);
    let chunks = futures::stream::poll_fn(move |_| {
        let mut out = BytesMut::with_capacity(LIST_CHUNK);
        if let Some(head) = head.take() {
            out.put_slice(&head);
        }
        if items.peek().is_none() && out.is_empty() {
            return std::task::Poll::Ready(None);
        }
        while let Some((i, item)) = items.next_if(|_| out.len() < LIST_CHUNK) {
            if i > 0 {
                out.put_u8(b',');
            }
            out.put_slice(&item);
        }
        if items.peek().is_none() {
            out.put_slice(b"]}");
        }
        std::task::Poll::Ready(Some(Ok::<_, std::convert::Infallible>(out.freeze())))
    });
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (CONTENT_LENGTH, length.to_string()),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// `resourceVersion` on a list: unset or `0` read the latest; `N` with `NotOlderThan` (the
/// default) needs the store to have reached N; `Exact` can only be served for the current
/// version, as kubesim keeps no old states.
fn check_list_version(call: &Call, current: u64, compacted: u64) -> ApiResult<()> {
    let Some(rv) = call.param("resourceVersion").filter(|rv| *rv != "0") else {
        return Ok(());
    };
    let rv: u64 = rv
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion: {rv}")))?;
    if rv > current {
        return Err(ApiError::timeout(format!(
            "Too large resource version: {rv}, current: {current}"
        )));
    }
    match call.param("resourceVersionMatch") {
        None | Some("NotOlderThan") => Ok(()),
        Some("Exact") if rv == current => Ok(()),
        Some("Exact") => Err(ApiError::expired(format!(
            "too old resource version: {rv} ({})",
            compacted.max(current)
        ))),
        Some(other) => Err(ApiError::bad_request(format!(
            "invalid resourceVersionMatch: {other} (NotOlderThan or Exact)"
        ))),
    }
}

fn get<K: Stored + Printable>(
    state: &ApiState,
    target: &Target,
    name: &str,
    call: &Call,
) -> ApiResult<Response> {
    let now = state.sim.now_ms();
    let world = state.sim.world();
    let entry = world
        .table::<K>()
        .get(namespace_of(target), name)
        .ok_or_else(|| ApiError::not_found(K::RESOURCE.plural(), name))?;
    if call.wants_table() {
        let include = IncludeObject::parse(call.param("includeObject"));
        let mut table = TableWriter::new::<K>(world.rv(), None, true);
        table.row(&*entry.object, &entry.json, include, now);
        return Ok(json_response(StatusCode::OK, Bytes::from(table.finish())));
    }
    Ok(json_response(StatusCode::OK, entry.json.clone()))
}

/// Reads a JSON body as the kind, checking `kind`/`apiVersion` when given.
pub fn decode_object<K: Stored>(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<K> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !content_type.starts_with("application/json") && !content_type.starts_with("*/*") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("the body of the request is not valid JSON: {e}"))
    })?;
    check_type::<K>(&value)?;
    serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request could not be decoded as a {}: {e}",
            K::RESOURCE.kind()
        ))
    })
}

/// A body naming another kind or version is refused, as the API server does.
pub fn check_type<K: Stored>(value: &Value) -> ApiResult<()> {
    let kind = value.get("kind").and_then(Value::as_str);
    let api_version = value.get("apiVersion").and_then(Value::as_str);
    if kind.is_some_and(|k| k != K::RESOURCE.kind())
        || api_version.is_some_and(|v| v != K::RESOURCE.api_version())
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({}) or \
             kind ({}) does not match {}",
            api_version.unwrap_or_default(),
            K::RESOURCE.api_version(),
            kind.unwrap_or_default(),
            K::RESOURCE.kind(),
        )));
    }
    Ok(())
}

fn object_response<K: Stored>(status: StatusCode, object: &K) -> Response {
    json_response(
        status,
        Bytes::from(serde_json::to_vec(object).expect("k8s objects serialize")),
    )
}

async fn create<K: Stored>(state: &ApiState, target: &Target, call: Call) -> ApiResult<Response> {
    let (headers, bytes) = call.bytes(state.sim.options.max_body_bytes).await?;
    let mut object: K = decode_object(&headers, &bytes)?;
    if let Some(ns) = &target.namespace {
        match object.metadata().namespace.as_deref() {
            Some(body_ns) if body_ns != ns => {
                return Err(ApiError::bad_request(format!(
                    "the namespace of the provided object does not match the namespace sent on \
                     the request ({body_ns} vs {ns})"
                )));
            }
            _ => object.metadata_mut().namespace = Some(ns.clone()),
        }
    } else if K::RESOURCE.namespaced() {
        return Err(ApiError::method_not_allowed(
            "create needs a namespace in the path",
        ));
    }
    let now = state.sim.now_ms();
    let created = state.sim.world().create(object, now)?;
    Ok(object_response(StatusCode::CREATED, &*created))
}

async fn replace<K: Stored>(state: &ApiState, target: &Target, call: Call) -> ApiResult<Response> {
    let (headers, bytes) = call.bytes(state.sim.options.max_body_bytes).await?;
    let mut object: K = decode_object(&headers, &bytes)?;
    let name = target.name.clone().unwrap_or_default();
    if object.metadata().name.as_deref() != Some(name.as_str()) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            object.metadata().name.clone().unwrap_or_default()
        )));
    }
    object.metadata_mut().namespace = target.namespace.clone();
    let replaced = state.sim.world().replace(object)?;
    Ok(object_response(StatusCode::OK, &*replaced))
}

async fn patch<K: Stored>(
    state: &ApiState,
    target: &Target,
    name: &str,
    call: Call,
) -> ApiResult<Response> {
    let (headers, bytes) = call.bytes(state.sim.options.max_body_bytes).await?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut world = state.sim.world();
    let entry = world
        .table::<K>()
        .get(namespace_of(target), name)
        .ok_or_else(|| ApiError::not_found(K::RESOURCE.plural(), name))?;
    let current: Value = serde_json::from_slice(&entry.json).expect("stored JSON is valid");
    let patched = super::patch::apply(&content_type, current, &bytes)?;
    check_type::<K>(&patched)?;
    let object: K = serde_json::from_value(patched)
        .map_err(|e| ApiError::invalid(K::RESOURCE.plural(), name, e.to_string()))?;
    if object.metadata().name.as_deref() != Some(name)
        || object.metadata().namespace.as_deref().unwrap_or_default() != namespace_of(target)
    {
        return Err(ApiError::invalid(
            K::RESOURCE.plural(),
            name,
            "metadata.name and metadata.namespace cannot be changed",
        ));
    }
    let updated = world.replace(object)?;
    drop(world);
    Ok(object_response(StatusCode::OK, &*updated))
}

/// `gracePeriodSeconds` from the query or a DeleteOptions body.
fn grace_period(call_query: Option<&str>, body: &[u8]) -> ApiResult<Option<i64>> {
    if let Some(q) = call_query {
        return q
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds: {q}")));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let options: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
    Ok(options.get("gracePeriodSeconds").and_then(Value::as_i64))
}

async fn delete<K: Stored>(
    state: &ApiState,
    target: &Target,
    name: &str,
    call: Call,
) -> ApiResult<Response> {
    let query_grace = call.param("gracePeriodSeconds").map(str::to_owned);
    let (_, bytes) = call.bytes(state.sim.options.max_body_bytes).await?;
    let grace = grace_period(query_grace.as_deref(), &bytes)?;
    let now = state.sim.now_ms();
    let mut world = state.sim.world();
    let deleted =
        crate::sim::lifecycle::delete::<K>(&mut world, namespace_of(target), name, grace, now)?;
    Ok(json_response(StatusCode::OK, deleted))
}

fn delete_collection<K: Stored>(
    state: &ApiState,
    target: &Target,
    call: &Call,
) -> ApiResult<Response> {
    let filter = filter::<K>(target, call)?;
    let now = state.sim.now_ms();
    let mut world = state.sim.world();
    let keys: Vec<Key> = world
        .table::<K>()
        .page(&filter, None, None)
        .0
        .iter()
        .map(|e| (e.meta.namespace.clone(), e.meta.name.clone()))
        .collect();
    let mut items = Vec::new();
    for (ns, name) in keys {
        let json = crate::sim::lifecycle::delete::<K>(&mut world, &ns, &name, None, now)?;
        items.push(json);
    }
    let rv = world.rv();
    drop(world);
    let mut out = BytesMut::new();
    out.put_slice(
        format!(
            r#"{{"kind":"{}","apiVersion":"{}","metadata":{{"resourceVersion":"{rv}"}},"items":["#,
            K::RESOURCE.list_kind(),
            K::RESOURCE.api_version()
        )
        .as_bytes(),
    );
    for (i, json) in items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(json);
    }
    out.put_slice(b"]}");
    Ok(json_response(StatusCode::OK, out.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streamed_lists_are_whole_json_of_the_length_they_announce() {
        let head = || Bytes::from_static(br#"{"kind":"PodList","items":["#);
        let item = |i: usize| Bytes::from(format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(1000)));
        // Empty, one item, and enough for several chunks (about 3.4 × LIST_CHUNK).
        for count in [0, 1, 230] {
            let response = list_body(head(), (0..count).map(item).collect());
            let announced: usize = response.headers()[CONTENT_LENGTH]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            assert_eq!(body.len(), announced, "{count} items");
            let list: Value = serde_json::from_slice(&body).unwrap();
            let items = list["items"].as_array().unwrap();
            assert_eq!(items.len(), count);
            assert!(items.iter().enumerate().all(|(i, v)| v["n"] == i));
        }
    }

    #[test]
    fn urls_resolve_to_kinds_namespaces_names_and_subresources() {
        let t = parse_target("", &["namespaces", "shop", "pods", "web-1", "log"]).unwrap();
        assert_eq!(t.kind, ResourceKind::Pod);
        assert_eq!(t.namespace.as_deref(), Some("shop"));
        assert_eq!(t.name.as_deref(), Some("web-1"));
        assert_eq!(t.subresource.as_deref(), Some("log"));

        let t = parse_target("", &["namespaces", "shop"]).unwrap();
        assert_eq!(
            (t.kind, t.name.as_deref()),
            (ResourceKind::Namespace, Some("shop"))
        );
        let t = parse_target("", &["namespaces"]).unwrap();
        assert_eq!((t.kind, t.name), (ResourceKind::Namespace, None));
        let t = parse_target("", &["pods"]).unwrap();
        assert_eq!((t.kind, t.namespace), (ResourceKind::Pod, None));
        let t = parse_target("", &["nodes", "n1", "status"]).unwrap();
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let t = parse_target("apps", &["namespaces", "a", "deployments", "d", "scale"]).unwrap();
        assert_eq!(t.kind, ResourceKind::Deployment);

        assert!(
            parse_target("", &["pods", "p"]).is_none(),
            "pods are namespaced"
        );
        assert!(parse_target("", &["deployments"]).is_none(), "wrong group");
        assert!(parse_target("", &["secrets"]).is_none(), "not served");
    }

    #[test]
    fn list_resource_versions_are_checked_against_the_store() {
        let call = |query: &[(&str, &str)]| Call {
            method: Method::GET,
            headers: HeaderMap::new(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Body::empty(),
        };
        assert!(check_list_version(&call(&[]), 100, 10).is_ok());
        assert!(check_list_version(&call(&[("resourceVersion", "0")]), 100, 10).is_ok());
        assert!(check_list_version(&call(&[("resourceVersion", "50")]), 100, 10).is_ok());
        let future = check_list_version(&call(&[("resourceVersion", "101")]), 100, 10).unwrap_err();
        assert_eq!((future.code, future.reason), (504, "Timeout"));
        let exact = [("resourceVersion", "50"), ("resourceVersionMatch", "Exact")];
        assert_eq!(
            check_list_version(&call(&exact), 100, 10).unwrap_err().code,
            410
        );
        let now = [
            ("resourceVersion", "100"),
            ("resourceVersionMatch", "Exact"),
        ];
        assert!(check_list_version(&call(&now), 100, 10).is_ok());
        let bogus = [
            ("resourceVersion", "5"),
            ("resourceVersionMatch", "Sometimes"),
        ];
        assert_eq!(
            check_list_version(&call(&bogus), 100, 10).unwrap_err().code,
            400
        );
    }

    #[test]
    fn continue_tokens_round_trip() {
        let key = ("shop".to_owned(), "web-1".to_owned());
        let token = encode_continue(42, &key);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(decode_continue(&token), Some((42, key)));
        assert_eq!(decode_continue("zz"), None);
    }
}
