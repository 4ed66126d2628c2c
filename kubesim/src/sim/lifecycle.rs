//! Deletion as the API server does it: pods on a node terminate gracefully (a
//! `deletionTimestamp` now, gone once the kubelet has stopped them), namespaces go `Terminating`
//! until emptied, everything else goes at once.

use std::any::Any;

use bytes::Bytes;
use k8s_openapi::api::core::v1::{Namespace, Pod};

use crate::status::ApiResult;
use crate::store::{Stored, World, time};

/// Deletes or starts deleting an object; returns its JSON as the response shows it.
///
/// # Errors
/// 404 when it does not exist.
pub fn delete<K: Stored>(
    world: &mut World,
    namespace: &str,
    name: &str,
    grace_seconds: Option<i64>,
    now_ms: i64,
) -> ApiResult<Bytes> {
    let current = world
        .table::<K>()
        .get(namespace, name)
        .ok_or_else(|| crate::status::ApiError::not_found(K::RESOURCE.plural(), name))?
        .object
        .clone();
    let any: &dyn Any = &*current;
    if let Some(pod) = any.downcast_ref::<Pod>() {
        return delete_pod(world, pod, grace_seconds, now_ms);
    }
    if any.is::<Namespace>() {
        let updated = world.update::<Namespace>("", name, |ns| {
            if ns.metadata.deletion_timestamp.is_none() {
                ns.metadata.deletion_timestamp = Some(time(now_ms));
            }
            ns.status.get_or_insert_default().phase = Some("Terminating".to_owned());
        })?;
        return Ok(json(&*updated));
    }
    let deleted = world.delete::<K>(namespace, name)?;
    Ok(json(&*deleted))
}

fn json<K: serde::Serialize>(object: &K) -> Bytes {
    Bytes::from(serde_json::to_vec(object).expect("k8s objects serialize"))
}

fn delete_pod(
    world: &mut World,
    pod: &Pod,
    grace_seconds: Option<i64>,
    now_ms: i64,
) -> ApiResult<Bytes> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let bound = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_ref())
        .is_some();
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    let terminal = matches!(phase, Some("Succeeded" | "Failed"));
    let grace = grace_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(30)
        .max(0);
    if grace == 0 || !bound || terminal {
        let deleted = world.delete::<Pod>(&namespace, &name)?;
        return Ok(json(&*deleted));
    }
    let deadline = now_ms + grace * 1000;
    let updated = world.update::<Pod>(&namespace, &name, |p| {
        let meta = &mut p.metadata;
        let sooner = meta
            .deletion_timestamp
            .as_ref()
            .is_none_or(|t| t.0.as_millisecond() > deadline);
        if sooner {
            meta.deletion_timestamp = Some(time(deadline));
            meta.deletion_grace_period_seconds = Some(grace);
        }
    })?;
    Ok(json(&*updated))
}
