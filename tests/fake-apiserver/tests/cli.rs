//! The `fake-apiserver` binary and the synchronous `BlockingServer`, as the lab and other
//! tests use them.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use fake_apiserver::{BlockingServer, Config};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt as _;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::util::client_from_yaml;

const BIN: &str = env!("CARGO_BIN_EXE_fake-apiserver");

/// Starts the binary; returns it, its stdout (one reader, so nothing read ahead is lost) and
/// the URL it printed first.
fn spawn(args: &[&str]) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (child, stdout, line.trim().to_owned())
}

fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        child.wait().unwrap().success(),
        "fake-apiserver exits cleanly on SIGTERM"
    );
}

#[tokio::test]
async fn binary_prints_its_url_and_keeps_objects_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let kc = dir.path().join("kubeconfig");
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--no-controllers",
        "--state-dir",
        state.to_str().unwrap(),
        "--kubeconfig-out",
        kc.to_str().unwrap(),
    ];

    let (child, _out, url) = spawn(&args);
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let yaml = std::fs::read_to_string(&kc).unwrap();
    assert!(yaml.contains(&url));
    let api: Api<ConfigMap> = Api::default_namespaced(client_from_yaml(&yaml).await);
    let cm =
        serde_json::from_value(json!({"metadata": {"name": "kept"}, "data": {"k": "v"}})).unwrap();
    let first = api.create(&PostParams::default(), &cm).await.unwrap();
    terminate(child);

    let (child, _out, url2) = spawn(&args);
    let yaml = std::fs::read_to_string(&kc).unwrap();
    assert!(yaml.contains(&url2));
    let api: Api<ConfigMap> = Api::default_namespaced(client_from_yaml(&yaml).await);
    let kept = api.get("kept").await.unwrap();
    assert_eq!(
        (kept.uid(), kept.data.clone()),
        (first.uid(), first.data.clone())
    );
    let other = serde_json::from_value(json!({"metadata": {"name": "later"}})).unwrap();
    let later = api.create(&PostParams::default(), &other).await.unwrap();
    let rv = |c: &ConfigMap| c.resource_version().unwrap().parse::<u64>().unwrap();
    assert!(
        rv(&later) > rv(&first),
        "resourceVersions keep increasing after a restart"
    );
    terminate(child);
}

#[test]
fn binary_prints_the_kubeconfig_without_kubeconfig_out_and_rejects_bad_resources() {
    let (child, mut reader, url) = spawn(&["--token", "t0ken", "--context", "primary"]);
    let mut rest = String::new();
    while !rest.contains("users:") || !rest.contains("token:") {
        assert!(
            reader.read_line(&mut rest).unwrap() > 0,
            "kubeconfig incomplete: {rest}"
        );
    }
    assert!(
        rest.contains(&format!("server: \"{url}\""))
            && rest.contains("current-context: \"primary\""),
        "{rest}"
    );
    terminate(child);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("resources.yaml");
    std::fs::write(
        &bad,
        "- {group: example.com, version: v1, kind: Widget, namespace: true}\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--resources", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("resources.yaml") && err.contains("namespace"),
        "{err}"
    );

    let out = Command::new(BIN)
        .args(["--controllers", "pv-binding,nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown controller \"nope\""));
}

#[test]
fn blocking_server_serves_kubectl_from_a_written_kubeconfig() {
    let server = BlockingServer::start(Config::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kc).unwrap();
    let out = Command::new("kubectl")
        .args([
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--cache-dir",
            dir.path().join("cache").to_str().unwrap(),
        ])
        .args(["get", "namespaces", "-o", "name"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l == "namespace/default")
    );
    assert!(server.url().starts_with("http://127.0.0.1:"));
}
