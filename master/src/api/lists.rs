//! `/api/v1/{kind}` lists (filter, search, sort, page), single objects, and clusters.

use std::cmp::Ordering;
use std::sync::Arc;

use atlhyper_model::api::{InCluster, Item, List};
use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service,
};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::params::{ListParams, NoParams, Query, encode_cursor};
use super::{ApiError, Shared, User, json};
use crate::held::Listed;
use crate::memory::Snapshot;
use crate::resource::{Resource, SortValue};

pub fn routes() -> Router<Shared> {
    let mut router = Router::new();
    router = kind::<Pod>(router);
    router = kind::<Node>(router);
    router = kind::<Deployment>(router);
    router = kind::<Service>(router);
    router = kind::<Namespace>(router);
    router = kind::<Ingress>(router);
    router = kind::<ConfigMap>(router);
    router.route("/events", get(list_events)).route(
        "/clusters/{cluster}/events/{namespace}/{name}",
        get(one_event),
    )
}

fn kind<R: Listed>(router: Router<Shared>) -> Router<Shared> {
    let one = if R::NAMESPACED {
        format!("/clusters/{{cluster}}/{}/{{namespace}}/{{name}}", R::PLURAL)
    } else {
        format!("/clusters/{{cluster}}/{}/{{name}}", R::PLURAL)
    };
    router
        .route(&format!("/{}", R::PLURAL), get(list::<R>))
        .route(&one, get(one_object::<R>))
}

fn sort_fields<R: Resource>() -> Vec<&'static str> {
    let mut fields = vec!["cluster", "name", "namespace", "age", "status"];
    fields.extend_from_slice(R::EXTRA_SORTS);
    fields
}

