//! HTTP routing and handlers: path parsing (`/api/v1/...`, `/apis/<g>/<v>/...`, namespaced and
//! cluster-wide forms), authentication and authorization, discovery and OpenAPI, and the REST
//! verbs get, list, watch (newline-delimited JSON with bookmarks and in-stream errors), create,
//! update, patch, delete and deletecollection, plus the `/status` subresource.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::auth::{Attributes, Claims, TokenAuthority};
use super::discovery;
use super::kinds::{GroupVersionResource, ResourceKind};
use super::patch::{PatchType, parse_body};
use super::protobuf;
use super::selectors::ListFilter;
use super::status::{self, ApiStatus};
use super::store::{DeleteOptions, Deleted, Store, WatchEvent, WriteOptions};
use super::table::{self, IncludeObject, TABLE_CONTENT_TYPE, wants_table};

/// How the handlers behave (shared by all requests of one server).
#[derive(Debug, Clone)]
pub struct HandlerConfig {
    /// Token verification; `None` serves everyone (development mode).
    pub auth: Option<Arc<TokenAuthority>>,
    /// How often watches with `allowWatchBookmarks=true` get a bookmark.
    pub bookmark_interval: Duration,
    /// How long a watch without `timeoutSeconds` lasts.
    pub default_watch_timeout: Duration,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
}

impl Default for HandlerConfig {
    fn default() -> Self {
        HandlerConfig {
            auth: None,
            bookmark_interval: Duration::from_secs(60),
            default_watch_timeout: Duration::from_secs(3600),
            max_body_bytes: 16 << 20,
        }
    }
}

#[derive(Debug, Clone)]
struct AppState {
    store: Store,
    config: Arc<HandlerConfig>,
}

/// The axum router serving a store. It is also a `tower::Service`, so
/// `kube::Client::new(router, "default")` talks to it in process without TCP.
pub fn router(store: Store, config: HandlerConfig) -> Router {
    Router::new().fallback(handle).with_state(AppState {
        store,
        config: Arc::new(config),
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a query string, tolerating `?&a=b` and a bare `?`.
pub fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn status_response(s: &ApiStatus) -> Response {
    let code = StatusCode::from_u16(s.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &s.to_value())
}

fn ok(v: &Value) -> Response {
    json_response(StatusCode::OK, v)
}

fn truthy(q: &HashMap<String, String>, k: &str) -> bool {
    q.get(k).is_some_and(|v| v == "true" || v == "1")
}

async fn handle(State(app): State<AppState>, req: Request) -> Response {
    match dispatch(app, req).await {
        Ok(r) => r,
        Err(s) => status_response(&s),
    }
}

async fn dispatch(app: AppState, req: Request) -> Result<Response, ApiStatus> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parse_query(parts.uri.query());
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => return Ok(ok(&discovery::version())),
        ["healthz"] | ["livez"] | ["readyz"] => {
            return Ok((StatusCode::OK, "ok").into_response());
        }
        _ => {}
    }
    let claims = match &app.config.auth {
        Some(a) => Some(a.authenticate(&parts.headers)?),
        None => None,
    };
    let store = &app.store;
    match segs.as_slice() {
        ["api"] => Ok(ok(&discovery::api_versions())),
        ["apis"] => Ok(ok(&discovery::group_list(store))),
        ["api", v] => discovery::resource_list(store, "", v)
            .map(|d| ok(&d))
            .ok_or_else(ApiStatus::no_resource),
        ["apis", g] => discovery::group(store, g)
            .map(|d| ok(&d))
            .ok_or_else(ApiStatus::no_resource),
        ["apis", g, v] => discovery::resource_list(store, g, v)
            .map(|d| ok(&d))
            .ok_or_else(ApiStatus::no_resource),
        ["openapi", "v3"] => Ok(ok(&discovery::openapi_index(store))),
        ["openapi", "v3", "api", v] => discovery::openapi_doc(store, "", v)
            .map(|d| ok(&d))
            .ok_or_else(ApiStatus::no_resource),
        ["openapi", "v3", "apis", g, v] => discovery::openapi_doc(store, g, v)
            .map(|d| ok(&d))
            .ok_or_else(ApiStatus::no_resource),
        ["api", v, rest @ ..] => {
            resource(&app, claims.as_ref(), "", v, rest, parts, query, body).await
        }
        ["apis", g, v, rest @ ..] => {
            resource(&app, claims.as_ref(), g, v, rest, parts, query, body).await
        }
        _ => Err(ApiStatus::no_resource()),
    }
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiStatus> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| ApiStatus::bad_request(format!("reading the request body: {e}")))
}

// A create/update body: JSON, or protobuf from kubectl's typed commands.
fn parse_object(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, ApiStatus> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if protobuf::is_protobuf(ct) {
        return protobuf::decode(bytes);
    }
    parse_json(bytes)
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiStatus> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiStatus::bad_request(format!("invalid JSON body: {e}")))
}

fn write_options(q: &HashMap<String, String>, status: bool) -> WriteOptions {
    WriteOptions {
        dry_run: q.get("dryRun").is_some_and(|v| v == "All"),
        field_manager: q.get("fieldManager").filter(|s| !s.is_empty()).cloned(),
        status,
    }
}

