//! Kubernetes protobuf request bodies, for the few kinds kubectl's generator subcommands send
//! that way (`kubectl create namespace|configmap|secret`): the `k8s\0` envelope around a
//! `runtime.Unknown`, whose `raw` bytes are the typed object. Only the fields those commands
//! set are read (metadata name/generateName/namespace/labels/annotations/finalizers, ConfigMap
//! data/binaryData/immutable, Secret data/stringData/type/immutable, Namespace finalizers);
//! other kinds are refused with 415, as before.

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// The media type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// One protobuf field value (wire types 0, 1, 2, 5).
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

/// The fields of one message, in order.
fn fields(buf: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let wire = match key & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            1 => {
                pos += 8;
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| "length overflow")?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or("truncated field")?;
                let bytes = &buf[pos..end];
                pos = end;
                Wire::Bytes(bytes)
            }
            5 => {
                pos += 4;
                Wire::Fixed
            }
            other => return Err(format!("unsupported wire type {other}")),
        };
        out.push((key >> 3, wire));
    }
    if pos > buf.len() {
        return Err("truncated message".into());
    }
    Ok(out)
}

fn string(w: &Wire<'_>) -> Result<String, String> {
    match w {
        Wire::Bytes(b) => String::from_utf8(b.to_vec()).map_err(|e| e.to_string()),
        _ => Err("expected a string".into()),
    }
}

fn bytes<'a>(w: &Wire<'a>) -> Result<&'a [u8], String> {
    match w {
        Wire::Bytes(b) => Ok(b),
        _ => Err("expected bytes".into()),
    }
}

/// A `map<string, string>` entry (or `map<string, bytes>` with `as_base64`).
fn map_entry(w: &Wire<'_>, as_base64: bool) -> Result<(String, Value), String> {
    let (mut key, mut value) = (String::new(), json!(""));
    for (n, f) in fields(bytes(w)?)? {
        match n {
            1 => key = string(&f)?,
            2 if as_base64 => {
                value = json!(base64::engine::general_purpose::STANDARD.encode(bytes(&f)?))
            }
            2 => value = json!(string(&f)?),
            _ => {}
        }
    }
    Ok((key, value))
}

fn insert_entry(obj: &mut Map<String, Value>, field: &str, entry: (String, Value)) {
    let map = obj.entry(field).or_insert_with(|| json!({}));
    map[entry.0] = entry.1;
}

fn object_meta(buf: &[u8]) -> Result<Value, String> {
    let mut m = Map::new();
    for (n, w) in fields(buf)? {
        match n {
            1 => drop(m.insert("name".into(), json!(string(&w)?))),
            2 => drop(m.insert("generateName".into(), json!(string(&w)?))),
            3 => drop(m.insert("namespace".into(), json!(string(&w)?))),
            11 => insert_entry(&mut m, "labels", map_entry(&w, false)?),
            12 => insert_entry(&mut m, "annotations", map_entry(&w, false)?),
            14 => {
                let list = m.entry("finalizers").or_insert_with(|| json!([]));
                list.as_array_mut()
                    .expect("made an array")
                    .push(json!(string(&w)?));
            }
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

fn typed(kind: &str, raw: &[u8]) -> Result<Value, String> {
    let mut obj = Map::new();
    for (n, w) in fields(raw)? {
        match (kind, n) {
            (_, 1) => drop(obj.insert("metadata".into(), object_meta(bytes(&w)?)?)),
            ("ConfigMap", 2) => insert_entry(&mut obj, "data", map_entry(&w, false)?),
            ("ConfigMap", 3) => insert_entry(&mut obj, "binaryData", map_entry(&w, true)?),
            ("ConfigMap", 4) | ("Secret", 5) => {
                if let Wire::Varint(v) = w {
                    obj.insert("immutable".into(), json!(v != 0));
                }
            }
            ("Secret", 2) => insert_entry(&mut obj, "data", map_entry(&w, true)?),
            ("Secret", 3) => drop(obj.insert("type".into(), json!(string(&w)?))),
            ("Secret", 4) => insert_entry(&mut obj, "stringData", map_entry(&w, false)?),
            ("Namespace", 2) => {
                let mut finalizers = Vec::new();
                for (fnum, fw) in fields(bytes(&w)?)? {
                    if fnum == 1 {
                        finalizers.push(json!(string(&fw)?));
                    }
                }
                obj.insert("spec".into(), json!({"finalizers": finalizers}));
            }
            _ => {}
        }
    }
    Ok(Value::Object(obj))
}

/// Why a protobuf body was not read.
#[derive(Debug, PartialEq)]
pub enum Error {
    /// A kind this reader does not know (the client should send JSON): 415.
    Unsupported(String),
    /// Not valid protobuf: 400.
    Malformed(String),
}

/// Decodes a protobuf body of a Namespace, ConfigMap or Secret into its JSON form.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    read(body).map_err(Error::Malformed)?
}

fn read(body: &[u8]) -> Result<Result<Value, Error>, String> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or("missing the k8s protobuf envelope")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, w) in fields(rest)? {
        match n {
            1 => {
                for (tn, tw) in fields(bytes(&w)?)? {
                    match tn {
                        1 => api_version = string(&tw)?,
                        2 => kind = string(&tw)?,
                        _ => {}
                    }
                }
            }
            2 => raw = bytes(&w)?,
            _ => {}
        }
    }
    if !matches!(
        (api_version.as_str(), kind.as_str()),
        ("v1", "Namespace" | "ConfigMap" | "Secret")
    ) {
        return Ok(Err(Error::Unsupported(format!(
            "protobuf bodies are read for v1 Namespace, ConfigMap and Secret only, not {api_version} {kind}; send JSON"
        ))));
    }
    let mut obj = typed(&kind, raw)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(Ok(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![
            u8::try_from(n << 3 | 2).unwrap(),
            u8::try_from(payload.len()).unwrap(),
        ];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_a_config_map_like_kubectl_create_sends_it() {
        let meta = [
            field(1, b"settings"),
            field(11, &[field(1, b"app"), field(2, b"lab")].concat()),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
        ]
        .concat();
        let unknown = [
            field(1, &[field(1, b"v1"), field(2, b"ConfigMap")].concat()),
            field(2, &raw),
        ]
        .concat();
        let body = [b"k8s\0".as_slice(), &unknown].concat();
        assert_eq!(
            decode(&body).unwrap(),
            json!({"metadata": {"name": "settings", "labels": {"app": "lab"}}, "data": {"k": "v"}, "apiVersion": "v1", "kind": "ConfigMap"})
        );
        let deployment = [
            b"k8s\0".as_slice(),
            &field(1, &[field(1, b"apps/v1"), field(2, b"Deployment")].concat()),
        ]
        .concat();
        assert!(
            matches!(decode(&deployment), Err(Error::Unsupported(m)) if m.contains("Deployment"))
        );
        assert!(matches!(
            decode(b"k8s\0\x0a\x09short"),
            Err(Error::Malformed(_))
        ));
    }
}
