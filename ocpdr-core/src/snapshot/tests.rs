use super::*;
use crate::paths::PathProblem;
use serde_json::json;

const VSC_NAME: &str = "snapcontent-b41c7e09-2d8f-4a6b-9c3e-7f1a2b3c4d5e";
const SNAP_DIR: &str = "snapshot-b41c7e09-2d8f-4a6b-9c3e-7f1a2b3c4d5e";

fn vs() -> Value {
    serde_json::from_str(include_str!("../../tests/fixtures/volumesnapshot.json")).unwrap()
}

fn vsc() -> Value {
    serde_json::from_str(include_str!(
        "../../tests/fixtures/volumesnapshotcontent.json"
    ))
    .unwrap()
}

fn options() -> SnapshotOptions {
    SnapshotOptions {
        dr_nfs_server: "nfs-dr.example.com".into(),
        path_map: vec![
            PathMapping {
                from: "/exports".into(),
                to: "/dr/exports".into(),
            },
            PathMapping {
                from: "/exports/csi".into(),
                to: "/dr/csi".into(),
            },
        ],
        clean: Some(CleanOptions::default()),
        ..Default::default()
    }
}

fn names(batch: &Batch) -> Vec<String> {
    batch
        .retargeted
        .iter()
        .map(|r| ObjectRef::of(&r.object).to_string())
        .collect()
}

#[test]
fn dynamic_content_becomes_pre_provisioned_on_the_dr_server() {
    let batch = retarget(&[vs(), vsc()], &options()).unwrap();
    assert_eq!(batch.skipped, []);
    let content = &batch.retargeted[1];
    assert_eq!(content.index, 1);
    assert_eq!(
        content.object["spec"],
        json!({
            "deletionPolicy": "Retain",
            "driver": "nfs.csi.k8s.io",
            "source": {"snapshotHandle": format!(
                "nfs-dr.example.com#dr/csi#{SNAP_DIR}#{SNAP_DIR}#pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64")},
            "volumeSnapshotClassName": "nfs-csi-snapclass",
            "volumeSnapshotRef": {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "name": "win2k22-vm-disk-snap-20261006",
                "namespace": "app-ns2"
            }
        })
    );
    assert!(content.object.get("status").is_none());
    assert_eq!(content.object["metadata"], json!({"name": VSC_NAME}));
    assert_eq!(
        content.metadata_file,
        format!("volumesnapshotcontents/{VSC_NAME}.json")
    );
    let removed = &content.removed.as_ref().unwrap().paths;
    assert!(removed.contains(&"spec.volumeSnapshotRef.uid".to_owned()));
    // The archive directory, in pv_retarget's shape; the source PVC comes from the VS.
    assert_eq!(
        serde_json::to_value(content.archive.as_ref().unwrap()).unwrap(),
        json!({
            "pv": VSC_NAME,
            "pvc_namespace": "app-ns2",
            "pvc_name": "win2k22-vm-disk",
            "source_kind": "snapshot",
            "source_server": "nfs-primary.example.com",
            "source_path": format!("/exports/csi/{SNAP_DIR}"),
            "dr_server": "nfs-dr.example.com",
            "dr_path": format!("/dr/csi/{SNAP_DIR}"),
            "archive": "pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64.tar.gz"
        })
    );
}

#[test]
fn snapshot_names_its_content_instead_of_the_claim() {
    let batch = retarget(&[vs(), vsc()], &options()).unwrap();
    let snap = &batch.retargeted[0];
    assert_eq!(
        snap.object["spec"],
        json!({"source": {"volumeSnapshotContentName": VSC_NAME},
               "volumeSnapshotClassName": "nfs-csi-snapclass"})
    );
    assert!(snap.object.get("status").is_none());
    assert_eq!(
        snap.object["metadata"],
        json!({"name": "win2k22-vm-disk-snap-20261006", "namespace": "app-ns2"})
    );
    assert_eq!(
        snap.metadata_file,
        "volumesnapshots/app-ns2/win2k22-vm-disk-snap-20261006.json"
    );
    assert!(snap.archive.is_none());
}