fn list_filter(ns: Option<&str>, q: &HashMap<String, String>) -> Result<ListFilter, ApiStatus> {
    ListFilter::namespace(ns)
        .with_labels(q.get("labelSelector").map_or("", String::as_str))?
        .with_fields(q.get("fieldSelector").map_or("", String::as_str))
}

fn accept(headers: &HeaderMap) -> String {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn wants_partial(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|f| f.contains("as=PartialObjectMetadata"))
}

fn render_one(
    kind: &ResourceKind,
    obj: &Value,
    accept: &str,
    q: &HashMap<String, String>,
) -> Response {
    if wants_table(accept) {
        let t = table::table(
            kind,
            [obj],
            None,
            IncludeObject::parse(q.get("includeObject").map(String::as_str)),
            true,
        );
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, TABLE_CONTENT_TYPE)],
            serde_json::to_vec(&t).unwrap_or_default(),
        )
            .into_response();
    }
    if wants_partial(accept) {
        return ok(&table::partial_metadata(obj));
    }
    ok(obj)
}

fn list_doc(kind: &ResourceKind, items: Vec<Value>, rv: Option<u64>) -> Value {
    let mut meta = json!({});
    if let Some(rv) = rv {
        meta["resourceVersion"] = json!(rv.to_string());
    }
    json!({
        "apiVersion": kind.api_version(),
        "kind": format!("{}List", kind.kind),
        "metadata": meta,
        "items": items,
    })
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    app: &AppState,
    claims: Option<&Claims>,
    group: &str,
    version: &str,
    rest: &[&str],
    parts: axum::http::request::Parts,
    q: HashMap<String, String>,
    body: Body,
) -> Result<Response, ApiStatus> {
    // /namespaces/<ns>/<plural>[/<name>[/<sub>]], except /namespaces/<name>/{status,finalize}.
    let (ns, rest) = match rest {
        ["namespaces", ns, third, ..] if *third != "status" && *third != "finalize" => {
            (Some(*ns), &rest[2..])
        }
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(*n), None),
        [p, n, s] => (*p, Some(*n), Some(*s)),
        _ => return Err(ApiStatus::no_resource()),
    };
    let gvr = GroupVersionResource::new(group, version, plural);
    let kind = app.store.kind(&gvr).ok_or_else(ApiStatus::no_resource)?;
    let status_sub = match sub {
        None => false,
        Some("status") if kind.status_subresource => true,
        Some(_) => return Err(ApiStatus::no_resource()),
    };
    let is_watch = truthy(&q, "watch");
    let verb = match (&parts.method, name) {
        (&Method::GET, None) if is_watch => "watch",
        (&Method::GET, None) => "list",
        (&Method::GET, Some(_)) => "get",
        (&Method::POST, None) => "create",
        (&Method::PUT, Some(_)) => "update",
        (&Method::PATCH, Some(_)) => "patch",
        (&Method::DELETE, Some(_)) => "delete",
        (&Method::DELETE, None) => "deletecollection",
        (m, _) => {
            return Err(ApiStatus::method_not_allowed(format!(
                "the server does not allow this method on the requested resource: {m}"
            )));
        }
    };
    if status_sub && !matches!(verb, "get" | "update" | "patch") {
        return Err(ApiStatus::method_not_allowed(
            "the status subresource supports get, update and patch",
        ));
    }
    if let (Some(c), Some(a)) = (claims, &app.config.auth) {
        let resource = match sub {
            Some(s) => format!("{plural}/{s}"),
            None => plural.to_string(),
        };
        a.authorize(
            c,
            &Attributes {
                verb,
                group,
                resource: &resource,
                namespace: ns,
                name,
            },
        )?;
    }
    if kind.namespaced && ns.is_none() && !matches!(verb, "list" | "watch") {
        return Err(ApiStatus::no_resource());
    }
    if !kind.namespaced && ns.is_some() {
        return Err(ApiStatus::no_resource());
    }
    let accept = accept(&parts.headers);
    let store = &app.store;
    let limit = app.config.max_body_bytes;
    let name_s = name.unwrap_or("");
    match verb {
        "get" => {
            let obj = store.get(&gvr, ns, name_s)?;
            Ok(render_one(&kind, &obj, &accept, &q))
        }
        "list" => {
            let filter = list_filter(ns, &q)?;
            let list = store.list(&gvr, &filter)?;
            if wants_table(&accept) {
                let t = table::table(
                    &kind,
                    list.items.iter().map(|o| &**o),
                    Some(list.resource_version),
                    IncludeObject::parse(q.get("includeObject").map(String::as_str)),
                    true,
                );
                return Ok((
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, TABLE_CONTENT_TYPE)],
                    serde_json::to_vec(&t).unwrap_or_default(),
                )
                    .into_response());
            }
            if wants_partial(&accept) {
                let items = list
                    .items
                    .iter()
                    .map(|o| table::partial_metadata(o))
                    .collect();
                let mut doc = list_doc(&kind, items, Some(list.resource_version));
                doc["apiVersion"] = json!("meta.k8s.io/v1");
                doc["kind"] = json!("PartialObjectMetadataList");
                return Ok(ok(&doc));
            }
            let items = list.items.iter().map(|o| (**o).clone()).collect();
            Ok(ok(&list_doc(&kind, items, Some(list.resource_version))))
        }
        "watch" => watch(app, &kind, &gvr, ns, &q, &accept),
        "create" => {
            let obj = parse_object(&parts.headers, &read_body(body, limit).await?)?;
            let created = store.create(&gvr, ns, obj, &write_options(&q, false))?;
            Ok(json_response(StatusCode::CREATED, &created))
        }
        "update" => {
            let obj = parse_object(&parts.headers, &read_body(body, limit).await?)?;
            let updated = store.update(&gvr, ns, name_s, obj, &write_options(&q, status_sub))?;
            Ok(ok(&updated))
        }
        "patch" => {
            let ct = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let pt = PatchType::from_content_type(ct)?;
            let patch = parse_body(&read_body(body, limit).await?, pt)?;
            let (obj, created) =
                store.patch(&gvr, ns, name_s, pt, &patch, &write_options(&q, status_sub))?;
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json_response(code, &obj))
        }
        "delete" => {
            let bytes = read_body(body, limit).await?;
            let opts = delete_options(&bytes, &q)?;
            match store.delete(&gvr, ns, name_s, &opts)? {
                Deleted::Pending(obj) => Ok(ok(&obj)),
                Deleted::Gone(obj) => Ok(ok(&status::success(
                    name_s,
                    group,
                    plural,
                    obj.pointer("/metadata/uid").and_then(Value::as_str),
                ))),
            }
        }
        "deletecollection" => {
            let bytes = read_body(body, limit).await?;
            let opts = delete_options(&bytes, &q)?;
            let filter = list_filter(ns, &q)?;
            let done = store.delete_collection(&gvr, &filter, &opts)?;
            let items = done
                .into_iter()
                .map(|d| match d {
                    Deleted::Gone(o) | Deleted::Pending(o) => (*o).clone(),
                })
                .collect();
            Ok(ok(&list_doc(&kind, items, Some(store.resource_version()))))
        }
        _ => Err(ApiStatus::no_resource()),
    }
}

