//! Patch engines: JSON merge patch (RFC 7386), JSON patch (RFC 6902, with `test` of a missing
//! member equal to `null`), strategic-merge patch treated as a merge patch (native kinds only)
//! and apply patches (simplified server-side apply: a merge, see the module docs of the server).

use serde_json::{Map, Value};

use super::status::ApiStatus;

/// The patch content types the server understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// `application/apply-patch+yaml` (JSON or YAML body).
    Apply,
}

/// The media types accepted for PATCH, as named in the 415 message.
pub const ACCEPTED_PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

impl PatchType {
    /// The patch type of a `Content-Type` header value.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiStatus> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/strategic-merge-patch+json" => Ok(PatchType::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
            _ => Err(ApiStatus::unsupported_media_type(format!(
                "the body of the request was in an unknown format - accepted media types \
                 include: {ACCEPTED_PATCH_TYPES}"
            ))),
        }
    }
}

/// Applies an RFC 7386 merge patch to `target` in place.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Removes strategic-merge directives (`$patch`, `$retainKeys`, `$setElementOrder/…`,
/// `$deleteFromPrimitiveList/…`) so that the rest can be applied as a merge patch.
pub fn strip_strategic_directives(patch: &mut Value) {
    match patch {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            for v in m.values_mut() {
                strip_strategic_directives(v);
            }
        }
        Value::Array(a) => {
            for v in a {
                strip_strategic_directives(v);
            }
        }
        _ => {}
    }
}

// The merge key of a list: the single field of its `$setElementOrder` entries, else `name`
// when every element of both lists is an object with a `name`.
fn merge_key(order: Option<&Value>, old: &[Value], patch: &[Value]) -> Option<String> {
    if let Some(Value::Array(entries)) = order {
        return entries
            .first()
            .and_then(Value::as_object)
            .filter(|m| m.len() == 1)
            .and_then(|m| m.keys().next().cloned());
    }
    let named = |l: &[Value]| {
        l.iter()
            .all(|e| e.get("name").is_some_and(Value::is_string))
    };
    (!patch.is_empty() && named(old) && named(patch)).then(|| "name".to_string())
}

fn merge_list(old: &[Value], patch: &[Value], key: &str, order: Option<&Value>) -> Value {
    let id = |e: &Value| e.get(key).cloned();
    let mut out: Vec<Value> = old.to_vec();
    for p in patch {
        let pid = id(p);
        let pos = out.iter().position(|o| pid.is_some() && id(o) == pid);
        let delete = p.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut out[i], p),
            (None, false) => {
                let mut e = p.clone();
                strip_strategic_directives(&mut e);
                out.push(e);
            }
        }
    }
    if let Some(Value::Array(entries)) = order {
        let rank = |e: &Value| {
            entries
                .iter()
                .position(|o| o.get(key) == e.get(key).as_ref().copied())
                .unwrap_or(usize::MAX)
        };
        out.sort_by_key(rank);
    }
    Value::Array(out)
}

/// Applies a strategic-merge patch (native kinds): a merge patch whose lists of objects are
/// merged by key (the key named by `$setElementOrder/<field>`, else `name` when every element
/// has one; `$patch: delete` removes an element); other lists are replaced and the remaining
/// `$…` directives are dropped. A simplification of Kubernetes' schema-driven strategic merge.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        let order = p.get(&format!("$setElementOrder/{k}"));
        match (t.get_mut(k), v) {
            (Some(Value::Array(old)), Value::Array(new)) => {
                if let Some(key) = merge_key(order, old, new) {
                    let merged = merge_list(old, new, &key, order);
                    t.insert(k.clone(), merged);
                } else {
                    let mut n = v.clone();
                    strip_strategic_directives(&mut n);
                    t.insert(k.clone(), n);
                }
            }
            (Some(existing), Value::Object(_)) => strategic_merge(existing, v),
            _ => {
                let mut n = v.clone();
                strip_strategic_directives(&mut n);
                t.insert(k.clone(), n);
            }
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>, ApiStatus> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| ApiStatus::invalid(format!("invalid JSON pointer {path:?}")))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn invalid_path(path: &str) -> ApiStatus {
    ApiStatus::invalid(format!(
        "the server rejected our request due to an error in our request: path {path:?} does not \
         exist"
    ))
}

fn array_index(tok: &str, len: usize, allow_end: bool, path: &str) -> Result<usize, ApiStatus> {
    if allow_end && tok == "-" {
        return Ok(len);
    }
    let i: usize = tok.parse().map_err(|_| invalid_path(path))?;
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if (len == 0 && !allow_end) || i > max {
        return Err(invalid_path(path));
    }
    Ok(i)
}

fn parent_mut<'a>(
    doc: &'a mut Value,
    toks: &[String],
    path: &str,
) -> Result<&'a mut Value, ApiStatus> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(t).ok_or_else(|| invalid_path(path))?,
            Value::Array(a) => {
                let i = array_index(t, a.len(), false, path)?;
                a.get_mut(i).ok_or_else(|| invalid_path(path))?
            }
            _ => return Err(invalid_path(path)),
        };
    }
    Ok(cur)
}