/// Case-insensitive substring test; `needle` is already lower case.
fn contains_ci(haystack: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

fn matches<R: Resource>(params: &ListParams, item: &R) -> bool {
    if let (Some(ns), Some(own)) = (&params.namespace, item.namespace())
        && own != ns
    {
        return false;
    }
    if let Some(node) = &params.node
        && item.node() != Some(node.as_str())
    {
        return false;
    }
    if !params.status.is_empty() {
        let status = item.status();
        let hit = params.status.iter().any(|s| {
            s.eq_ignore_ascii_case(&status)
                || item.phase().is_some_and(|p| s.eq_ignore_ascii_case(p))
        });
        if !hit {
            return false;
        }
    }
    if !params.label.is_empty() && !item.labels().is_some_and(|l| params.label.matches(l)) {
        return false;
    }
    if let Some(q) = &params.q {
        let status = item.status();
        let mut fields = vec![item.name(), status.as_ref()];
        fields.extend(item.namespace());
        fields.extend(item.node());
        fields.extend(item.search_text());
        if !fields.into_iter().any(|f| contains_ci(f, q)) {
            return false;
        }
    }
    true
}

fn sort_value<'a, R: Resource>(cluster: &'a str, item: &'a R, field: &str) -> SortValue<'a> {
    use std::borrow::Cow::Borrowed;
    match field {
        "cluster" => SortValue::Text(Borrowed(cluster)),
        "name" => SortValue::Text(Borrowed(item.name())),
        "namespace" => SortValue::Text(Borrowed(item.namespace().unwrap_or(""))),
        // Ascending age: the youngest first.
        "age" => SortValue::Int(-item.created_ms()),
        "status" => SortValue::Text(item.status()),
        other => item.extra_sort(other).unwrap_or(SortValue::Int(0)),
    }
}

/// Sorts, pages and serializes the matching items.
fn page<R: Resource>(
    mut items: Vec<(&str, &R)>,
    params: &ListParams,
    default_sort: Option<(&str, bool)>,
) -> Response {
    let natural = |a: &(&str, &R), b: &(&str, &R)| {
        (a.0, a.1.namespace(), a.1.name()).cmp(&(b.0, b.1.namespace(), b.1.name()))
    };
    let sort = params
        .sort
        .as_ref()
        .map(|(f, d)| (f.as_str(), *d))
        .or(default_sort);
    match sort {
        Some((field, descending)) => items.sort_by(|a, b| {
            let order = sort_value(a.0, a.1, field)
                .partial_cmp(&sort_value(b.0, b.1, field))
                .unwrap_or(Ordering::Equal);
            let order = if descending { order.reverse() } else { order };
            order.then_with(|| natural(a, b))
        }),
        None => items.sort_by(natural),
    }
    let total = items.len();
    let start = params.offset.min(total);
    let end = params.limit.map_or(total, |l| (start + l).min(total));
    let page: Vec<InCluster<&R>> = items[start..end]
        .iter()
        .map(|(cluster, item)| InCluster {
            cluster_id: (*cluster).to_owned(),
            object: *item,
        })
        .collect();
    let mut list = List::new(page);
    if end < total {
        list.next_cursor = Some(encode_cursor(end));
    }
    json(StatusCode::OK, &list)
}

fn check_clusters(state: &Shared, params: &ListParams) -> Result<(), ApiError> {
    for id in &params.clusters {
        super::registered(state, id)?;
    }
    Ok(())
}

async fn list<R: Listed>(
    State(state): State<Shared>,
    _user: User,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = ListParams::parse(uri.query(), &sort_fields::<R>())?;
    check_clusters(&state, &params)?;
    let snapshots: Vec<Arc<Snapshot>> = state.reader.snapshots(R::SOURCE, None);
    let items: Vec<(&str, &R)> = snapshots
        .iter()
        .filter(|s| params.wants_cluster(&s.cluster_id))
        .flat_map(|s| {
            R::held(&s.list)
                .into_iter()
                .flat_map(|list| list.iter())
                .map(move |i| (s.cluster_id.as_str(), i))
        })
        .filter(|(_, item)| matches(&params, *item))
        .collect();
    Ok(page(items, &params, None))
}

async fn list_events(
    State(state): State<Shared>,
    _user: User,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = ListParams::parse(uri.query(), &sort_fields::<Event>())?;
    check_clusters(&state, &params)?;
    let events = state.reader.events(None);
    let items: Vec<(&str, &Event)> = events
        .iter()
        .filter(|(c, _)| params.wants_cluster(c))
        .map(|(c, e)| (c.as_str(), &**e))
        .filter(|(_, e)| matches(&params, *e))
        .collect();
    // Like a log: the most recent last.
    Ok(page(items, &params, Some(("last_seen", false))))
}

/// The path of one object: `/clusters/{cluster}[/namespaces/{namespace}]/{kind}/{name}`.
#[derive(Debug, Deserialize)]
pub struct ObjectPath {
    cluster: String,
    namespace: Option<String>,
    name: String,
}

fn object_path(
    state: &Shared,
    path: ObjectPath,
) -> Result<(String, Option<String>, String), ApiError> {
    super::registered(state, &path.cluster)?;
    Ok((path.cluster, path.namespace, path.name))
}

fn named(namespace: &Option<String>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}

async fn one_object<R: Listed>(
    State(state): State<Shared>,
    _user: User,
    Query(NoParams {}): Query<NoParams>,
    Path(path): Path<ObjectPath>,
) -> Result<Response, ApiError> {
    let (cluster, namespace, name) = object_path(&state, path)?;
    let snapshots = state.reader.snapshots(R::SOURCE, Some(&cluster));
    let found = snapshots.first().and_then(|s| {
        R::held(&s.list)?.iter().find(|item| {
            item.name() == name && (!R::NAMESPACED || item.namespace() == namespace.as_deref())
        })
    });
    match found {
        Some(item) => Ok(json(
            StatusCode::OK,
            &Item::new(InCluster {
                cluster_id: cluster,
                object: item,
            }),
        )),
        None => Err(ApiError::not_found(format!(
            "{} `{}` not found in cluster `{cluster}`",
            R::PLURAL.trim_end_matches('s'),
            named(&namespace, &name)
        ))),
    }
}

async fn one_event(
    State(state): State<Shared>,
    _user: User,
    Query(NoParams {}): Query<NoParams>,
    Path(path): Path<ObjectPath>,
) -> Result<Response, ApiError> {
    let (cluster, namespace, name) = object_path(&state, path)?;
    let events = state.reader.events(Some(&cluster));
    let found = events
        .iter()
        .rev()
        .find(|(_, e)| e.name == name && Some(e.namespace.as_str()) == namespace.as_deref());
    match found {
        Some((_, event)) => Ok(json(
            StatusCode::OK,
            &Item::new(InCluster {
                cluster_id: cluster,
                object: &**event,
            }),
        )),
        None => Err(ApiError::not_found(format!(
            "event `{}` not found in cluster `{cluster}`",
            named(&namespace, &name)
        ))),
    }
}

pub async fn clusters(
    State(state): State<Shared>,
    _user: User,
    Query(NoParams {}): Query<NoParams>,
) -> Result<Response, ApiError> {
    let list = List::new(state.reader.clusters());
    Ok(json(StatusCode::OK, &list))
}

pub async fn cluster(
    State(state): State<Shared>,
    _user: User,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.reader.cluster(&id) {
        Some(summary) => Ok(json(StatusCode::OK, &Item::new(summary))),
        None => Err(ApiError::not_found(format!(
            "cluster `{id}` is not registered"
        ))),
    }
}
