//! `k8s_inventory` against a fake primary cluster.

use crate::fake::{Site, namespace, pv, pvc, snapshot};
use crate::util::run;
use serde_json::{Value, json};

fn phase(site: &Site, ns: &str, name: &str) -> String {
    site.get(&format!(
        "/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}"
    ))
    .and_then(|c| c["status"]["phase"].as_str().map(str::to_owned))
    .unwrap_or_default()
}

fn snapshot_status(site: &Site, ns: &str, name: &str) -> Value {
    site.get(&format!(
        "/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/{name}"
    ))
    .map(|s| s["status"].clone())
    .unwrap_or(Value::Null)
}

/// Three protected namespaces and one that is not: bound claims, a claim without a volume, a
/// ready snapshot and one that never gets content.
fn primary() -> Site {
    let site = Site::start();
    site.create(&["ns-a", "ns-b", "ns-c", "other"].map(namespace));
    site.create(&[
        pv("pv-a", "/exports/ns-a/disk"),
        pv("pv-b", "/exports/ns-b/disk"),
        pv("pv-c", "/exports/ns-c/disk"),
        pv("pv-other", "/exports/other/disk"),
        pv("pv-spare", "/exports/spare"),
        pvc("ns-a", "disk", Some("pv-a")),
        pvc("ns-a", "pending", None),
        pvc("ns-b", "disk", Some("pv-b")),
        pvc("ns-c", "disk", Some("pv-c")),
        pvc("other", "disk", Some("pv-other")),
    ]);
    site.create(&[
        snapshot("ns-b", "snap", "disk"),
        snapshot("ns-c", "broken", "no-such-claim"),
    ]);
    site.wait_until("claims are bound and snapshots settled", |s| {
        ["ns-a", "ns-b", "ns-c"]
            .iter()
            .all(|ns| phase(s, ns, "disk") == "Bound")
            && snapshot_status(s, "ns-b", "snap")["readyToUse"] == true
            && snapshot_status(s, "ns-c", "broken")["error"].is_object()
    });
    site
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let m = &o["metadata"];
            match m["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", m["name"].as_str().unwrap()),
                None => m["name"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

#[test]
fn pairs_claims_volumes_and_snapshots_of_three_namespaces() {
    let site = primary();
    let r = run(
        "k8s_inventory",
        &site.args(json!({"namespaces": ["ns-c", "ns-a", "ns-b"]})),
    );
    r.assert_ok();
    let out = &r.json;
    assert_eq!(out["changed"], false);
    assert_eq!(
        names(&out["pvcs"]),
        ["ns-a/disk", "ns-a/pending", "ns-b/disk", "ns-c/disk"]
    );
    assert_eq!(names(&out["pvs"]), ["pv-a", "pv-b", "pv-c"]);
    let pairs: Vec<(String, String)> = out["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!(
                    "{}/{}",
                    p["pvc"]["metadata"]["namespace"].as_str().unwrap(),
                    p["pvc"]["metadata"]["name"].as_str().unwrap()
                ),
                p["pv"]["metadata"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("ns-a/disk".into(), "pv-a".into()),
            ("ns-b/disk".into(), "pv-b".into()),
            ("ns-c/disk".into(), "pv-c".into())
        ]
    );

    assert_eq!(names(&out["volumesnapshots"]), ["ns-b/snap", "ns-c/broken"]);
    let snapshot_pairs = out["snapshot_pairs"].as_array().unwrap();
    assert_eq!(snapshot_pairs.len(), 1);
    assert_eq!(snapshot_pairs[0]["vs"]["metadata"]["name"], "snap");
    let content = snapshot_pairs[0]["vsc"]["metadata"]["name"]
        .as_str()
        .unwrap();
    assert_eq!(names(&out["volumesnapshotcontents"]), [content]);

    let unbound: Vec<String> = out["unbound"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{} {}/{}",
                u["kind"].as_str().unwrap(),
                u["namespace"].as_str().unwrap(),
                u["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        unbound,
        [
            "PersistentVolumeClaim ns-a/pending",
            "VolumeSnapshot ns-c/broken"
        ]
    );
    let warning = out["warnings"][0].as_str().unwrap();
    assert!(
        warning
            .contains("PersistentVolumeClaim ns-a/pending (no volume bound yet (phase Pending))"),
        "{warning}"
    );

    // Objects can be applied elsewhere as they are: typed, without the server's bookkeeping.
    let first = &out["pvcs"][0];
    assert_eq!(
        (first["apiVersion"].as_str(), first["kind"].as_str()),
        (Some("v1"), Some("PersistentVolumeClaim"))
    );
    assert!(first["metadata"].get("managedFields").is_none());
    assert_eq!(
        out["counts"],
        json!({"pvcs": 4, "pvs": 3, "volumesnapshots": 2,
        "volumesnapshotcontents": 1, "pairs": 3, "snapshot_pairs": 1, "unbound": 2})
    );
}

#[test]
fn all_namespaces_all_pvs_and_selectors() {
    let site = primary();
    let r = run(
        "k8s_inventory",
        &site
            .args(json!({"all_pvs": true, "kinds": ["PersistentVolumeClaim", "PersistentVolume"]})),
    );
    r.assert_ok();
    assert_eq!(r.json["counts"]["pvcs"], 5);
    assert_eq!(
        names(&r.json["pvs"]),
        ["pv-a", "pv-b", "pv-c", "pv-other", "pv-spare"]
    );
    assert_eq!(r.json["volumesnapshots"], json!([]));

    let none = run(
        "k8s_inventory",
        &site.args(json!({"label_selector": "app=nothing"})),
    );
    none.assert_ok();
    assert_eq!(none.json["pvcs"], json!([]));
    assert_eq!(
        none.json["pvs"],
        json!([]),
        "volumes follow the selected claims"
    );
}
