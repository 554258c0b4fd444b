//! `k8s_delete` against a fake DR cluster.

use crate::fake::{Site, namespace, pv, pvc};
use crate::util::run;
use serde_json::json;

fn seeded() -> Site {
    let dr = Site::start();
    dr.create(&[namespace("app")]);
    dr.create(&[
        pv("pv-1", "/exports-dr/app/disk"),
        pvc("app", "disk", Some("pv-1")),
    ]);
    dr.wait_until("the claim is bound", |s| {
        s.get("/api/v1/namespaces/app/persistentvolumeclaims/disk")
            .is_some_and(|c| c["status"]["phase"] == "Bound")
    });
    dr
}

#[test]
fn deletes_claims_before_volumes_and_missing_objects_are_unchanged() {
    let dr = seeded();
    let resources = json!([
        {"apiVersion": "v1", "kind": "PersistentVolume", "name": "pv-1"},
        pvc("app", "disk", None),
        {"apiVersion": "v1", "kind": "PersistentVolume", "name": "pv-never-existed"},
    ]);
    let r = run(
        "k8s_delete",
        &dr.args(json!({"resources": resources, "wait": true})),
    );
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    assert_eq!(r.json["summary"], json!({"deleted": 2, "unchanged": 1}));
    let order: Vec<(String, String)> = dr
        .history()
        .iter()
        .filter(|e| e["type"] == "DELETED")
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("PersistentVolumeClaim".to_owned(), "disk".to_owned()),
            ("PersistentVolume".to_owned(), "pv-1".to_owned())
        ]
    );
    assert!(dr.get("/api/v1/persistentvolumes/pv-1").is_none());

    let again = run("k8s_delete", &dr.args(json!({"resources": resources})));
    again.assert_ok();
    assert_eq!(again.json["changed"], false);
    assert_eq!(again.json["summary"], json!({"deleted": 0, "unchanged": 3}));
}

#[test]
fn check_mode_deletes_nothing() {
    let dr = seeded();
    let mut args = dr.args(json!({"resources": [
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "app", "name": "disk"},
    ]}));
    args["_ansible_check_mode"] = json!(true);
    args["_ansible_diff"] = json!(true);
    let r = run("k8s_delete", &args);
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    assert_eq!(r.json["results"][0]["action"], "deleted");
    assert_eq!(r.json["diff"][0]["after"], "");
    assert!(
        r.json["diff"][0]["before"]
            .as_str()
            .unwrap()
            .contains("pv-1")
    );
    assert!(
        dr.get("/api/v1/namespaces/app/persistentvolumeclaims/disk")
            .is_some()
    );
}
