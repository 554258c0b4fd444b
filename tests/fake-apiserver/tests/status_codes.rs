//! Error cases answer with the status code and `Status.reason` the real API server uses.

use fake_apiserver::Config;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::util::{client, client_from_yaml, control, raw, start};

const CM: &[u8] =
    br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":"v"}}"#;

fn reason(v: &Value) -> &str {
    v["reason"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn error_cases_return_the_real_codes() {
    let server = start(Config::default()).await;
    let c = client(&server).await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let json = "application/json";

    assert_eq!(raw(&c, "POST", cms, json, CM).await.0, 200);
    let (code, s) = raw(&c, "POST", cms, json, CM).await;
    assert_eq!((code, reason(&s)), (409, "AlreadyExists"));

    let stale =
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","resourceVersion":"1"}}"#;
    let (code, s) = raw(&c, "PUT", &format!("{cms}/x"), json, stale).await;
    assert_eq!((code, reason(&s)), (409, "Conflict"));

    let (code, s) = raw(&c, "GET", &format!("{cms}/missing"), json, b"").await;
    assert_eq!(
        (code, reason(&s), s["message"].as_str().unwrap()),
        (404, "NotFound", "configmaps \"missing\" not found")
    );

    let (code, s) = raw(&c, "POST", cms, json, br#"{"apiVersion": "v1", "kind": "#).await;
    assert_eq!((code, reason(&s)), (400, "BadRequest"));

    for unknown in [
        "/api/v1/widgets",
        "/apis/nope.example.com/v1/things",
        "/api/v1/namespaces/default/persistentvolumes",
    ] {
        let (code, s) = raw(&c, "GET", unknown, json, b"").await;
        assert_eq!((code, reason(&s)), (404, "NotFound"), "{unknown}");
    }

    let (code, s) = raw(&c, "POST", "/api/v1/namespaces/nope/configmaps", json, CM).await;
    assert_eq!(
        (code, s["message"].as_str().unwrap()),
        (404, "namespaces \"nope\" not found")
    );

    let bad_name = br#"{"metadata":{"name":"Not_Valid"}}"#;
    let (code, s) = raw(&c, "POST", cms, json, bad_name).await;
    assert_eq!((code, reason(&s)), (422, "Invalid"));

    let vs = "/apis/snapshot.storage.k8s.io/v1/namespaces/default/volumesnapshots";
    let body = br#"{"metadata":{"name":"s"},"spec":{"source":{"persistentVolumeClaimName":"p"}}}"#;
    assert_eq!(raw(&c, "POST", vs, json, body).await.0, 200);
    let (code, s) = raw(
        &c,
        "PATCH",
        &format!("{vs}/s"),
        "application/strategic-merge-patch+json",
        b"{}",
    )
    .await;
    assert_eq!(
        (code, reason(&s)),
        (415, "UnsupportedMediaType"),
        "custom resources refuse strategic merge"
    );

    let failing_test = br#"[{"op":"test","path":"/data/k","value":"other"}]"#;
    let (code, _) = raw(
        &c,
        "PATCH",
        &format!("{cms}/x"),
        "application/json-patch+json",
        failing_test,
    )
    .await;
    assert_eq!(code, 422);

    let precondition = br#"{"preconditions":{"uid":"not-the-uid"}}"#;
    let (code, s) = raw(&c, "DELETE", &format!("{cms}/x"), json, precondition).await;
    assert_eq!((code, reason(&s)), (409, "Conflict"));
    server.shutdown().await;
}

#[tokio::test]
async fn expired_history_and_continue_tokens_are_410() {
    let server = start(Config::default()).await;
    let c = client(&server).await;
    let cms = "/api/v1/namespaces/default/configmaps";
    for name in ["a", "b", "c"] {
        let body = format!(r#"{{"metadata":{{"name":"{name}"}}}}"#);
        raw(&c, "POST", cms, "application/json", body.as_bytes()).await;
    }
    let (_, page) = raw(
        &c,
        "GET",
        &format!("{cms}?limit=1"),
        "application/json",
        b"",
    )
    .await;
    let token = page["metadata"]["continue"].as_str().unwrap().to_owned();
    control(&c, "/_fake/expire-history", "{}").await;

    let (code, s) = raw(
        &c,
        "GET",
        &format!("{cms}?limit=1&continue={token}"),
        "application/json",
        b"",
    )
    .await;
    assert_eq!((code, reason(&s)), (410, "Expired"));

    // A watch from before the history answers with one ERROR event carrying the 410 Status,
    // as the real server does (that is what makes clients relist), then ends.
    let (code, text) = raw(
        &c,
        "GET",
        &format!("{cms}?watch=true&resourceVersion=1"),
        "application/json",
        b"",
    )
    .await;
    assert_eq!(code, 200);
    // One event line parses as one JSON value; more lines would stay text.
    let event = match text {
        Value::String(lines) => panic!("expected exactly one event, got {lines}"),
        event => event,
    };
    assert_eq!(event["type"], "ERROR");
    assert_eq!(
        (event["object"]["code"].as_u64(), reason(&event["object"])),
        (Some(410), "Expired")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn injected_failures_and_bearer_tokens() {
    let server = start(Config {
        token: Some("s3cret-token".into()),
        ..Config::default()
    })
    .await;
    let good = client(&server).await;
    let namespaces: Api<Namespace> = Api::all(good.clone());
    assert!(
        namespaces
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some("default"))
    );

    for token in ["wrong", ""] {
        let yaml = server.kubeconfig().replace("s3cret-token", token);
        let bad: Api<Namespace> = Api::all(client_from_yaml(&yaml).await);
        let err = bad.list(&ListParams::default()).await.unwrap_err();
        assert!(
            matches!(&err, kube::Error::Api(s) if s.code == 401 && s.reason == "Unauthorized"),
            "{err}"
        );
        assert!(
            !format!("{err:?}").contains("s3cret"),
            "the token must not leak into errors"
        );
    }

    control(&good, "/_fake/fail", r#"{"count": 1, "status": 500}"#).await;
    let err = namespaces.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 500 && s.reason == "InternalError"),
        "{err}"
    );
    namespaces.list(&ListParams::default()).await.unwrap();

    // kube-rs retries 429 after the server's Retry-After: one injected 429 is absorbed.
    control(&good, "/_fake/fail", r#"{"count": 1, "status": 429}"#).await;
    namespaces.list(&ListParams::default()).await.unwrap();

    let (code, s) = raw(
        &good,
        "POST",
        "/_fake/latency",
        "application/json",
        br#"{"ms": "soon"}"#,
    )
    .await;
    assert_eq!(code, 400);
    assert!(s["message"].as_str().unwrap().contains("ms"), "{s}");
    let (code, _) = raw(
        &good,
        "POST",
        "/_fake/fail",
        "application/json",
        br#"{"count": 1, "status": 418}"#,
    )
    .await;
    assert_eq!(code, 400);
    server.shutdown().await;
}
