//! `oadp_backup` on local backups written as Velero writes them (S3 is tested against moto in
//! `tests/playbooks/test_oadp_backup.py`).

use crate::util::run;
use ocpdr_fixtures::{BackupMeta, Scenario, backup_cr_json, hostile, write_backup};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Writes the small scenario as `<dir>/nightly-1.tar.gz`, with `velero-backup.json` if asked.
fn backup_in(dir: &Path, with_cr: bool) -> PathBuf {
    let mut meta = BackupMeta::completed("nightly-1", "2025-01-10T02:00:00Z".parse().unwrap());
    meta.schedule = Some("nightly".into());
    let scenario = Scenario::small("nightly-1");
    let (bytes, written) = write_backup(scenario.objects(), &meta, Vec::new()).unwrap();
    let path = dir.join("nightly-1.tar.gz");
    std::fs::write(&path, bytes).unwrap();
    if with_cr {
        std::fs::write(
            dir.join("velero-backup.json"),
            backup_cr_json(&meta, written.items),
        )
        .unwrap();
    }
    path
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(usize::MAX, Vec::len)
}

#[test]
fn parses_a_local_backup_identically_in_check_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = backup_in(dir.path(), true);
    let args = json!({"source": {"path": path}});
    let r = run("oadp_backup", &args);
    r.assert_ok();
    let out = &r.json;
    assert_eq!(out["changed"], false);
    for list in [
        "pv_info_list",
        "pvc_info_list",
        "vs_info_list",
        "vsc_info_list",
    ] {
        assert_eq!(len(&out[list]), 4, "{list}");
    }
    assert_eq!(out["pv_info_list"][0]["kind"], "PersistentVolume");
    assert_eq!(
        out["pv_info_list"][0]["spec"]["nfs"]["server"],
        "nfs-primary.example.com"
    );
    assert_eq!(
        out["pvc_info_list"][0]["metadata"]["namespace"],
        "vm-ns-000"
    );
    assert_eq!(out["backup"]["name"], "nightly-1");
    assert_eq!(out["backup"]["phase"], "Completed");
    assert_eq!(out["backup"]["schedule"], "nightly");
    assert_eq!(
        out["counts"],
        json!({"persistentvolumeclaims": 4, "persistentvolumes": 4,
        "volumesnapshotcontents.snapshot.storage.k8s.io": 4, "volumesnapshots.snapshot.storage.k8s.io": 4})
    );
    assert_eq!(out["archive"]["format_version"], "1.1.0");
    assert_eq!(out["archive"]["items"], 36);
    assert_eq!(out["skipped_backups"], json!([]));

    let mut check = args.clone();
    check["_ansible_check_mode"] = json!(true);
    assert_eq!(
        run("oadp_backup", &check).json,
        r.json,
        "read-only: same result in check mode"
    );
}

#[test]
fn other_kinds_and_namespaces_can_be_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = backup_in(dir.path(), false);
    let r = run(
        "oadp_backup",
        &json!({"source": {"path": path}, "kinds": ["pv", "deployments.apps", "virtualmachines.kubevirt.io"],
                "namespaces": ["vm-ns-001"]}),
    );
    r.assert_ok();
    assert_eq!(len(&r.json["pv_info_list"]), 2);
    assert_eq!(len(&r.json["pvc_info_list"]), 0);
    assert_eq!(len(&r.json["resources"]["deployments.apps"]), 1);
    assert_eq!(len(&r.json["resources"]["virtualmachines.kubevirt.io"]), 2);
    // Without velero-backup.json beside it, the backup is known by the file name.
    assert_eq!(r.json["backup"]["name"], "nightly-1");
    assert_eq!(r.json["backup"]["phase"], Value::Null);
}

#[test]
fn hostile_entries_are_reported_as_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.tar.gz");
    std::fs::write(&path, hostile::path_traversal()).unwrap();
    let r = run("oadp_backup", &json!({"source": {"path": path}}));
    r.assert_ok();
    assert_eq!(len(&r.json["pv_info_list"]), 1);
    assert_eq!(len(&r.json["archive"]["rejected"]), 4);
    let warning = r.json["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("refused 4 archive entries with unsafe names"),
        "{warning}"
    );
    assert!(warning.contains("../escape.json"), "{warning}");
}

#[test]
fn bad_archives_and_options_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.tar.gz");
    std::fs::write(&path, hostile::not_gzip()).unwrap();
    let r = run("oadp_backup", &json!({"source": {"path": path}}));
    r.assert_failed();
    assert!(r.msg().ends_with("backup.tar.gz: the backup archive is neither gzip nor tar: it starts with \"<?xml version=\\\"1\""), "{}", r.msg());

    let r = run(
        "oadp_backup",
        &json!({"source": {"path": dir.path().join("missing.tar.gz")}}),
    );
    r.assert_failed();
    assert!(
        r.msg().starts_with("cannot open the backup archive "),
        "{}",
        r.msg()
    );

    std::fs::write(&path, hostile::gzip_bomb(2 << 20)).unwrap();
    let r = run(
        "oadp_backup",
        &json!({"source": {"path": path}, "max_entry_size": 1_048_576}),
    );
    r.assert_failed();
    assert!(
        r.msg()
            .contains("more than the per-entry limit of 1048576 bytes"),
        "{}",
        r.msg()
    );

    let r = run(
        "oadp_backup",
        &json!({"source": {"path": path, "s3": {"bucket": "b"}}}),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "invalid value for option `source`: give exactly one of `s3` (a bucket) or `path` (a local backup tarball)"
    );
    let r = run(
        "oadp_backup",
        &json!({"source": {"path": path}, "backup_name": "x"}),
    );
    assert!(
        r.msg()
            .starts_with("backup_name and schedule choose a backup in a bucket"),
        "{}",
        r.msg()
    );
    let r = run(
        "oadp_backup",
        &json!({"source": {"path": path}, "kinds": ["Deployment"]}),
    );
    assert!(
        r.msg().starts_with("kind \"Deployment\" is not a resource"),
        "{}",
        r.msg()
    );
    let r = run(
        "oadp_backup",
        &json!({"source": {"s3": {"bucket": "b", "secret": "x"}}}),
    );
    assert!(
        r.msg().starts_with(
            "invalid value for option `source.s3`: unknown field `secret`, expected one of `bucket`"
        ),
        "{}",
        r.msg()
    );
}

#[test]
fn an_unreachable_endpoint_fails_without_leaking_the_secret() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = run(
        "oadp_backup",
        &json!({"source": {"s3": {"bucket": "velero-backups", "prefix": "velero",
                                  "endpoint_url": format!("http://127.0.0.1:{port}"), "force_path_style": true,
                                  "access_key": "AKIAEXAMPLE", "secret_key": "wJalrXUtnFEMI-s3cr3t"}}}),
    );
    r.assert_failed();
    let msg = r.msg();
    assert!(
        msg.starts_with(&format!("S3 ListObjectsV2 of s3://velero-backups/velero/backups/ at http://127.0.0.1:{port} failed: ")),
        "{msg}"
    );
    assert!(!r.json.to_string().contains("s3cr3t"), "{}", r.json);
}
