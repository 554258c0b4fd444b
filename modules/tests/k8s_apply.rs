//! `k8s_apply` against a fake DR cluster: order, idempotence, check mode, conflicts, waiting.

use crate::fake::{Site, namespace, pv, pvc, vm};
use crate::util::run;
use serde_json::{Value, json};

/// A pre-provisioned VolumeSnapshotContent and the VolumeSnapshot bound to it.
fn snapshot_pair(ns: &str, name: &str) -> (Value, Value) {
    let content = format!("{name}-content");
    let vsc = json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
        "metadata": {"name": content},
        "spec": {"deletionPolicy": "Retain", "driver": "nfs.csi.k8s.io",
                 "source": {"snapshotHandle": format!("nfs-dr#exports#{name}")},
                 "volumeSnapshotRef": {"namespace": ns, "name": name}}});
    let vs = json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"source": {"volumeSnapshotContentName": content}}});
    (vsc, vs)
}

/// Everything a protected VM needs on DR, deliberately in the worst order.
fn shuffled() -> Vec<Value> {
    let (vsc, vs) = snapshot_pair("app1", "snap");
    vec![
        vm("app1", "db", json!({"runStrategy": "Halted"})),
        pvc("app1", "disk", Some("pv-app1-disk")),
        vs,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": "app2"}, "data": {"a": "1"}}),
        pv("pv-app1-disk", "/exports-dr/app1/disk"),
        namespace("app1"),
        pvc("app2", "data", Some("pv-app2-data")),
        vsc,
        pv("pv-app2-data", "/exports-dr/app2/data"),
    ]
}

fn phase_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "PersistentVolume" | "VolumeSnapshotContent" => 1,
        "PersistentVolumeClaim" | "VolumeSnapshot" => 2,
        _ => 3,
    }
}

fn identity(obj: &Value) -> String {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or("");
    format!(
        "{} {ns}/{}",
        obj["kind"].as_str().unwrap(),
        obj["metadata"]["name"].as_str().unwrap()
    )
}

