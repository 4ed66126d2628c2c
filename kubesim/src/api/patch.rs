//! PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch (what kubectl sends: lists
//! of containers, env, ports… merged by key; `$patch` directives), JSON patch (RFC 6902), and
//! server-side apply bodies (treated as a strategic merge).

use serde_json::{Map, Value};

use crate::status::{ApiError, ApiResult};

/// Applies a patch of the given content type to an object.
///
/// # Errors
/// 415 for an unknown patch type, 400 for a body that does not parse or a JSON patch that does
/// not apply.
pub fn apply(content_type: &str, object: Value, body: &[u8]) -> ApiResult<Value> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let parse_json = || -> ApiResult<Value> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the patch is not valid JSON: {e}")))
    };
    match media {
        "application/merge-patch+json" => {
            let patch = parse_json()?;
            require_object(&patch)?;
            Ok(merge(object, patch, false))
        }
        "application/strategic-merge-patch+json" => {
            let patch = parse_json()?;
            require_object(&patch)?;
            Ok(merge(object, patch, true))
        }
        "application/apply-patch+yaml" => {
            let patch: Value = serde_yaml_ng::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("the apply body is not valid YAML: {e}"))
            })?;
            require_object(&patch)?;
            Ok(merge(object, patch, true))
        }
        "application/json-patch+json" => json_patch(object, parse_json()?),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

fn require_object(patch: &Value) -> ApiResult<()> {
    if patch.is_object() {
        Ok(())
    } else {
        Err(ApiError::bad_request("a merge patch must be a JSON object"))
    }
}

/// The key a strategic merge matches list elements on, by the list's field name.
fn merge_key(field: &str, elements: &[Value]) -> Option<&'static str> {
    let has = |key: &str| elements.iter().all(|e| e.get(key).is_some());
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "volumeMounts"
        | "imagePullSecrets"
        | "volumeDevices" => Some("name"),
        "ports" if has("containerPort") => Some("containerPort"),
        "ports" if has("port") => Some("port"),
        "conditions" => Some("type"),
        "addresses" if has("type") && has("address") => Some("address"),
        _ => None,
    }
}

/// Merge patch; with `strategic`, lists of keyed objects merge by key and directives apply.
fn merge(target: Value, patch: Value, strategic: bool) -> Value {
    let Value::Object(patch) = patch else {
        return patch;
    };
    if strategic && patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = patch;
        replaced.remove("$patch");
        return Value::Object(replaced);
    }
    let mut target = match target {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (key, value) in patch {
        if strategic {
            if key.starts_with("$setElementOrder/") || key == "$retainKeys" || key == "$patch" {
                continue;
            }
            if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
                if let (Some(Value::Array(list)), Value::Array(remove)) =
                    (target.get_mut(field), &value)
                {
                    list.retain(|v| !remove.contains(v));
                }
                continue;
            }
        }
        if value.is_null() {
            target.remove(&key);
            continue;
        }
        let current = target.remove(&key).unwrap_or(Value::Null);
        let merged = match (current, value) {
            (Value::Array(current), Value::Array(patch)) if strategic => {
                Value::Array(merge_list(&key, current, patch))
            }
            (current, value @ Value::Object(_)) => merge(current, value, strategic),
            (_, value) => value,
        };
        target.insert(key, merged);
    }
    Value::Object(target)
}

fn merge_list(field: &str, current: Vec<Value>, patch: Vec<Value>) -> Vec<Value> {
    let Some(key) = merge_key(field, &patch) else {
        return patch;
    };
    if current.iter().any(|e| e.get(key).is_none()) {
        return patch;
    }
    let mut out = current;
    for element in patch {
        let id = element.get(key).cloned();
        let position = out.iter().position(|e| e.get(key) == id.as_ref());
        let delete = element.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => {
                let existing = std::mem::take(&mut out[i]);
                out[i] = merge(existing, element, true);
            }
            (None, false) => out.push(element),
        }
    }
    out
}

/// RFC 6901 pointer segments.
fn pointer(path: &str) -> ApiResult<Vec<String>> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| ApiError::bad_request(format!("invalid JSON pointer: {path}")))?;
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn parent<'a>(doc: &'a mut Value, path: &[String]) -> ApiResult<&'a mut Value> {
    let mut node = doc;
    for segment in path {
        node = match node {
            Value::Object(map) => map.get_mut(segment),
            Value::Array(list) => segment.parse::<usize>().ok().and_then(|i| list.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| ApiError::bad_request(format!("path not found: /{}", path.join("/"))))?;
    }
    Ok(node)
}