#[test]
fn order_is_kept_and_a_snapshot_alone_still_works() {
    let batch = retarget(&[vsc(), vs()], &options()).unwrap();
    assert_eq!(
        names(&batch),
        [
            format!("VolumeSnapshotContent {VSC_NAME}"),
            "VolumeSnapshot app-ns2/win2k22-vm-disk-snap-20261006".to_owned()
        ]
    );
    // Without its VS the archive does not know the PVC.
    let alone = retarget(&[vsc()], &options()).unwrap();
    let archive = alone.retargeted[0].archive.as_ref().unwrap();
    assert_eq!(archive.pvc_name, None);
    assert_eq!(archive.pvc_namespace.as_deref(), Some("app-ns2"));
    // A VS alone uses its status.
    let alone = retarget(&[vs()], &options()).unwrap();
    assert_eq!(
        alone.retargeted[0].object["spec"]["source"]["volumeSnapshotContentName"],
        VSC_NAME
    );
}

#[test]
fn an_unbound_snapshot_is_paired_through_its_content_or_skipped() {
    let mut unbound = vs();
    unbound.as_object_mut().unwrap().remove("status");
    let batch = retarget(&[unbound.clone(), vsc()], &options()).unwrap();
    assert_eq!(
        batch.retargeted[0].object["spec"]["source"],
        json!({"volumeSnapshotContentName": VSC_NAME})
    );
    let batch = retarget(&[unbound], &options()).unwrap();
    assert!(batch.retargeted.is_empty());
    assert_eq!(batch.skipped[0].name, "win2k22-vm-disk-snap-20261006");
    assert!(
        batch.skipped[0].reason.starts_with("not bound"),
        "{:?}",
        batch.skipped
    );
}

#[test]
fn other_drivers_are_skipped_with_their_snapshot_or_fail() {
    let mut ceph = vsc();
    ceph["spec"]["driver"] = json!("openshift-storage.rbd.csi.ceph.com");
    let batch = retarget(&[vs(), ceph.clone()], &options()).unwrap();
    assert!(batch.retargeted.is_empty());
    let reason = "CSI driver \"openshift-storage.rbd.csi.ceph.com\" is not nfs.csi.k8s.io";
    assert_eq!(
        batch.skipped,
        [
            Skipped {
                name: "win2k22-vm-disk-snap-20261006".into(),
                reason: format!("its VolumeSnapshotContent {VSC_NAME} is skipped: {reason}"),
            },
            Skipped {
                name: VSC_NAME.into(),
                reason: reason.into(),
            }
        ]
    );
    let mut opts = options();
    opts.non_nfs = NonNfs::Fail;
    assert_eq!(
        retarget(&[vs(), ceph], &opts).unwrap_err().to_string(),
        format!("resources[1] (VolumeSnapshotContent {VSC_NAME}): {reason}")
    );
}

#[test]
fn a_content_without_a_handle_is_not_ready_and_skipped() {
    let mut pending = vsc();
    pending.as_object_mut().unwrap().remove("status");
    let batch = retarget(&[vs(), pending], &options()).unwrap();
    assert!(batch.retargeted.is_empty());
    assert!(batch.skipped[1].reason.contains("not ready"));
    assert!(batch.skipped[0].reason.contains("not ready"));
}

#[test]
fn unmapped_shares_fail_or_are_kept() {
    let mut opts = options();
    opts.path_map = vec![PathMapping {
        from: "/other".into(),
        to: "/dr/other".into(),
    }];
    let err = retarget(&[vsc()], &opts).unwrap_err();
    assert_eq!(err.index, 0);
    assert!(matches!(
        err.problem,
        Problem::Map(MapError::Unmapped { .. })
    ));
    assert!(
        err.to_string()
            .contains("no path_map entry covers \"/exports/csi\""),
        "{err}"
    );
    opts.unmapped = Unmapped::Keep;
    let batch = retarget(&[vsc()], &opts).unwrap();
    let archive = batch.retargeted[0].archive.clone().unwrap();
    assert_eq!(archive.source_path, archive.dr_path);
    assert_eq!(archive.dr_server, "nfs-dr.example.com");
}

#[test]
fn handles_and_names_that_could_escape_are_refused() {
    let mut other_form = vsc();
    other_form["status"]["snapshotHandle"] = json!("nfs-primary#exports#snap-app1");
    let err = retarget(&[other_form], &options()).unwrap_err();
    assert!(matches!(err.problem, Problem::Handle(_)), "{err}");
    assert!(err.to_string().contains("does not have 5"), "{err}");

    let mut climbing = vsc();
    climbing["status"]["snapshotHandle"] = json!("nfs#exports/../etc#snap#snap#pvc");
    let err = retarget(&[climbing], &options()).unwrap_err();
    match err.problem {
        Problem::Path(path) => assert_eq!(path.reason, PathProblem::ParentComponent),
        other => panic!("{other:?}"),
    }

    let mut to_root = options();
    to_root.path_map = vec![PathMapping {
        from: "/exports/csi".into(),
        to: "/".into(),
    }];
    assert!(matches!(
        retarget(&[vsc()], &to_root).unwrap_err().problem,
        Problem::Map(MapError::Path(_))
    ));

    let mut bad_name = vs();
    bad_name["metadata"]["name"] = json!("..");
    assert_eq!(
        retarget(&[bad_name], &options()).unwrap_err().problem,
        Problem::BadName {
            field: "metadata.name",
            value: "..".into()
        }
    );
    let mut bad_ns = vs();
    bad_ns["metadata"]["namespace"] = json!("a/b");
    assert!(matches!(
        metadata_file(&bad_ns),
        Err(Problem::BadName {
            field: "metadata.namespace",
            ..
        })
    ));
}