fn actions(r: &Value) -> Vec<String> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}: {}",
                o["kind"].as_str().unwrap(),
                o["namespace"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap(),
                o["action"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_shuffled_list_lands_in_dependency_order_and_reapplying_changes_nothing() {
    let dr = Site::start();
    let objects = shuffled();
    let r = run(
        "k8s_apply",
        &dr.args(json!({"resources": objects, "wait": true})),
    );
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    assert_eq!(
        r.json["summary"],
        json!({"created": 10, "updated": 0, "unchanged": 0}),
        "nine objects plus the missing namespace app2"
    );

    // The server's own write log: the first write of every object we sent, in order.
    let ours: Vec<String> = objects
        .iter()
        .map(identity)
        .chain(["Namespace /app2".to_owned()])
        .collect();
    let mut created = Vec::new();
    for entry in dr.history() {
        let id = format!(
            "{} {}/{}",
            entry["kind"].as_str().unwrap(),
            entry["namespace"].as_str().unwrap_or(""),
            entry["name"].as_str().unwrap()
        );
        if entry["type"] == "ADDED" && ours.contains(&id) && !created.contains(&id) {
            created.push(id);
        }
    }
    assert_eq!(created.len(), 10, "{created:?}");
    let ranks: Vec<u8> = created
        .iter()
        .map(|id| phase_rank(id.split(' ').next().unwrap()))
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "write order {created:?}"
    );

    // wait: true returned only once the claims were bound and the snapshot ready.
    for (ns, name) in [("app1", "disk"), ("app2", "data")] {
        let claim = dr
            .get(&format!(
                "/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}"
            ))
            .unwrap();
        assert_eq!(claim["status"]["phase"], "Bound", "{ns}/{name}");
    }
    let vs = dr
        .get("/apis/snapshot.storage.k8s.io/v1/namespaces/app1/volumesnapshots/snap")
        .unwrap();
    assert_eq!(vs["status"]["readyToUse"], true);
    let pv = dr.get("/api/v1/persistentvolumes/pv-app1-disk").unwrap();
    let managers: Vec<&str> = pv["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"ocpdr"), "{managers:?}");

    // Again, even after the controllers bound everything: nothing to do.
    let again = run("k8s_apply", &dr.args(json!({"resources": shuffled()})));
    again.assert_ok();
    assert_eq!(again.json["changed"], false);
    assert_eq!(
        again.json["summary"],
        json!({"created": 0, "updated": 0, "unchanged": 9})
    );
}

#[test]
fn check_mode_writes_nothing_and_predicts_every_change() {
    let dr = Site::start();
    let writes = dr.history().len();
    let mut args = dr.args(json!({"resources": shuffled(), "wait": true}));
    args["_ansible_check_mode"] = json!(true);
    args["_ansible_diff"] = json!(true);
    let r = run("k8s_apply", &args);
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    assert_eq!(r.json["summary"]["created"], 10);
    assert_eq!(r.json["diff"].as_array().unwrap().len(), 10);
    assert_eq!(
        dr.history().len(),
        writes,
        "check mode wrote to the cluster"
    );
    assert!(dr.get("/api/v1/persistentvolumes/pv-app1-disk").is_none());
    assert!(dr.get("/api/v1/namespaces/app1").is_none());

    // Against existing objects, check mode dry-runs the apply and names what would change.
    let real = run(
        "k8s_apply",
        &dr.args(json!({"resources": shuffled(), "wait": true})),
    );
    real.assert_ok();
    let mut moved = pv("pv-app2-data", "/exports-dr/elsewhere");
    moved["metadata"]["labels"]["tier"] = json!("gold");
    // Controllers may still be updating VM status; this volume is bound and left alone.
    let pv_writes = |site: &Site| {
        site.history()
            .iter()
            .filter(|e| e["name"] == "pv-app2-data")
            .count()
    };
    let writes = pv_writes(&dr);
    let mut args = dr.args(json!({"resources": [moved]}));
    args["_ansible_check_mode"] = json!(true);
    args["_ansible_diff"] = json!(true);
    let r = run("k8s_apply", &args);
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    assert_eq!(r.json["results"][0]["action"], "updated");
    assert_eq!(
        r.json["results"][0]["fields"],
        json!(["metadata.labels.tier", "spec.nfs.path"])
    );
    let diff = &r.json["diff"][0];
    assert_eq!(
        diff["before_header"],
        "PersistentVolume pv-app2-data (before)"
    );
    assert!(
        diff["before"]
            .as_str()
            .unwrap()
            .contains("/exports-dr/app2/data")
    );
    assert!(
        diff["after"]
            .as_str()
            .unwrap()
            .contains("/exports-dr/elsewhere")
    );
    assert!(!diff["after"].as_str().unwrap().contains("managedFields"));
    assert_eq!(pv_writes(&dr), writes);
    let stored = dr.get("/api/v1/persistentvolumes/pv-app2-data").unwrap();
    assert_eq!(stored["spec"]["nfs"]["path"], "/exports-dr/app2/data");
}

#[test]
fn a_field_owned_by_another_manager_conflicts_unless_forced() {
    let dr = Site::start();
    dr.kubectl(
        &["apply", "--server-side", "-f", "-"],
        Some(&pv("pv-1", "/exports-dr/a").to_string()),
    );
    let retargeted = pv("pv-1", "/exports-dr/b");
    let r = run("k8s_apply", &dr.args(json!({"resources": [retargeted]})));
    r.assert_failed();
    let msg = r.msg();
    assert!(
        msg.contains("apply PersistentVolume pv-1: 409 Conflict"),
        "{msg}"
    );
    assert!(msg.contains("kubectl"), "names the other manager: {msg}");
    assert!(msg.contains("set force_conflicts: true"), "{msg}");
    let stored = dr.get("/api/v1/persistentvolumes/pv-1").unwrap();
    assert_eq!(stored["spec"]["nfs"]["path"], "/exports-dr/a");

    let forced = run(
        "k8s_apply",
        &dr.args(json!({"resources": [retargeted], "force_conflicts": true})),
    );
    forced.assert_ok();
    assert_eq!(actions(&forced.json), ["PersistentVolume /pv-1: updated"]);
    assert_eq!(
        forced.json["results"][0]["fields"],
        json!(["spec.nfs.path"])
    );
    let stored = dr.get("/api/v1/persistentvolumes/pv-1").unwrap();
    assert_eq!(stored["spec"]["nfs"]["path"], "/exports-dr/b");
}

#[test]
fn bad_entries_are_all_reported_and_nothing_is_written() {
    let dr = Site::start();
    let writes = dr.history().len();
    let r = run(
        "k8s_apply",
        &dr.args(json!({"resources": [
            pv("pv-ok", "/exports-dr/ok"),
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "no-namespace"}},
            {"kind": "PersistentVolume", "metadata": {"name": "no-version"}},
            pv("pv-ok", "/exports-dr/twice"),
        ]})),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "3 invalid entries in resources, nothing was changed: resources[1]: PersistentVolumeClaim \
         no-namespace is namespaced but has no namespace; resources[2]: apiVersion is missing or \
         not a string; resources[3]: PersistentVolume pv-ok is the same object as resources[0]"
    );
    assert_eq!(dr.history().len(), writes);

    let r = run(
        "k8s_apply",
        &dr.args(json!({"resources": [{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]})),
    );
    r.assert_failed();
    assert!(
        r.msg().contains("does not serve example.com/v1 Widget"),
        "{}",
        r.msg()
    );
    assert_eq!(dr.history().len(), writes);
}

#[test]
fn the_api_servers_rejections_are_explained() {
    let dr = Site::start();
    let r = run(
        "k8s_apply",
        &dr.args(json!({"resources": [pv("Bad_Name", "/exports-dr/x")]})),
    );
    r.assert_failed();
    assert!(
        r.msg().contains(
            "apply PersistentVolume Bad_Name: 422 Invalid: the API server rejected the object"
        ),
        "{}",
        r.msg()
    );

    let r = run(
        "k8s_apply",
        &dr.args(json!({"resources": [pvc("absent", "disk", None)], "ensure_namespaces": false})),
    );
    r.assert_failed();
    assert!(
        r.msg()
            .contains("apply PersistentVolumeClaim absent/disk: 404 Not Found"),
        "{}",
        r.msg()
    );
}

#[test]
fn waiting_gives_up_naming_the_claims_that_did_not_bind() {
    let dr = Site::start();
    let r = run(
        "k8s_apply",
        &dr.args(
            json!({"resources": [namespace("app"), pvc("app", "orphan", Some("pv-missing"))],
                        "wait": true, "wait_timeout": 1}),
        ),
    );
    // The namespace and the claim were created: a failure that changed the cluster.
    r.assert_failed_after_changes();
    assert!(r.msg().starts_with("applied, but 1 object(s) were not ready after 1s: PersistentVolumeClaim app/orphan (phase Pending"), "{}", r.msg());
    assert_eq!(r.json["not_ready"][0]["name"], "orphan");
    assert_eq!(r.json["summary"]["created"], 2);
}