fn get<'a>(doc: &'a Value, path: &str) -> Result<Option<&'a Value>, ApiStatus> {
    let toks = split_pointer(path)?;
    let mut cur = doc;
    for t in &toks {
        let next = match cur {
            Value::Object(m) => m.get(t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), ApiStatus> {
    let toks = split_pointer(path)?;
    let Some((last, parents)) = toks.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents, path)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let i = array_index(last, a.len(), true, path)?;
            a.insert(i, value);
        }
        _ => return Err(invalid_path(path)),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, ApiStatus> {
    let toks = split_pointer(path)?;
    let Some((last, parents)) = toks.split_last() else {
        return Err(invalid_path(path));
    };
    match parent_mut(doc, parents, path)? {
        Value::Object(m) => m.remove(last).ok_or_else(|| invalid_path(path)),
        Value::Array(a) => {
            let i = array_index(last, a.len(), false, path)?;
            Ok(a.remove(i))
        }
        _ => Err(invalid_path(path)),
    }
}

/// Applies an RFC 6902 JSON patch atomically (on a copy). `test` of a missing member succeeds
/// when the expected value is `null` (evanphx/json-patch and kube-apiserver semantics, which
/// kube-rs's finalizer helper relies on). A failed operation is a 422 Invalid.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, ApiStatus> {
    let ops = patch
        .as_array()
        .ok_or_else(|| ApiStatus::bad_request("a JSON patch must be an array of operations"))?;
    let mut doc = target.clone();
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiStatus::bad_request("JSON patch operation without a path"))?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| ApiStatus::bad_request(format!("{kind} operation needs a value")))
        };
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiStatus::bad_request(format!("{kind} operation needs from")))
        };
        match kind {
            "add" => add(&mut doc, path, value()?)?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                let v = value()?;
                remove(&mut doc, path)?;
                add(&mut doc, path, v)?;
            }
            "move" => {
                let f = from()?;
                let v = remove(&mut doc, f)?;
                add(&mut doc, path, v)?;
            }
            "copy" => {
                let f = from()?;
                let v = get(&doc, f)?.cloned().ok_or_else(|| invalid_path(f))?;
                add(&mut doc, path, v)?;
            }
            "test" => {
                let expected = op.get("value").cloned().unwrap_or(Value::Null);
                let actual = get(&doc, path)?.cloned().unwrap_or(Value::Null);
                if actual != expected {
                    return Err(ApiStatus::invalid(format!(
                        "the server rejected our request due to an error in our request: test \
                         failed at {path:?}: expected {expected}, found {actual}"
                    )));
                }
            }
            other => {
                return Err(ApiStatus::bad_request(format!(
                    "unknown JSON patch operation {other:?}"
                )));
            }
        }
    }
    Ok(doc)
}

/// Parses a patch or apply body: JSON, or YAML for apply patches.
pub fn parse_body(body: &[u8], patch_type: PatchType) -> Result<Value, ApiStatus> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(e) if patch_type == PatchType::Apply => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiStatus::bad_request("apply body is not UTF-8"))?;
            serde_saphyr::from_str::<Value>(text)
                .map_err(|y| ApiStatus::bad_request(format!("invalid apply body: {e}; {y}")))
        }
        Err(e) => Err(ApiStatus::bad_request(format!("invalid patch body: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        merge_patch(
            &mut t,
            &json!({"a": null, "b": {"c": 5}, "l": [3], "n": {"x": null}}),
        );
        assert_eq!(t, json!({"b": {"c": 5, "d": 3}, "l": [3], "n": {}}));
    }

    #[test]
    fn json_patch_ops_and_null_test() {
        let t = json!({"metadata": {"name": "x"}});
        let p = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["f"]},
            {"op": "add", "path": "/metadata/finalizers/-", "value": "g"},
            {"op": "test", "path": "/metadata/finalizers/0", "value": "f"},
            {"op": "remove", "path": "/metadata/finalizers/0"},
            {"op": "copy", "from": "/metadata/name", "path": "/spec"},
            {"op": "move", "from": "/spec", "path": "/kind"},
            {"op": "replace", "path": "/kind", "value": "K"}
        ]);
        assert_eq!(
            json_patch(&t, &p),
            Ok(json!({"metadata": {"name": "x", "finalizers": ["g"]}, "kind": "K"}))
        );
        let bad = json!([{"op": "test", "path": "/metadata/name", "value": "y"}]);
        assert_eq!(json_patch(&t, &bad).map_err(|e| e.code), Err(422));
        let missing = json!([{"op": "remove", "path": "/nope"}]);
        assert_eq!(json_patch(&t, &missing).map_err(|e| e.code), Err(422));
    }

    #[test]
    fn strategic_lists_merge_by_key() {
        let mut t = json!({"spec": {"containers": [
            {"name": "a", "image": "x", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "y"}]}});
        strategic_merge(
            &mut t,
            &json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                             "containers": [{"name": "a", "image": "z"}]}}),
        );
        assert_eq!(
            t["spec"]["containers"][0],
            json!({"name": "a", "image": "z", "ports": [{"containerPort": 80}]})
        );
        assert_eq!(t["spec"]["containers"][1]["image"], "y");
        strategic_merge(
            &mut t,
            &json!({"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}),
        );
        assert_eq!(t["spec"]["containers"].as_array().map(Vec::len), Some(1));
        strategic_merge(
            &mut t,
            &json!({"metadata": {"labels": {"x": "1"}}, "data": {"k": null}}),
        );
        assert_eq!(t["metadata"]["labels"]["x"], "1");
    }

    #[test]
    fn strategic_directives() {
        let mut p = json!({"$setElementOrder/containers": [{"name": "a"}], "data": {"k": "v", "$patch": "merge"}});
        strip_strategic_directives(&mut p);
        assert_eq!(p, json!({"data": {"k": "v"}}));
        assert_eq!(
            parse_body(b"a: 1\nb: [x]\n", PatchType::Apply),
            Ok(json!({"a": 1, "b": ["x"]}))
        );
    }
}
