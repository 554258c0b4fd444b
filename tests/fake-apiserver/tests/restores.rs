//! Velero restores: the contents of a backup registered through `PUT /_fake/backups/{name}`
//! come back on the cluster as a Restore's filters select them, and a restored VirtualMachine
//! starts.

use std::time::Duration;

use fake_apiserver::{Config, Controllers};
use serde_json::{Value, json};

use crate::util::{client, eventually, raw, start};

const JSON: &str = "application/json";

/// Metadata as a source cluster's server stamps it, which a restore must not carry over.
fn stamped(name: &str, namespace: Option<&str>) -> Value {
    let mut meta = json!({"name": name, "uid": format!("source-uid-{name}"), "resourceVersion": "4711",
        "creationTimestamp": "2025-01-01T00:00:00Z", "generation": 3, "labels": {"app": "shop"},
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1"}]});
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    meta
}

/// A backup of namespaces `app` and `other`, as its tarball holds them.
fn backup() -> Value {
    let vm_uid = "source-uid-vm-0";
    let mut vmi_meta = stamped("vm-0", Some("app"));
    vmi_meta["ownerReferences"] = json!([{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "name": "vm-0", "uid": vm_uid, "controller": true}]);
    json!([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": stamped("app", None),
         "status": {"phase": "Active"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": stamped("other", None)},
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": stamped("vm-0", Some("app")),
         "spec": {"runStrategy": "Always", "template": {"spec": {"domain": {"cpu": {"cores": 1}}}}},
         "status": {"printableStatus": "Running", "ready": true}},
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": vmi_meta,
         "spec": {}, "status": {"phase": "Running"}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": stamped("vm-0-disk", Some("app")),
         "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
         "status": {"phase": "Bound"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": stamped("settings", Some("app")),
         "data": {"mode": "backed-up"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": stamped("kept", Some("app")),
         "data": {"mode": "backed-up"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": stamped("tools", Some("other")),
         "data": {}},
    ])
}

async fn get(c: &kube::Client, path: &str) -> (u16, Value) {
    raw(c, "GET", path, JSON, b"").await
}

#[tokio::test]
async fn restore_creates_the_selected_backup_objects_and_the_vm_runs() {
    let server = start(Config {
        controllers: Controllers {
            restore_phase_delay: Duration::from_millis(20),
            vmi_ready_delay: Duration::from_millis(20),
            ..Controllers::default()
        },
        ..Config::default()
    })
    .await;
    let c = client(&server).await;

    let (code, s) = raw(
        &c,
        "PUT",
        "/_fake/backups/b1",
        JSON,
        br#"[{"apiVersion": "v1", "kind": "ConfigMap"}]"#,
    )
    .await;
    assert_eq!(code, 400, "{s}");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("body[0].metadata.name"),
        "{s}"
    );
    let contents = serde_json::to_vec(&backup()).unwrap();
    let (code, s) = raw(&c, "PUT", "/_fake/backups/b1", JSON, &contents).await;
    assert_eq!((code, &s["items"]), (200, &json!(8)), "{s}");
    assert_eq!(
        get(&c, "/_fake/backups").await.1["items"],
        json!([{"name": "b1", "items": 8}])
    );

    // The target already has the namespace and one of the config maps.
    let live_ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}});
    assert_eq!(
        raw(
            &c,
            "POST",
            "/api/v1/namespaces",
            JSON,
            live_ns.to_string().as_bytes()
        )
        .await
        .0,
        200
    );
    let live_cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}, "data": {"mode": "live"}});
    let cms = "/api/v1/namespaces/app/configmaps";
    assert_eq!(
        raw(&c, "POST", cms, JSON, live_cm.to_string().as_bytes())
            .await
            .0,
        200
    );

    let restore = json!({"apiVersion": "velero.io/v1", "kind": "Restore",
        "metadata": {"name": "r1", "namespace": "default"},
        "spec": {"backupName": "b1", "includedNamespaces": ["app"],
                 "excludedResources": ["persistentvolumeclaims", "volumesnapshots.snapshot.storage.k8s.io"]}});
    let restores = "/apis/velero.io/v1/namespaces/default/restores";
    assert_eq!(
        raw(&c, "POST", restores, JSON, restore.to_string().as_bytes())
            .await
            .0,
        200
    );
    let done = eventually("the restore to finish", || async {
        let (_, r) = get(&c, &format!("{restores}/r1")).await;
        (r["status"]["phase"] == "Completed").then_some(r)
    })
    .await;
    // Selected: the namespace, the VM, its VMI (skipped: the VM starts its own) and two config
    // maps; the existing config map is a warning, the existing namespace is used as it is.
    assert_eq!(
        done["status"]["progress"],
        json!({"totalItems": 5, "itemsRestored": 5})
    );
    assert_eq!(
        (&done["status"]["warnings"], &done["status"]["errors"]),
        (&json!(1), &json!(0))
    );

    let velero_labels =
        json!({"app": "shop", "velero.io/backup-name": "b1", "velero.io/restore-name": "r1"});
    let (code, vm) = get(
        &c,
        "/apis/kubevirt.io/v1/namespaces/app/virtualmachines/vm-0",
    )
    .await;
    assert_eq!(code, 200, "{vm}");
    assert_eq!(vm["metadata"]["labels"], velero_labels);
    assert_ne!(vm["metadata"]["uid"], "source-uid-vm-0");
    assert_eq!(vm["metadata"]["generation"], 1);
    assert_eq!(
        vm["metadata"]["managedFields"][0]["manager"],
        "velero-server"
    );
    let (_, settings) = get(&c, &format!("{cms}/settings")).await;
    assert_eq!(settings["metadata"]["labels"], velero_labels);
    assert_eq!(settings["data"], json!({"mode": "backed-up"}));
    let (_, kept) = get(&c, &format!("{cms}/kept")).await;
    assert_eq!(
        (&kept["data"]["mode"], kept["metadata"].get("labels")),
        (&json!("live"), None)
    );
    let pvc = get(
        &c,
        "/api/v1/namespaces/app/persistentvolumeclaims/vm-0-disk",
    )
    .await;
    assert_eq!(pvc.0, 404, "excluded resource restored: {}", pvc.1);
    assert_eq!(get(&c, "/api/v1/namespaces/other").await.0, 404);

    let vmi = eventually("the restored VM's VMI to run", || async {
        let (code, v) = get(
            &c,
            "/apis/kubevirt.io/v1/namespaces/app/virtualmachineinstances/vm-0",
        )
        .await;
        (code == 200 && v["status"]["phase"] == "Running").then_some(v)
    })
    .await;
    assert_eq!(
        vmi["metadata"]["ownerReferences"][0]["uid"],
        vm["metadata"]["uid"]
    );
    eventually("the VM to report Running", || async {
        let (_, vm) = get(
            &c,
            "/apis/kubevirt.io/v1/namespaces/app/virtualmachines/vm-0",
        )
        .await;
        (vm["status"]["printableStatus"] == "Running").then_some(())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn restore_of_an_unregistered_backup_restores_nothing() {
    let server = start(Config {
        controllers: Controllers {
            restore_phase_delay: Duration::from_millis(20),
            ..Controllers::default()
        },
        ..Config::default()
    })
    .await;
    let c = client(&server).await;
    let restore = json!({"apiVersion": "velero.io/v1", "kind": "Restore",
        "metadata": {"name": "r1", "namespace": "default"}, "spec": {"backupName": "unknown"}});
    let restores = "/apis/velero.io/v1/namespaces/default/restores";
    assert_eq!(
        raw(&c, "POST", restores, JSON, restore.to_string().as_bytes())
            .await
            .0,
        200
    );
    let done = eventually("the restore to finish", || async {
        let (_, r) = get(&c, &format!("{restores}/r1")).await;
        (r["status"]["phase"] == "Completed").then_some(r)
    })
    .await;
    assert_eq!(
        done["status"]["progress"],
        json!({"totalItems": 0, "itemsRestored": 0})
    );
    server.shutdown().await;
}
