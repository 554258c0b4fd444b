//! `oadp_restore` against a fake DR cluster running the Velero restore controller.

use crate::fake::{Site, namespace};
use crate::util::run;
use fake_apiserver::{Config, Controllers};
use serde_json::{Value, json};
use std::time::Duration;

const RESTORES: &str = "/apis/velero.io/v1/namespaces/openshift-adp/restores";

fn site_with_backup(outcome: &str) -> Site {
    let site = Site::with(Config {
        controllers: Controllers {
            restore_outcome: outcome.to_owned(),
            restore_phase_delay: Duration::from_millis(300),
            ..Controllers::default()
        },
        ..Config::default()
    });
    site.create(&[namespace("openshift-adp")]);
    site.create(&[json!({"apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": "nightly", "namespace": "openshift-adp"},
        "spec": {"includedNamespaces": ["app1"]}, "status": {"phase": "Completed"}})]);
    site
}

fn restores(site: &Site) -> Vec<Value> {
    site.get(RESTORES).unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn restores_without_the_storage_kinds_and_waits_for_the_outcome() {
    let site = site_with_backup("Completed");
    let args = site.args(json!({
        "backup_name": "nightly", "restore_name": "failover-1",
        "included_namespaces": ["app1"], "excluded_resources": ["secrets", "pvc", "VolumeSnapshot"],
    }));
    let r = run("oadp_restore", &args);
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    assert_eq!(r.json["created"], true);
    assert_eq!(r.json["phase"], "Completed");
    let seen: Vec<&str> = r.json["phases_seen"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(seen.last(), Some(&"Completed"));
    let order = ["New", "InProgress", "Completed"];
    assert!(
        seen.windows(2)
            .all(|w| order.iter().position(|p| *p == w[0]) < order.iter().position(|p| *p == w[1])),
        "{seen:?}"
    );

    let stored = site.get(&format!("{RESTORES}/failover-1")).unwrap();
    assert_eq!(stored["spec"]["backupName"], "nightly");
    assert_eq!(stored["spec"]["includedNamespaces"], json!(["app1"]));
    assert_eq!(
        stored["spec"]["excludedResources"],
        json!([
            "persistentvolumes",
            "persistentvolumeclaims",
            "volumesnapshots.snapshot.storage.k8s.io",
            "volumesnapshotcontents.snapshot.storage.k8s.io",
            "secrets"
        ])
    );
    assert_eq!(stored["spec"]["restorePVs"], false);

    // The same restore_name again: no second Restore, the finished one is reported.
    let again = run("oadp_restore", &args);
    again.assert_ok();
    assert_eq!(again.json["changed"], false);
    assert_eq!(again.json["created"], false);
    assert_eq!(again.json["phase"], "Completed");
    assert_eq!(restores(&site).len(), 1);
}

#[test]
fn partial_failure_fails_with_the_counts_unless_allowed() {
    let site = site_with_backup("PartiallyFailed");
    let r = run(
        "oadp_restore",
        &site.args(json!({"backup_name": "nightly", "restore_name": "partial"})),
    );
    // The Restore exists now: a change, even though it did not succeed.
    r.assert_failed_after_changes();
    assert_eq!(
        r.msg(),
        "Restore openshift-adp/partial PartiallyFailed: 1 error(s), 0 warning(s); \
         `velero restore describe partial --details` lists them, or set allow_partial: true to accept it"
    );
    assert_eq!(r.json["errors_count"], 1);

    let allowed = run(
        "oadp_restore",
        &site.args(
            json!({"backup_name": "nightly", "restore_name": "partial", "allow_partial": true}),
        ),
    );
    allowed.assert_ok();
    assert!(
        allowed.json["warnings"]
            .to_string()
            .contains("accepted because allow_partial is set")
    );
    assert_eq!(restores(&site).len(), 1);
}

#[test]
fn a_missing_backup_or_a_name_taken_by_another_backup_is_refused() {
    let site = site_with_backup("Completed");
    let r = run("oadp_restore", &site.args(json!({"backup_name": "weekly"})));
    r.assert_failed();
    assert!(
        r.msg().starts_with(
            "Backup openshift-adp/weekly not found on the API server at http://127.0.0.1:"
        ),
        "{}",
        r.msg()
    );
    assert!(restores(&site).is_empty());

    site.create(&[json!({"apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": "weekly", "namespace": "openshift-adp"}, "status": {"phase": "Completed"}})]);
    let first = run(
        "oadp_restore",
        &site.args(json!({"backup_name": "nightly", "restore_name": "failover"})),
    );
    first.assert_ok();
    let clash = run(
        "oadp_restore",
        &site.args(json!({"backup_name": "weekly", "restore_name": "failover"})),
    );
    clash.assert_failed();
    assert_eq!(
        clash.msg(),
        "Restore openshift-adp/failover already exists for backup \"nightly\", not \"weekly\": choose another restore_name"
    );
}

#[test]
fn check_mode_creates_nothing() {
    let site = site_with_backup("Completed");
    let mut args = site.args(json!({"backup_name": "nightly"}));
    args["_ansible_check_mode"] = json!(true);
    let r = run("oadp_restore", &args);
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    let name = r.json["restore_name"].as_str().unwrap();
    assert!(name.starts_with("nightly-2"), "{name}");
    assert!(restores(&site).is_empty());
}