#[test]
fn other_kinds_and_missing_fields_are_errors() {
    let pv = json!({"kind": "PersistentVolume", "metadata": {"name": "pv-1"}});
    assert_eq!(
        retarget(&[vs(), pv], &options()).unwrap_err().to_string(),
        "resources[1] (PersistentVolume pv-1): expected a VolumeSnapshot or VolumeSnapshotContent, \
         got kind \"PersistentVolume\""
    );
    let mut no_ref = vsc();
    no_ref["spec"]
        .as_object_mut()
        .unwrap()
        .remove("volumeSnapshotRef");
    assert_eq!(
        retarget(&[no_ref], &options()).unwrap_err().problem,
        Problem::MissingField {
            field: "spec.volumeSnapshotRef.namespace"
        }
    );
}

#[test]
fn transient_controller_annotations_go_and_clean_is_optional() {
    let mut busy = vsc();
    busy["metadata"]["annotations"] = json!({
        "snapshot.storage.kubernetes.io/volumesnapshot-being-created": "yes",
        "snapshot.storage.kubernetes.io/deletion-secret-name": "nfs-secret",
    });
    let batch = retarget(&[busy.clone()], &options()).unwrap();
    assert_eq!(
        batch.retargeted[0].object["metadata"]["annotations"],
        json!({"snapshot.storage.kubernetes.io/deletion-secret-name": "nfs-secret"})
    );
    let mut raw = options();
    raw.clean = None;
    let batch = retarget(&[busy.clone()], &raw).unwrap();
    assert_eq!(batch.retargeted[0].object["metadata"], busy["metadata"]);
    assert_eq!(
        batch.retargeted[0].object["spec"]["deletionPolicy"],
        "Retain"
    );
    assert!(batch.retargeted[0].removed.is_none());
}

#[test]
fn retargeting_the_dr_form_again_changes_nothing() {
    let once = retarget(&[vs(), vsc()], &options()).unwrap();
    let objects: Vec<Value> = once.retargeted.iter().map(|r| r.object.clone()).collect();
    let identity = SnapshotOptions {
        unmapped: Unmapped::Keep,
        path_map: vec![],
        ..options()
    };
    let twice = retarget(&objects, &identity).unwrap();
    let again: Vec<Value> = twice.retargeted.iter().map(|r| r.object.clone()).collect();
    assert_eq!(objects, again);
    let archive = twice.retargeted[1].archive.clone().unwrap();
    assert_eq!(archive.source_server, "nfs-dr.example.com");
    assert_eq!(archive.source_path, archive.dr_path);
}

#[test]
fn validate_uses_the_shared_rules() {
    let mut opts = options();
    opts.dr_nfs_server = "nfs dr".into();
    assert_eq!(
        validate(&opts),
        Err(ConfigError::BadServer("nfs dr".into()))
    );
}

#[test]
fn archives_are_nfs_sync_volumes_as_they_are() {
    use crate::rsync::{Direction, VolumeEntry};
    let batch = retarget(&[vs(), vsc()], &options()).unwrap();
    let archive = serde_json::to_value(batch.retargeted[1].archive.as_ref().unwrap()).unwrap();
    let entry: VolumeEntry = serde_json::from_value(archive).unwrap();
    let push = entry.to_spec(Direction::Push);
    assert_eq!(push.name, VSC_NAME);
    assert_eq!(push.source, format!("/exports/csi/{SNAP_DIR}"));
    assert_eq!(
        push.destination,
        format!("nfs-dr.example.com:/dr/csi/{SNAP_DIR}")
    );
    let pull = entry.to_spec(Direction::Pull);
    assert_eq!(
        pull.source,
        format!("nfs-primary.example.com:/exports/csi/{SNAP_DIR}")
    );
}
