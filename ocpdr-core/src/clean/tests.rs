use super::*;
use serde_json::json;

fn fixture(name: &str) -> Value {
    let text = match name {
        "pv-nfs" => include_str!("../../tests/fixtures/pv-nfs-bound.json"),
        "pv-csi" => include_str!("../../tests/fixtures/pv-csi-nfs.json"),
        "pvc-dv" => include_str!("../../tests/fixtures/pvc-datavolume.json"),
        "vs" => include_str!("../../tests/fixtures/volumesnapshot.json"),
        "vsc" => include_str!("../../tests/fixtures/volumesnapshotcontent.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("fixture is JSON")
}

fn cleaned(name: &str, options: &CleanOptions) -> (Value, Removed) {
    clean(&fixture(name), options).expect("fixture cleans")
}

const ALWAYS_GONE: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "ownerReferences",
    "finalizers",
];

#[test]
fn server_state_is_removed_from_every_kind() {
    for name in ["pv-nfs", "pv-csi", "pvc-dv", "vs", "vsc"] {
        let (out, removed) = cleaned(name, &CleanOptions::default());
        for field in ALWAYS_GONE {
            assert!(
                out["metadata"].get(*field).is_none(),
                "{name}: metadata.{field} kept"
            );
        }
        assert!(out.get("status").is_none(), "{name}: status kept");
        assert!(removed.paths.contains(&"status".to_owned()));
        assert!(removed.paths.contains(&"metadata.uid".to_owned()));
        // Identity and desired state survive.
        assert_eq!(out["metadata"]["name"], fixture(name)["metadata"]["name"]);
        assert_eq!(out["kind"], fixture(name)["kind"]);
        assert_eq!(out["apiVersion"], fixture(name)["apiVersion"]);
    }
}

#[test]
fn deletion_markers_are_removed() {
    let pvc = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "d", "namespace": "n", "deletionTimestamp": "2026-10-02T08:14:40Z",
                     "deletionGracePeriodSeconds": 0, "selfLink": "/api/v1/namespaces/n/persistentvolumeclaims/d"},
        "spec": {}
    });
    let (out, removed) = clean(&pvc, &CleanOptions::default()).unwrap();
    assert_eq!(out["metadata"], json!({"name": "d", "namespace": "n"}));
    assert_eq!(
        removed.paths,
        [
            "metadata.deletionTimestamp",
            "metadata.deletionGracePeriodSeconds",
            "metadata.selfLink"
        ]
    );
}

#[test]
fn system_annotations_go_and_user_annotations_stay() {
    let (out, removed) = cleaned("pv-nfs", &CleanOptions::default());
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"ocpdr.io/tier": "gold"})
    );
    assert!(removed.paths.contains(
        &r#"metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]"#.to_owned()
    ));
    assert!(
        removed.paths.contains(
            &r#"metadata.annotations["pv.kubernetes.io/bound-by-controller"]"#.to_owned()
        )
    );
    // Labels are the user's: always kept.
    assert_eq!(out["metadata"]["labels"]["ocpdr.io/protected"], "true");
}

#[test]
fn annotation_policies_all_and_none() {
    let all = CleanOptions {
        annotations: AnnotationPolicy::All,
        ..Default::default()
    };
    let (out, _) = cleaned("pv-nfs", &all);
    assert!(out["metadata"].get("annotations").is_none());

    let none = CleanOptions {
        annotations: AnnotationPolicy::None,
        ..Default::default()
    };
    let (out, _) = cleaned("pv-nfs", &none);
    assert_eq!(
        out["metadata"]["annotations"],
        fixture("pv-nfs")["metadata"]["annotations"]
    );
}

#[test]
fn extra_prefixes_and_keep_list_adjust_the_policy() {
    let options = CleanOptions {
        drop_annotation_prefixes: vec!["ocpdr.io/".into()],
        keep_annotations: vec!["pv.kubernetes.io/bound-by-controller".into()],
        ..Default::default()
    };
    let (out, _) = cleaned("pv-nfs", &options);
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"pv.kubernetes.io/bound-by-controller": "yes"})
    );
}

#[test]
fn pv_claim_ref_is_dropped_by_default() {
    let (out, removed) = cleaned("pv-nfs", &CleanOptions::default());
    assert!(out["spec"].get("claimRef").is_none());
    assert!(removed.paths.contains(&"spec.claimRef".to_owned()));
    // The volume source is not touched by cleaning.
    assert_eq!(
        out["spec"]["nfs"],
        json!({"path": "/exports/app-ns1/rhel9-vm-disk", "server": "nfs-primary.example.com"})
    );
}

