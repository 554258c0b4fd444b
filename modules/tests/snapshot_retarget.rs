//! `snapshot_retarget` on the VolumeSnapshot and VolumeSnapshotContent of a live cluster.

use crate::util::{fixture, run};
use serde_json::json;

const VSC: &str = "snapcontent-b41c7e09-2d8f-4a6b-9c3e-7f1a2b3c4d5e";
const SNAP_DIR: &str = "snapshot-b41c7e09-2d8f-4a6b-9c3e-7f1a2b3c4d5e";

fn args(resources: serde_json::Value) -> serde_json::Value {
    json!({
        "resources": resources,
        "dr_nfs_server": "nfs-dr.example.com",
        "path_map": [{"from": "/exports", "to": "/srv/dr"}],
    })
}

#[test]
fn returns_dr_objects_archives_and_metadata_files() {
    let r = run(
        "snapshot_retarget",
        &args(json!([
            fixture("volumesnapshot.json"),
            fixture("volumesnapshotcontent.json")
        ])),
    );
    r.assert_ok();
    assert_eq!(r.json["changed"], false);
    let resources = r.json["resources"].as_array().unwrap();
    assert_eq!(
        resources[0]["spec"]["source"],
        json!({"volumeSnapshotContentName": VSC})
    );
    assert_eq!(
        resources[1]["spec"]["source"]["snapshotHandle"],
        format!(
            "nfs-dr.example.com#srv/dr/csi#{SNAP_DIR}#{SNAP_DIR}#pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64"
        )
    );
    assert_eq!(resources[1]["spec"]["deletionPolicy"], "Retain");
    for object in resources {
        assert!(object["metadata"].get("uid").is_none());
        assert!(object.get("status").is_none());
    }
    assert_eq!(
        r.json["metadata_files"],
        json!([
            "volumesnapshots/app-ns2/win2k22-vm-disk-snap-20261006.json",
            format!("volumesnapshotcontents/{VSC}.json")
        ])
    );
    let archives = r.json["archives"].as_array().unwrap();
    assert_eq!(archives.len(), 1);
    assert_eq!(
        archives[0]["source_path"],
        format!("/exports/csi/{SNAP_DIR}")
    );
    assert_eq!(archives[0]["dr_path"], format!("/srv/dr/csi/{SNAP_DIR}"));
    assert_eq!(archives[0]["source_kind"], "snapshot");
    assert_eq!(r.json["skipped"], json!([]));
    assert!(r.json.get("warnings").is_none());
}

#[test]
fn other_drivers_are_skipped_with_a_warning_or_fail() {
    let mut ceph = fixture("volumesnapshotcontent.json");
    ceph["spec"]["driver"] = json!("openshift-storage.rbd.csi.ceph.com");
    let r = run(
        "snapshot_retarget",
        &args(json!([fixture("volumesnapshot.json"), ceph.clone()])),
    );
    r.assert_ok();
    assert_eq!(r.json["resources"], json!([]));
    assert_eq!(r.json["archives"], json!([]));
    assert_eq!(r.json["skipped"].as_array().unwrap().len(), 2);
    assert!(
        r.json["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("skipped 2 snapshot object(s)"),
        "{}",
        r.json
    );

    let mut failing = args(json!([ceph]));
    failing["non_nfs"] = json!("fail");
    let r = run("snapshot_retarget", &failing);
    r.assert_failed();
    assert_eq!(
        r.msg(),
        format!(
            "resources[0] (VolumeSnapshotContent {VSC}): CSI driver \
             \"openshift-storage.rbd.csi.ceph.com\" is not nfs.csi.k8s.io"
        )
    );
}

#[test]
fn bad_options_and_objects_name_the_problem() {
    let mut bad = args(json!([]));
    bad["path_map"] = json!([{"from": "/exports", "to": "/"}]);
    let r = run("snapshot_retarget", &bad);
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "path_map[0].to: path \"/\" is the root directory `/`: refusing to use it as a target"
    );

    let r = run(
        "snapshot_retarget",
        &args(json!([{"kind": "PersistentVolume", "metadata": {"name": "pv-1"}}])),
    );
    r.assert_failed();
    assert!(
        r.msg()
            .contains("expected a VolumeSnapshot or VolumeSnapshotContent")
    );

    let mut typo = args(json!([]));
    typo["reclaim_policy"] = json!("Retain");
    let r = run("snapshot_retarget", &typo);
    r.assert_failed();
    assert!(
        r.msg()
            .starts_with("invalid options: unknown field `reclaim_policy`")
    );
}

#[test]
fn diff_shows_each_object_before_and_after() {
    let mut with_diff = args(json!([fixture("volumesnapshotcontent.json")]));
    with_diff["_ansible_diff"] = json!(true);
    let r = run("snapshot_retarget", &with_diff);
    r.assert_ok();
    let diff = &r.json["diff"][0];
    assert_eq!(
        diff["before_header"],
        format!("VolumeSnapshotContent {VSC} (source)")
    );
    assert!(diff["before"].as_str().unwrap().contains("volumeHandle"));
    assert!(diff["after"].as_str().unwrap().contains("\"Retain\""));
}
