//! `pv_retarget` on realistic PersistentVolumes.

use crate::util::{fixture, run};
use serde_json::json;

fn args(resources: serde_json::Value) -> serde_json::Value {
    json!({
        "resources": resources,
        "dr_nfs_server": "nfs-dr.example.com",
        "path_map": [{"from": "/exports", "to": "/srv/dr"}],
    })
}

#[test]
fn retargets_in_tree_and_csi_pvs() {
    let r = run(
        "pv_retarget",
        &args(json!([
            fixture("pv-nfs-bound.json"),
            fixture("pv-csi-nfs.json")
        ])),
    );
    r.assert_ok();
    assert_eq!(r.json["changed"], false);
    let pvs = r.json["resources"].as_array().unwrap();
    assert_eq!(
        pvs[0]["spec"]["nfs"],
        json!({"path": "/srv/dr/app-ns1/rhel9-vm-disk", "server": "nfs-dr.example.com"})
    );
    assert_eq!(
        pvs[1]["spec"]["csi"]["volumeAttributes"]["share"],
        "/srv/dr/csi"
    );
    assert_eq!(
        pvs[1]["spec"]["csi"]["volumeHandle"],
        "nfs-dr.example.com#srv/dr/csi#pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64##"
    );
    for pv in pvs {
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert!(pv["metadata"].get("uid").is_none());
        assert!(pv["spec"].get("claimRef").is_none());
    }
    let volumes = &r.json["volumes"];
    assert_eq!(volumes[0]["source_path"], "/exports/app-ns1/rhel9-vm-disk");
    assert_eq!(volumes[0]["dr_path"], "/srv/dr/app-ns1/rhel9-vm-disk");
    assert_eq!(volumes[1]["pvc_name"], "win2k22-vm-disk");
    assert_eq!(volumes[1]["source_server"], "nfs-primary.example.com");
    assert_eq!(r.json["skipped"], json!([]));
}

#[test]
fn non_nfs_pvs_are_skipped_with_a_warning_or_fail() {
    let local = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "local-ssd"},
                       "spec": {"local": {"path": "/mnt/ssd"}, "capacity": {"storage": "1Gi"}}});
    let r = run(
        "pv_retarget",
        &args(json!([fixture("pv-nfs-bound.json"), local.clone()])),
    );
    r.assert_ok();
    assert_eq!(r.json["resources"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.json["skipped"],
        json!([{"name": "local-ssd", "reason": "not an NFS volume (spec.local)"}])
    );
    assert_eq!(
        r.json["warnings"],
        json!(["skipped 1 PersistentVolume(s) that are not NFS: local-ssd"])
    );

    let mut strict = args(json!([fixture("pv-nfs-bound.json"), local]));
    strict["non_nfs"] = json!("fail");
    let r = run("pv_retarget", &strict);
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "resources[1]: local-ssd: not an NFS volume (spec.local)"
    );
}

#[test]
fn a_non_pv_resource_is_named_by_index_and_kind() {
    let r = run(
        "pv_retarget",
        &args(json!([
            fixture("pv-nfs-bound.json"),
            fixture("pvc-datavolume.json")
        ])),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "resources[1]: expected a PersistentVolume, got kind \"PersistentVolumeClaim\""
    );
}

#[test]
fn unsafe_mapping_is_refused_before_any_pv() {
    let mut a = args(json!([fixture("pv-nfs-bound.json")]));
    a["path_map"] = json!([{"from": "/exports", "to": "/"}]);
    let r = run("pv_retarget", &a);
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "path_map[0].to: path \"/\" is the root directory `/`: refusing to use it as a target"
    );
}

#[test]
fn unmapped_keep_and_reclaim_policy() {
    let r = run(
        "pv_retarget",
        &json!({"resources": [fixture("pv-nfs-bound.json")], "dr_nfs_server": "10.0.0.9",
                "unmapped": "keep", "reclaim_policy": "Delete", "clean": false}),
    );
    r.assert_ok();
    let pv = &r.json["resources"][0];
    assert_eq!(
        pv["spec"]["nfs"],
        json!({"path": "/exports/app-ns1/rhel9-vm-disk", "server": "10.0.0.9"})
    );
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert!(
        pv["metadata"].get("uid").is_some(),
        "clean: false keeps the object as is"
    );
}
