//! The no-secrets policy of the evidence writer: values that look like secrets are replaced by
//! `********` before anything is written, and the manifest lists where that happened.
//!
//! Evidence is kept for months and read by people outside the team, so it must never hold a
//! credential. Failing the write instead would lose the record of a run (a failover's, say),
//! which is worse for an audit than a masked value, so the policy is to redact and say so:
//!
//! - In JSON (`data` entries, `summary`, `report` details): the scalar value (string, number)
//!   of any key whose name looks secret ([`is_secret_key`]) is masked; objects and lists under
//!   such keys are searched further, so a `nodePublishSecretRef: {name, namespace}` reference
//!   stays readable. Every value under `data` and `stringData` of a `kind: Secret` is masked.
//! - In CSV (`data` rows): the same rule applied to column names.
//! - In log lines and free text: `key=value`, `key: value` and `"key": "value"` pairs with a
//!   secret-looking key, and the word after `Bearer` or `Basic`, are masked. This is a best
//!   effort over free text; callers must still not log credentials.
//! - Files taken in with `files` are copied byte for byte and are the caller's responsibility.

use serde_json::Value;

/// What replaces a secret value.
pub const MASK: &str = "********";

/// Parts of a key name that mark its value as secret, compared without case, `_`, `-`, `.`.
const SECRET_MARKERS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "accesskey",
    "credential",
    "authorization",
    "cookie",
    "sessionkey",
];

/// Endings that mark a key as naming or pointing at a secret, not holding one
/// (`secretName`, `tokenPath`, `passwordFile`, `expirationSeconds`, ...).
const REFERENCE_SUFFIXES: &[&str] = &["name", "namespace", "ref", "path", "file", "seconds", "id"];

/// Whether a value stored under `key` is treated as a secret.
pub fn is_secret_key(key: &str) -> bool {
    let normal: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_MARKERS.iter().any(|m| normal.contains(m))
        && !REFERENCE_SUFFIXES.iter().any(|s| normal.ends_with(s))
}

/// Masks secrets in `value` in place; returns the JSON pointer of each masked value.
pub fn redact_json(value: &mut Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(value, &mut String::new(), &mut found);
    found
}

fn walk(value: &mut Value, pointer: &mut String, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let is_secret_object = map.get("kind").and_then(Value::as_str) == Some("Secret");
            for (key, child) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                if is_secret_object && (key == "data" || key == "stringData") {
                    mask_all(child, pointer, found);
                } else if is_secret_key(key) && mask_scalar(child) {
                    found.push(pointer.clone());
                } else {
                    walk(child, pointer, found);
                }
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&index.to_string());
                walk(child, pointer, found);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// Masks every scalar under `value` (the payload of a Kubernetes Secret).
fn mask_all(value: &mut Value, pointer: &mut String, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                mask_all(child, pointer, found);
                pointer.truncate(len);
            }
        }
        other => {
            if mask_scalar(other) {
                found.push(pointer.clone());
            }
        }
    }
}

/// Replaces a string or number with [`MASK`]; leaves null, booleans and containers alone.
fn mask_scalar(value: &mut Value) -> bool {
    if matches!(value, Value::String(_) | Value::Number(_)) {
        *value = Value::String(MASK.to_owned());
        true
    } else {
        false
    }
}

/// Masks secret-looking pairs in one line of free text; returns the line and whether anything
/// was masked. Whitespace between words is kept as it was.
pub fn redact_text(line: &str) -> (String, bool) {
    let mut out = String::with_capacity(line.len());
    let mut masked = false;
    let mut mask_next = false;
    let mut rest = line;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_end);
        if word.is_empty() {
            let space_end = rest
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(rest.len());
            out.push_str(&rest[..space_end]);
            rest = &rest[space_end..];
            continue;
        }
        if mask_next && !is_auth_scheme(word) {
            out.push_str(MASK);
            masked = true;
            mask_next = false;
        } else {
            let (text, next) = redact_word(word);
            masked |= text != word;
            mask_next = next;
            out.push_str(&text);
        }
        rest = after;
    }
    (out, masked)
}

