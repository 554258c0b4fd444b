//! The connection options every Kubernetes module shares: tokens, TLS, K8S_AUTH_* fallbacks,
//! timeouts.

use crate::fake::Site;
use crate::util::{run, run_with_env};
use fake_apiserver::Config;
use serde_json::json;

/// An HTTPS server that wants `right-token` (its kubeconfig carries the token and the CA).
fn guarded() -> Site {
    Site::with(Config {
        token: Some("right-token".into()),
        tls: true,
        ..Config::default()
    })
}

#[test]
fn a_bad_token_fails_naming_the_host_and_never_the_token() {
    let site = guarded();
    let r = run(
        "k8s_inventory",
        &site.args(json!({"api_key": "wrong-token"})),
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
        &site.args(json!({"namespaces": ["default"]})),
    );
    ok.assert_ok();
}

#[test]
fn host_and_token_alone_need_the_ca_or_validate_certs_false() {
    let site = guarded();
    let direct =
        json!({"host": site.url(), "api_key": "right-token", "kinds": ["PersistentVolume"]});
    let r = run("k8s_inventory", &direct);
    r.assert_failed();
    assert!(
        r.msg()
            .contains(&format!("cannot reach the API server at {}", site.url())),
        "{}",
        r.msg()
    );

    let mut insecure = direct.clone();
    insecure["validate_certs"] = json!(false);
    run("k8s_inventory", &insecure).assert_ok();

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, site.ca_pem()).unwrap();
    let mut pinned = direct.clone();
    pinned["ca_cert"] = json!(ca.display().to_string());
    run("k8s_inventory", &pinned).assert_ok();
}

#[test]
fn k8s_auth_environment_variables_are_the_fallback() {
    let site = guarded();
    let url = site.url();
    let env = [
        ("K8S_AUTH_HOST", url.as_str()),
        ("K8S_AUTH_API_KEY", "right-token"),
        ("K8S_AUTH_VERIFY_SSL", "no"),
    ];
    run_with_env(
        "k8s_inventory",
        &json!({"kinds": ["PersistentVolume"]}),
        &env,
    )
    .assert_ok();
    // An option given wins over the environment.
    let r = run_with_env("k8s_inventory", &json!({"api_key": "wrong-token"}), &env);
    r.assert_failed();
    assert!(r.msg().contains("401"), "{}", r.msg());
    let kubeconfig = site.kubeconfig.display().to_string();
    let r = run_with_env(
        "vm_status",
        &json!({}),
        &[("K8S_AUTH_KUBECONFIG", kubeconfig.as_str())],
    );
    r.assert_ok();
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
