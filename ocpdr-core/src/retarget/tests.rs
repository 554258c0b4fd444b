use super::*;
use crate::paths::PathProblem;
use serde_json::json;

fn fixture(name: &str) -> Value {
    let text = match name {
        "pv-nfs" => include_str!("../../tests/fixtures/pv-nfs-bound.json"),
        "pv-csi" => include_str!("../../tests/fixtures/pv-csi-nfs.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("fixture is JSON")
}

fn options() -> RetargetOptions {
    RetargetOptions {
        dr_nfs_server: "nfs-dr.example.com".into(),
        path_map: vec![
            PathMapping {
                from: "/exports".into(),
                to: "/dr/exports".into(),
            },
            PathMapping {
                from: "/exports/app-ns1".into(),
                to: "/dr/ns1".into(),
            },
        ],
        clean: Some(CleanOptions::default()),
        ..Default::default()
    }
}

fn volume_of(pv: &Value, options: &RetargetOptions) -> (Value, Volume) {
    match retarget(pv, options).expect("retargets") {
        Retargeted::Volume(done) => (done.pv, done.volume),
        Retargeted::Skipped(s) => panic!("skipped: {s:?}"),
    }
}

#[test]
fn in_tree_nfs_pv_points_at_dr_with_longest_prefix() {
    let (pv, volume) = volume_of(&fixture("pv-nfs"), &options());
    assert_eq!(
        pv["spec"]["nfs"],
        json!({"path": "/dr/ns1/rhel9-vm-disk", "server": "nfs-dr.example.com"})
    );
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    // Cleaned in the same call: no claimRef, no source identity, no status.
    assert!(pv["spec"].get("claimRef").is_none());
    assert!(pv["metadata"].get("uid").is_none());
    assert!(pv.get("status").is_none());
    assert_eq!(
        serde_json::to_value(&volume).unwrap(),
        json!({
            "pv": "nfs-pv-rhel9-vm-disk", "pvc_namespace": "app-ns1", "pvc_name": "rhel9-vm-disk",
            "source_kind": "nfs",
            "source_server": "nfs-primary.example.com", "source_path": "/exports/app-ns1/rhel9-vm-disk",
            "dr_server": "nfs-dr.example.com", "dr_path": "/dr/ns1/rhel9-vm-disk"
        })
    );
}

#[test]
fn csi_nfs_pv_rewrites_attributes_and_handle_consistently() {
    let (pv, volume) = volume_of(&fixture("pv-csi"), &options());
    let csi = &pv["spec"]["csi"];
    assert_eq!(csi["volumeAttributes"]["server"], "nfs-dr.example.com");
    assert_eq!(csi["volumeAttributes"]["share"], "/dr/exports/csi");
    assert_eq!(
        csi["volumeAttributes"]["subdir"],
        "pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64"
    );
    assert_eq!(
        csi["volumeHandle"],
        "nfs-dr.example.com#dr/exports/csi#pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64##"
    );
    assert_eq!(csi["driver"], CSI_NFS_DRIVER);
    assert_eq!(
        volume.source_path,
        "/exports/csi/pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64"
    );
    assert_eq!(
        volume.dr_path,
        "/dr/exports/csi/pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64"
    );
    assert_eq!(volume.source_kind, SourceKind::Csi);
    assert_eq!(volume.pvc_namespace.as_deref(), Some("app-ns2"));
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    // pv.kubernetes.io/provisioned-by is a system annotation.
    assert!(pv["metadata"].get("annotations").is_none());
}

#[test]
fn unmapped_path_fails_or_is_kept() {
    let mut opts = options();
    opts.path_map = vec![PathMapping {
        from: "/other".into(),
        to: "/dr/other".into(),
    }];
    let err = retarget(&fixture("pv-nfs"), &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "nfs-pv-rhel9-vm-disk: no path_map entry covers \"/exports/app-ns1/rhel9-vm-disk\" \
         (known prefixes: /other); add one, or set unmapped: keep"
    );
    opts.unmapped = Unmapped::Keep;
    let (pv, _) = volume_of(&fixture("pv-nfs"), &opts);
    assert_eq!(pv["spec"]["nfs"]["path"], "/exports/app-ns1/rhel9-vm-disk");
    assert_eq!(pv["spec"]["nfs"]["server"], "nfs-dr.example.com");
}

#[test]
fn prefix_match_is_component_wise() {
    let mut opts = options();
    opts.path_map = vec![PathMapping {
        from: "/exports/app-ns".into(),
        to: "/wrong".into(),
    }];
    assert!(matches!(
        retarget(&fixture("pv-nfs"), &opts),
        Err(Error::Unmapped { .. })
    ));
}

#[test]
fn unsafe_dr_paths_are_refused() {
    for (to, problem) in [
        ("relative/dir", PathProblem::Relative),
        ("/dr/../etc", PathProblem::ParentComponent),
        ("/", PathProblem::Root),
    ] {
        let mut opts = options();
        opts.path_map = vec![PathMapping {
            from: "/exports/app-ns1/rhel9-vm-disk".into(),
            to: to.into(),
        }];
        match validate(&opts).unwrap_err() {
            Error::Config(ConfigError::BadMapping {
                index: 0,
                field: "to",
                source,
            }) => assert_eq!(source.reason, problem),
            other => panic!("{to}: {other:?}"),
        }
        // Even without validate, retarget itself never produces such a path.
        assert!(matches!(
            retarget(&fixture("pv-nfs"), &opts),
            Err(Error::BadPath { .. })
        ));
    }
    // The unmapped-keep path is checked too.
    let mut pv = fixture("pv-nfs");
    pv["spec"]["nfs"]["path"] = json!("/");
    let mut opts = options();
    opts.unmapped = Unmapped::Keep;
    opts.path_map.clear();
    assert!(matches!(retarget(&pv, &opts), Err(Error::BadPath { .. })));
    // A CSI subdir cannot climb out of its share.
    let mut pv = fixture("pv-csi");
    pv["spec"]["csi"]["volumeAttributes"]["subdir"] = json!("../../etc");
    assert!(matches!(
        retarget(&pv, &options()),
        Err(Error::BadPath { .. })
    ));
}

#[test]
fn non_nfs_pv_is_skipped_or_fails() {
    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "local-1"},
                    "spec": {"local": {"path": "/mnt/disks/ssd1"}}});
    match retarget(&pv, &options()).unwrap() {
        Retargeted::Skipped(s) => {
            assert_eq!(s.name, "local-1");
            assert_eq!(s.reason, "not an NFS volume (spec.local)");
        }
        other => panic!("{other:?}"),
    }
    let ceph = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "rbd-1"},
                      "spec": {"csi": {"driver": "openshift-storage.rbd.csi.ceph.com", "volumeHandle": "x"}}});
    let mut opts = options();
    opts.non_nfs = NonNfs::Fail;
    assert_eq!(
        retarget(&ceph, &opts).unwrap_err().to_string(),
        "rbd-1: CSI driver \"openshift-storage.rbd.csi.ceph.com\" is not nfs.csi.k8s.io"
    );
}

