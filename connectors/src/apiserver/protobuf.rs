//! A minimal decoder of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
//!
//! kubectl's typed commands (`create configmap|secret|namespace|service|deployment`, `run`) send
//! protobuf. The server decodes the fields those generators set, for ConfigMap, Secret,
//! Namespace, Service, Deployment and Pod, into JSON; other kinds get 415 UnsupportedMediaType.
//! Responses are always JSON (kubectl also accepts it). Unknown fields are skipped.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::status::ApiStatus;

/// Whether a `Content-Type` is Kubernetes protobuf.
pub fn is_protobuf(content_type: &str) -> bool {
    content_type.starts_with("application/vnd.kubernetes.protobuf")
}

#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    Bool,
    Int,
    Msg(&'static [F]),
    MapStr,
    MapBytes,
    IntOrString,
}

#[derive(Debug, Clone, Copy)]
struct F {
    num: u64,
    name: &'static str,
    ty: Ty,
    repeated: bool,
}

const fn f(num: u64, name: &'static str, ty: Ty) -> F {
    F {
        num,
        name,
        ty,
        repeated: false,
    }
}

const fn r(num: u64, name: &'static str, ty: Ty) -> F {
    F {
        num,
        name,
        ty,
        repeated: true,
    }
}

const OWNER_REF: &[F] = &[
    f(1, "kind", Ty::Str),
    f(3, "name", Ty::Str),
    f(4, "uid", Ty::Str),
    f(5, "apiVersion", Ty::Str),
    f(6, "controller", Ty::Bool),
    f(7, "blockOwnerDeletion", Ty::Bool),
];
const OBJECT_META: &[F] = &[
    f(1, "name", Ty::Str),
    f(2, "generateName", Ty::Str),
    f(3, "namespace", Ty::Str),
    f(6, "resourceVersion", Ty::Str),
    f(11, "labels", Ty::MapStr),
    f(12, "annotations", Ty::MapStr),
    r(13, "ownerReferences", Ty::Msg(OWNER_REF)),
    r(14, "finalizers", Ty::Str),
];
const LABEL_SELECTOR: &[F] = &[f(1, "matchLabels", Ty::MapStr)];
const CONTAINER_PORT: &[F] = &[
    f(1, "name", Ty::Str),
    f(2, "hostPort", Ty::Int),
    f(3, "containerPort", Ty::Int),
    f(4, "protocol", Ty::Str),
];
const ENV_VAR: &[F] = &[f(1, "name", Ty::Str), f(2, "value", Ty::Str)];
const CONTAINER: &[F] = &[
    f(1, "name", Ty::Str),
    f(2, "image", Ty::Str),
    r(3, "command", Ty::Str),
    r(4, "args", Ty::Str),
    f(5, "workingDir", Ty::Str),
    r(6, "ports", Ty::Msg(CONTAINER_PORT)),
    r(7, "env", Ty::Msg(ENV_VAR)),
    f(14, "imagePullPolicy", Ty::Str),
];
const POD_SPEC: &[F] = &[
    r(2, "containers", Ty::Msg(CONTAINER)),
    f(3, "restartPolicy", Ty::Str),
    f(4, "terminationGracePeriodSeconds", Ty::Int),
    f(6, "dnsPolicy", Ty::Str),
    f(7, "nodeSelector", Ty::MapStr),
    f(8, "serviceAccountName", Ty::Str),
    f(10, "nodeName", Ty::Str),
];
const POD_TEMPLATE: &[F] = &[
    f(1, "metadata", Ty::Msg(OBJECT_META)),
    f(2, "spec", Ty::Msg(POD_SPEC)),
];
const DEPLOYMENT_SPEC: &[F] = &[
    f(1, "replicas", Ty::Int),
    f(2, "selector", Ty::Msg(LABEL_SELECTOR)),
    f(3, "template", Ty::Msg(POD_TEMPLATE)),
];
const SERVICE_PORT: &[F] = &[
    f(1, "name", Ty::Str),
    f(2, "protocol", Ty::Str),
    f(3, "port", Ty::Int),
    f(4, "targetPort", Ty::IntOrString),
    f(5, "nodePort", Ty::Int),
];
const SERVICE_SPEC: &[F] = &[
    r(1, "ports", Ty::Msg(SERVICE_PORT)),
    f(2, "selector", Ty::MapStr),
    f(3, "clusterIP", Ty::Str),
    f(4, "type", Ty::Str),
    r(5, "externalIPs", Ty::Str),
    f(11, "externalName", Ty::Str),
];
const NAMESPACE_SPEC: &[F] = &[r(1, "finalizers", Ty::Str)];
const CONFIG_MAP: &[F] = &[
    f(1, "metadata", Ty::Msg(OBJECT_META)),
    f(2, "data", Ty::MapStr),
    f(3, "binaryData", Ty::MapBytes),
    f(4, "immutable", Ty::Bool),
];
const SECRET: &[F] = &[
    f(1, "metadata", Ty::Msg(OBJECT_META)),
    f(2, "data", Ty::MapBytes),
    f(3, "type", Ty::Str),
    f(4, "stringData", Ty::MapStr),
    f(5, "immutable", Ty::Bool),
];
const NAMESPACE: &[F] = &[
    f(1, "metadata", Ty::Msg(OBJECT_META)),
    f(2, "spec", Ty::Msg(NAMESPACE_SPEC)),
];
const SERVICE: &[F] = &[
    f(1, "metadata", Ty::Msg(OBJECT_META)),
    f(2, "spec", Ty::Msg(SERVICE_SPEC)),
];
const DEPLOYMENT: &[F] = &[
    f(1, "metadata", Ty::Msg(OBJECT_META)),
    f(2, "spec", Ty::Msg(DEPLOYMENT_SPEC)),
];
const POD: &[F] = &[
    f(1, "metadata", Ty::Msg(OBJECT_META)),
    f(2, "spec", Ty::Msg(POD_SPEC)),
];

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