/// `Bearer` or `Basic`: the word after it is a credential.
fn is_auth_scheme(word: &str) -> bool {
    word.eq_ignore_ascii_case("bearer") || word.eq_ignore_ascii_case("basic")
}

/// One word: `key=value` / `key:value` get their value masked; `key:` / `key=` / `Bearer` ask
/// for the next word to be masked.
fn redact_word(word: &str) -> (String, bool) {
    if is_auth_scheme(word) {
        return (word.to_owned(), true);
    }
    if let Some(at) = word.find(['=', ':']) {
        let key = word[..at].trim_matches(|c: char| matches!(c, '"' | '\'' | '-' | '{' | ','));
        if is_secret_key(key) {
            let value = &word[at + 1..];
            return if value.is_empty() {
                (word.to_owned(), true)
            } else {
                (format!("{}{MASK}", &word[..=at]), false)
            };
        }
    }
    (word.to_owned(), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys() {
        for key in [
            "password",
            "db_password",
            "token",
            "api_key",
            "apiKey",
            "secret_key",
            "X-Auth-Token",
            "aws_secret_access_key",
            "privateKey",
            "client_secret",
            "Authorization",
            "bearerToken",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "name",
            "secretName",
            "nodePublishSecretRef",
            "tokenPath",
            "passwordFile",
            "expirationSeconds",
            "serviceAccountName",
            "aws_access_key_id",
            "volumes",
            "bytes",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn json_secrets_are_masked_and_located() {
        let mut value = json!({
            "s3": {"bucket": "oadp", "secret_key": "abc", "access_key": "AKIA", "token": null},
            "pvs": [{"spec": {"csi": {"nodePublishSecretRef": {"name": "nfs-creds", "namespace": "x"}}}}],
            "objects": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                         "data": {"password": "cGFzcw==", "user": "dXNlcg=="}, "type": "Opaque"}],
            "pin": {"password": 1234, "enabled": true},
        });
        let found = redact_json(&mut value);
        assert_eq!(
            found,
            [
                "/s3/secret_key",
                "/s3/access_key",
                "/objects/0/data/password",
                "/objects/0/data/user",
                "/pin/password"
            ]
        );
        assert_eq!(value["s3"]["secret_key"], MASK);
        assert_eq!(value["s3"]["bucket"], "oadp");
        assert_eq!(value["s3"]["token"], Value::Null);
        assert_eq!(
            value["pvs"][0]["spec"]["csi"]["nodePublishSecretRef"]["name"],
            "nfs-creds"
        );
        assert_eq!(value["objects"][0]["data"]["user"], MASK);
        assert_eq!(value["objects"][0]["metadata"]["name"], "creds");
        assert!(!value.to_string().contains("cGFzcw=="));
        assert!(!value.to_string().contains("abc"));
    }

    #[test]
    fn text_secrets_are_masked() {
        let cases = [
            ("login password=hunter2 ok", "login password=******** ok"),
            ("token: abc123  next", "token: ********  next"),
            (
                "header Authorization: Bearer eyJhbGci",
                "header Authorization: Bearer ********",
            ),
            (
                "{\"secret_key\": \"x\", \"b\": 1}",
                "{\"secret_key\": ******** \"b\": 1}",
            ),
            ("synced 3 volumes, 0 failed", "synced 3 volumes, 0 failed"),
            ("curl -H Basic dXNlcjpwYXNz", "curl -H Basic ********"),
            ("secretName=nfs-creds", "secretName=nfs-creds"),
        ];
        for (line, want) in cases {
            let (got, masked) = redact_text(line);
            assert_eq!(got, want);
            assert_eq!(masked, line != want, "{line}");
        }
    }
}
