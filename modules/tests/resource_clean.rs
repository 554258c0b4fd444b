//! `resource_clean` on realistic objects.

use crate::util::{fixture, run};
use serde_json::json;

#[test]
fn cleans_a_mixed_list_in_order() {
    let resources = json!([
        fixture("pvc-datavolume.json"),
        fixture("pv-nfs-bound.json"),
        fixture("volumesnapshot.json"),
        fixture("volumesnapshotcontent.json"),
    ]);
    let r = run("resource_clean", &json!({"resources": resources}));
    r.assert_ok();
    assert_eq!(r.json["changed"], false);
    let out = r.json["resources"].as_array().unwrap();
    let kinds: Vec<&str> = out.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "PersistentVolumeClaim",
            "PersistentVolume",
            "VolumeSnapshot",
            "VolumeSnapshotContent"
        ]
    );
    for obj in out {
        assert!(obj["metadata"].get("uid").is_none());
        assert!(obj["metadata"].get("managedFields").is_none());
        assert!(obj.get("status").is_none());
    }
    assert_eq!(
        out[0]["metadata"]["annotations"]["cdi.kubevirt.io/storage.populatedFor"],
        "rhel9-vm-disk"
    );
    assert!(out[1]["spec"].get("claimRef").is_none());
    let removed = &r.json["removed"][1];
    assert_eq!(removed["kind"], "PersistentVolume");
    assert_eq!(removed["name"], "nfs-pv-rhel9-vm-disk");
    assert!(removed.get("namespace").is_none());
    assert!(
        removed["paths"]
            .as_array()
            .unwrap()
            .contains(&json!("spec.claimRef"))
    );
    assert!(r.json.get("diff").is_none(), "no diff unless asked");
}

#[test]
fn diff_mode_shows_before_and_after() {
    let r = run(
        "resource_clean",
        &json!({"resources": [fixture("pv-nfs-bound.json")], "_ansible_diff": true}),
    );
    let diff = &r.json["diff"][0];
    assert_eq!(
        diff["before_header"],
        "PersistentVolume nfs-pv-rhel9-vm-disk (source)"
    );
    assert!(diff["before"].as_str().unwrap().contains("\"uid\""));
    assert!(!diff["after"].as_str().unwrap().contains("\"uid\""));
}

#[test]
fn annotations_all_and_claim_ref_keep_name() {
    let r = run(
        "resource_clean",
        &json!({"resources": [fixture("pv-nfs-bound.json")], "annotations": "all", "claim_ref": "keep_name"}),
    );
    let pv = &r.json["resources"][0];
    assert!(pv["metadata"].get("annotations").is_none());
    assert_eq!(
        pv["spec"]["claimRef"],
        json!({"name": "rhel9-vm-disk", "namespace": "app-ns1"})
    );
}

#[test]
fn a_bad_resource_is_named_by_index() {
    let r = run(
        "resource_clean",
        &json!({"resources": [fixture("pv-nfs-bound.json"), {"metadata": {"name": "x"}}]}),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "resources[1]: the object has no `kind` (a string such as PersistentVolume); name: \"x\""
    );
}