fn malformed() -> ApiStatus {
    ApiStatus::bad_request("malformed protobuf body")
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiStatus> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.i).ok_or_else(malformed)?;
            self.i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ApiStatus> {
        let end = self.i.checked_add(n).ok_or_else(malformed)?;
        let s = self.b.get(self.i..end).ok_or_else(malformed)?;
        self.i = end;
        Ok(s)
    }

    fn field(&mut self) -> Result<Option<(u64, Wire<'a>)>, ApiStatus> {
        if self.i >= self.b.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Wire::Other
            }
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| malformed())?;
                Wire::Bytes(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                Wire::Other
            }
            _ => return Err(malformed()),
        };
        Ok(Some((key >> 3, wire)))
    }
}

fn string(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

// A map entry message {key = 1, value = 2}.
fn map_entry(b: &[u8], bytes: bool) -> Result<(String, Value), ApiStatus> {
    let mut rd = Reader { b, i: 0 };
    let (mut k, mut v) = (String::new(), json!(""));
    while let Some((n, w)) = rd.field()? {
        match (n, w) {
            (1, Wire::Bytes(x)) => k = String::from_utf8_lossy(x).into_owned(),
            (2, Wire::Bytes(x)) if bytes => v = Value::String(STANDARD.encode(x)),
            (2, Wire::Bytes(x)) => v = string(x),
            _ => {}
        }
    }
    Ok((k, v))
}

fn int_or_string(b: &[u8]) -> Result<Value, ApiStatus> {
    let mut rd = Reader { b, i: 0 };
    let (mut ty, mut int, mut s) = (0, 0i64, String::new());
    while let Some((n, w)) = rd.field()? {
        match (n, w) {
            (1, Wire::Varint(x)) => ty = x,
            (2, Wire::Varint(x)) => int = x as i64,
            (3, Wire::Bytes(x)) => s = String::from_utf8_lossy(x).into_owned(),
            _ => {}
        }
    }
    Ok(if ty == 1 { json!(s) } else { json!(int) })
}

fn message(b: &[u8], schema: &[F]) -> Result<Value, ApiStatus> {
    let mut out = Map::new();
    let mut rd = Reader { b, i: 0 };
    while let Some((n, w)) = rd.field()? {
        let Some(fd) = schema.iter().find(|fd| fd.num == n) else {
            continue;
        };
        let v = match (fd.ty, w) {
            (Ty::Str, Wire::Bytes(x)) => string(x),
            (Ty::Bool, Wire::Varint(x)) => json!(x != 0),
            (Ty::Int, Wire::Varint(x)) => json!(x as i64),
            (Ty::Msg(s), Wire::Bytes(x)) => message(x, s)?,
            (Ty::IntOrString, Wire::Bytes(x)) => int_or_string(x)?,
            (Ty::MapStr | Ty::MapBytes, Wire::Bytes(x)) => {
                let (k, v) = map_entry(x, matches!(fd.ty, Ty::MapBytes))?;
                let m = out
                    .entry(fd.name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(m) = m.as_object_mut() {
                    m.insert(k, v);
                }
                continue;
            }
            _ => continue,
        };
        if fd.repeated {
            let a = out
                .entry(fd.name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(a) = a.as_array_mut() {
                a.push(v);
            }
        } else {
            out.insert(fd.name.to_string(), v);
        }
    }
    Ok(Value::Object(out))
}

/// Decodes a protobuf body (the `k8s\0` envelope around a `runtime.Unknown`) of a supported
/// kind into a JSON object.
pub fn decode(body: &[u8]) -> Result<Value, ApiStatus> {
    let inner = body
        .strip_prefix(b"k8s\x00")
        .ok_or_else(|| ApiStatus::bad_request("protobuf body without the k8s envelope"))?;
    let mut rd = Reader { b: inner, i: 0 };
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    while let Some((n, w)) = rd.field()? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                let mut t = Reader { b: tm, i: 0 };
                while let Some((m, w)) = t.field()? {
                    match (m, w) {
                        (1, Wire::Bytes(x)) => {
                            api_version = String::from_utf8_lossy(x).into_owned()
                        }
                        (2, Wire::Bytes(x)) => kind = String::from_utf8_lossy(x).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let schema = match (api_version.as_str(), kind.as_str()) {
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "Service") => SERVICE,
        ("v1", "Pod") => POD,
        ("apps/v1", "Deployment") => DEPLOYMENT,
        _ => {
            return Err(ApiStatus::unsupported_media_type(format!(
                "protobuf bodies of {api_version} {kind} are not supported; send JSON"
            )));
        }
    };
    let mut obj = message(raw, schema)?;
    if let Some(o) = obj.as_object_mut() {
        o.insert("apiVersion".into(), json!(api_version));
        o.insert("kind".into(), json!(kind));
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(field: u8, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![(field << 3) | 2, bytes.len() as u8];
        v.extend_from_slice(bytes);
        v
    }

    #[test]
    fn configmap() -> Result<(), ApiStatus> {
        let meta = ld(1, b"cm1");
        let entry = [ld(1, b"a"), ld(2, b"1")].concat();
        let cm = [ld(1, &meta), ld(2, &entry)].concat();
        let tm = [ld(1, b"v1"), ld(2, b"ConfigMap")].concat();
        let body = [b"k8s\x00".to_vec(), ld(1, &tm), ld(2, &cm)].concat();
        assert_eq!(
            decode(&body)?,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1"},
                   "data": {"a": "1"}})
        );
        Ok(())
    }
}