fn delete_options(body: &[u8], q: &HashMap<String, String>) -> Result<DeleteOptions, ApiStatus> {
    let mut opts = DeleteOptions {
        dry_run: q.get("dryRun").is_some_and(|v| v == "All"),
        ..DeleteOptions::default()
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(opts);
    }
    let v = parse_json(body)?;
    if v.get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == "All"))
    {
        opts.dry_run = true;
    }
    opts.resource_version = v
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    opts.uid = v
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(opts)
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

fn watch(
    app: &AppState,
    kind: &ResourceKind,
    gvr: &GroupVersionResource,
    ns: Option<&str>,
    q: &HashMap<String, String>,
    accept: &str,
) -> Result<Response, ApiStatus> {
    let filter = list_filter(ns, q)?;
    let send_initial = truthy(q, "sendInitialEvents");
    let bookmarks = truthy(q, "allowWatchBookmarks");
    if send_initial && !bookmarks {
        return Err(ApiStatus::invalid(
            "sendInitialEvents requires allowWatchBookmarks=true",
        ));
    }
    let mut ws = app.store.watch(
        gvr,
        &filter,
        q.get("resourceVersion").map(String::as_str),
        send_initial,
    )?;
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(app.config.default_watch_timeout);
    let as_table = wants_table(accept);
    let include = IncludeObject::parse(q.get("includeObject").map(String::as_str));
    let interval = app.config.bookmark_interval.max(Duration::from_millis(10));
    let kind = kind.clone();
    let (tx, mut rx) = mpsc::channel::<Bytes>(32);
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        let mut headers = true;
        let render = |ev: &WatchEvent, headers: &mut bool| -> Value {
            let mut v = ev.to_json(&kind);
            if as_table {
                let obj = match ev {
                    WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
                        Some(o.clone())
                    }
                    _ => None,
                };
                if let Some(o) = obj {
                    v["object"] = table::table(&kind, [&*o], None, include, *headers);
                    *headers = false;
                }
            }
            v
        };
        loop {
            let ev = tokio::select! {
                _ = tx.closed() => break,
                _ = tokio::time::sleep_until(deadline) => {
                    if bookmarks {
                        ws.queue_bookmark();
                        for ev in ws.drain_pending() {
                            if tx.send(line(&render(&ev, &mut headers))).await.is_err() {
                                break;
                            }
                        }
                    }
                    break;
                }
                _ = ticker.tick(), if bookmarks => {
                    ws.queue_bookmark();
                    continue;
                }
                ev = ws.next() => ev,
            };
            let Some(ev) = ev else { break };
            if tx.send(line(&render(&ev, &mut headers))).await.is_err() {
                break;
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|o| o.map(Ok::<Bytes, Infallible>))
    });
    let ct = if as_table {
        TABLE_CONTENT_TYPE
    } else {
        "application/json"
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, ct)],
        Body::from_stream(stream),
    )
        .into_response())
}