#[test]
fn pv_claim_ref_keep_name_keeps_only_name_and_namespace() {
    let options = CleanOptions {
        claim_ref: ClaimRefPolicy::KeepName,
        ..Default::default()
    };
    let (out, removed) = cleaned("pv-nfs", &options);
    assert_eq!(
        out["spec"]["claimRef"],
        json!({"name": "rhel9-vm-disk", "namespace": "app-ns1"})
    );
    for gone in ["apiVersion", "kind", "resourceVersion", "uid"] {
        assert!(removed.paths.contains(&format!("spec.claimRef.{gone}")));
    }
}

#[test]
fn pvc_keeps_volume_name_and_drops_data_source() {
    let (out, removed) = cleaned("pvc-dv", &CleanOptions::default());
    assert_eq!(out["spec"]["volumeName"], "nfs-pv-rhel9-vm-disk");
    assert!(out["spec"].get("dataSource").is_none());
    assert!(out["spec"].get("dataSourceRef").is_none());
    assert!(removed.paths.contains(&"spec.dataSource".to_owned()));
    assert!(removed.paths.contains(&"spec.dataSourceRef".to_owned()));
}

#[test]
fn pvc_without_volume_name_keeps_its_data_source() {
    let mut pvc = fixture("pvc-dv");
    pvc["spec"].as_object_mut().unwrap().remove("volumeName");
    let (out, _) = clean(&pvc, &CleanOptions::default()).unwrap();
    assert_eq!(out["spec"]["dataSource"]["kind"], "VolumeImportSource");
}

#[test]
fn datavolume_pvc_is_marked_populated_even_with_all_annotations_dropped() {
    for policy in [
        AnnotationPolicy::System,
        AnnotationPolicy::All,
        AnnotationPolicy::None,
    ] {
        let options = CleanOptions {
            annotations: policy,
            ..Default::default()
        };
        let (out, _) = cleaned("pvc-dv", &options);
        assert_eq!(
            out["metadata"]["annotations"][POPULATED_FOR], "rhel9-vm-disk",
            "{policy:?}"
        );
        assert!(out["metadata"].get("ownerReferences").is_none());
    }
    let (out, _) = cleaned("pvc-dv", &CleanOptions::default());
    let annotations = out["metadata"]["annotations"].as_object().unwrap();
    assert!(
        annotations
            .keys()
            .all(|k| !k.starts_with("pv.kubernetes.io/")
                && !k.starts_with("volume.kubernetes.io/")
                && !k.starts_with("volume.beta.kubernetes.io/"))
    );
    assert_eq!(
        annotations["cdi.kubevirt.io/storage.pod.phase"],
        "Succeeded"
    );
}

#[test]
fn pvc_not_owned_by_a_datavolume_gets_no_cdi_annotation() {
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "plain", "namespace": "n",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "1"}]},
        "spec": {"volumeName": "pv-x"}});
    let (out, _) = clean(&pvc, &CleanOptions::default()).unwrap();
    assert!(out["metadata"].get("annotations").is_none());
}

#[test]
fn volume_snapshot_content_ref_keeps_name_and_namespace() {
    let (out, removed) = cleaned("vsc", &CleanOptions::default());
    assert_eq!(
        out["spec"]["volumeSnapshotRef"],
        json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
               "name": "win2k22-vm-disk-snap-20261006", "namespace": "app-ns2"})
    );
    assert!(
        removed
            .paths
            .contains(&"spec.volumeSnapshotRef.uid".to_owned())
    );
    assert!(
        removed
            .paths
            .contains(&"spec.volumeSnapshotRef.resourceVersion".to_owned())
    );
    assert_eq!(out["spec"]["source"], fixture("vsc")["spec"]["source"]);
}

#[test]
fn volume_snapshot_keeps_its_spec() {
    let (out, _) = cleaned("vs", &CleanOptions::default());
    assert_eq!(out["spec"], fixture("vs")["spec"]);
    assert_eq!(out["metadata"]["namespace"], "app-ns2");
}

#[test]
fn cleaning_is_idempotent() {
    for name in ["pv-nfs", "pv-csi", "pvc-dv", "vs", "vsc"] {
        let (once, _) = cleaned(name, &CleanOptions::default());
        let (twice, removed) = clean(&once, &CleanOptions::default()).unwrap();
        assert_eq!(once, twice, "{name}");
        assert!(removed.paths.is_empty(), "{name}: {:?}", removed.paths);
    }
}

#[test]
fn bad_input_is_named() {
    assert_eq!(
        clean(&json!("pv"), &CleanOptions::default()).unwrap_err(),
        Error::NotAnObject { found: "a string" }
    );
    let err = clean(
        &json!({"metadata": {"name": "x"}}),
        &CleanOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the object has no `kind` (a string such as PersistentVolume); name: \"x\""
    );
}