#[test]
fn reclaim_policy_and_clean_are_options() {
    let mut opts = options();
    opts.reclaim_policy = ReclaimPolicy::Delete;
    opts.clean = None;
    let (pv, _) = volume_of(&fixture("pv-nfs"), &opts);
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(pv["metadata"]["uid"], fixture("pv-nfs")["metadata"]["uid"]);
    assert!(pv["spec"].get("claimRef").is_some());
}

#[test]
fn other_kinds_and_bad_servers_are_errors() {
    let pvc = json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "x"}});
    assert_eq!(
        retarget(&pvc, &options()).unwrap_err(),
        Error::NotAPersistentVolume {
            kind: "PersistentVolumeClaim".into()
        }
    );
    for server in ["", "nfs dr", "nfs/dr"] {
        let mut opts = options();
        opts.dr_nfs_server = server.into();
        assert!(
            matches!(
                validate(&opts),
                Err(Error::Config(ConfigError::BadServer(_)))
            ),
            "{server:?}"
        );
    }
    let mut pv = fixture("pv-nfs");
    pv["spec"]["nfs"].as_object_mut().unwrap().remove("server");
    assert_eq!(
        retarget(&pv, &options()).unwrap_err().to_string(),
        "nfs-pv-rhel9-vm-disk: spec.nfs.server is missing or not a string"
    );
}

#[test]
fn retargeting_is_idempotent_on_the_dr_side() {
    // Retargeting an already retargeted PV with the identity rules changes nothing.
    let (once, _) = volume_of(&fixture("pv-nfs"), &options());
    let opts = RetargetOptions {
        unmapped: Unmapped::Keep,
        path_map: vec![],
        ..options()
    };
    let (twice, volume) = volume_of(&once, &opts);
    assert_eq!(once, twice);
    assert_eq!(volume.source_path, volume.dr_path);
}
