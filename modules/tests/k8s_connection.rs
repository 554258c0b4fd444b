//! The connection options every Kubernetes module shares: tokens, K8S_AUTH_* fallbacks,
//! timeouts.

use crate::fake::Site;
use crate::util::{run, run_with_env};
use fake_apiserver::Config;
use serde_json::json;

fn guarded() -> Site {
    Site::with(Config {
        token: Some("right-token".into()),
        ..Config::default()
    })
}

#[test]
fn a_bad_token_fails_naming_the_host_and_never_the_token() {
    let site = guarded();
    let r = run(
        "k8s_inventory",
        &json!({"host": site.url(), "api_key": "wrong-token"}),
    );
    r.assert_failed();
    let msg = r.msg();
    assert!(msg.contains("401 Unauthorized"), "{msg}");
    assert!(
        msg.contains(&format!("the API server at {}", site.url())),
        "{msg}"
    );
    assert!(!r.json.to_string().contains("wrong-token"));

    let ok = run(
        "k8s_inventory",
        &json!({"host": site.url(), "api_key": "right-token", "namespaces": ["default"]}),
    );
    ok.assert_ok();
}

#[test]
fn k8s_auth_environment_variables_are_the_fallback() {
    let site = guarded();
    let env = [
        ("K8S_AUTH_HOST", site.url()),
        ("K8S_AUTH_API_KEY", "right-token".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = run_with_env(
        "k8s_inventory",
        &json!({"kinds": ["PersistentVolume"]}),
        &env,
    );
    r.assert_ok();
    // An option given wins over the environment.
    let r = run_with_env("k8s_inventory", &json!({"api_key": "wrong-token"}), &env);
    r.assert_failed();
    assert!(r.msg().contains("401"), "{}", r.msg());
}

#[test]
fn a_slow_api_server_hits_the_request_timeout() {
    let site = Site::start();
    site.kubectl(
        &["create", "--raw", "/_fake/latency", "-f", "-"],
        Some(r#"{"ms": 3000}"#),
    );
    let r = run(
        "k8s_inventory",
        &site.args(json!({"kinds": ["PersistentVolume"], "request_timeout": 1})),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        format!(
            "list PersistentVolumes: no answer from the API server at {} within 1s (request_timeout)",
            site.url()
        )
    );
}