fn add(doc: &mut Value, path: &[String], value: Value) -> ApiResult<()> {
    let Some((last, init)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, init)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(list) => {
            let index = if last == "-" {
                list.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= list.len())
                    .ok_or_else(|| ApiError::bad_request(format!("invalid array index: {last}")))?
            };
            list.insert(index, value);
            Ok(())
        }
        _ => Err(ApiError::bad_request("cannot add to a scalar")),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> ApiResult<Value> {
    let (last, init) = path
        .split_last()
        .ok_or_else(|| ApiError::bad_request("cannot remove the whole document"))?;
    let missing = || ApiError::bad_request(format!("path not found: /{}", path.join("/")));
    match parent(doc, init)? {
        Value::Object(map) => map.remove(last).ok_or_else(missing),
        Value::Array(list) => {
            let i = last
                .parse::<usize>()
                .ok()
                .filter(|i| *i < list.len())
                .ok_or_else(missing)?;
            Ok(list.remove(i))
        }
        _ => Err(missing()),
    }
}

fn json_patch(mut doc: Value, patch: Value) -> ApiResult<Value> {
    let Value::Array(operations) = patch else {
        return Err(ApiError::bad_request("a JSON patch must be an array"));
    };
    for op in operations {
        let name = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = pointer(op.get("path").and_then(Value::as_str).unwrap_or_default())?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| ApiError::bad_request(format!("`{name}` needs a value")))
        };
        let from = || pointer(op.get("from").and_then(Value::as_str).unwrap_or_default());
        match name {
            "add" => add(&mut doc, &path, value()?)?,
            "remove" => {
                remove(&mut doc, &path)?;
            }
            "replace" => {
                remove(&mut doc, &path)?;
                add(&mut doc, &path, value()?)?;
            }
            "move" => {
                let moved = remove(&mut doc, &from()?)?;
                add(&mut doc, &path, moved)?;
            }
            "copy" => {
                let copied = parent(&mut doc, &from()?)?.clone();
                add(&mut doc, &path, copied)?;
            }
            "test" => {
                if *parent(&mut doc, &path)? != value()? {
                    return Err(ApiError::invalid("", "", "the test operation failed"));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown JSON patch operation `{other}`"
                )));
            }
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}},
          "spec": {"containers": [
            {"name": "web", "image": "nginx:1.27"},
            {"name": "sidecar", "image": "envoy:1"}]}}}})
    }

    #[test]
    fn strategic_merge_sets_one_container_image_by_name() {
        let patch = br#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"sidecar"}],
            "containers":[{"name":"sidecar","image":"envoy:2"}]}}}}"#;
        let out = apply(
            "application/strategic-merge-patch+json",
            deployment(),
            patch,
        )
        .unwrap();
        let containers = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "nginx:1.27");
        assert_eq!(containers[1]["image"], "envoy:2");
    }

    #[test]
    fn merge_patch_replaces_lists_and_null_deletes() {
        let patch =
            br#"{"spec":{"replicas":null,"template":{"spec":{"containers":[{"name":"only"}]}}}}"#;
        let out = apply("application/merge-patch+json", deployment(), patch).unwrap();
        assert!(out["spec"].get("replicas").is_none());
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only"}])
        );
    }

    #[test]
    fn strategic_delete_directive_and_annotations() {
        let patch = br#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-25T14:02:09Z"}},
            "spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}"#;
        let out = apply(
            "application/strategic-merge-patch+json",
            deployment(),
            patch,
        )
        .unwrap();
        let template = &out["spec"]["template"];
        assert_eq!(
            template["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "2026-11-25T14:02:09Z"
        );
        assert_eq!(template["metadata"]["labels"]["app"], "web");
        assert_eq!(template["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn json_patch_operations() {
        let patch = br#"[{"op":"replace","path":"/spec/replicas","value":5},
            {"op":"add","path":"/spec/template/spec/containers/-","value":{"name":"x"}},
            {"op":"test","path":"/spec/replicas","value":5},
            {"op":"remove","path":"/spec/template/metadata"}]"#;
        let out = apply("application/json-patch+json", deployment(), patch).unwrap();
        assert_eq!(out["spec"]["replicas"], 5);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][2]["name"],
            "x"
        );
        assert!(out["spec"]["template"].get("metadata").is_none());
        let bad = br#"[{"op":"remove","path":"/nope"}]"#;
        assert_eq!(
            apply("application/json-patch+json", deployment(), bad)
                .unwrap_err()
                .code,
            400
        );
    }

    #[test]
    fn bad_patches_are_refused() {
        assert_eq!(
            apply("application/merge-patch+json", json!({}), b"{")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            apply("application/merge-patch+json", json!({}), b"[1]")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(apply("text/plain", json!({}), b"{}").unwrap_err().code, 415);
    }
}
