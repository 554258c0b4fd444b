//! The binary-module protocol, checked on a real module binary.

use crate::util::{run, run_with_file};
use serde_json::json;

#[test]
fn missing_args_file_is_a_failed_result() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let r = run_with_file("pv_retarget", &missing);
    r.assert_failed();
    assert!(
        r.msg().starts_with("cannot read the arguments file"),
        "{}",
        r.msg()
    );
    assert!(r.msg().contains("No such file"), "{}", r.msg());
}

#[test]
fn empty_args_file_is_a_failed_result() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("args");
    std::fs::write(&path, "  \n").unwrap();
    let r = run_with_file("resource_clean", &path);
    r.assert_failed();
    assert!(
        r.msg().contains("is empty: expected a JSON object"),
        "{}",
        r.msg()
    );
}

#[test]
fn malformed_json_is_a_failed_result() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("args");
    std::fs::write(&path, "{\"resources\": [").unwrap();
    let r = run_with_file("resource_clean", &path);
    r.assert_failed();
    assert!(r.msg().contains("is not valid JSON"), "{}", r.msg());
    std::fs::write(&path, "[1, 2]").unwrap();
    let r = run_with_file("resource_clean", &path);
    r.assert_failed();
    assert!(
        r.msg().contains("holds a list, expected a JSON object"),
        "{}",
        r.msg()
    );
}

#[test]
fn no_args_file_prints_usage_as_a_failed_result() {
    let out = assert_cmd::Command::new(crate::util::module_path("pv_retarget"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["failed"], true);
    assert!(json["msg"].as_str().unwrap().contains("usage:"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unknown_option_lists_the_valid_ones() {
    let r = run(
        "resource_clean",
        &json!({"resources": [], "annotation": "all"}),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "invalid options: unknown field `annotation`, expected one of `resources`, `annotations`, \
         `drop_annotation_prefixes`, `keep_annotations`, `claim_ref`"
    );
}

#[test]
fn wrong_type_names_the_field_and_expected_type() {
    let r = run(
        "pv_retarget",
        &json!({"resources": [], "dr_nfs_server": "nfs-dr", "clean": "yes"}),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "invalid value for option `clean`: invalid type: string \"yes\", expected a boolean"
    );
    let r = run(
        "pv_retarget",
        &json!({"resources": [], "dr_nfs_server": "nfs-dr", "path_map": [{"from": "/a", "too": "/b"}]}),
    );
    assert_eq!(
        r.msg(),
        "invalid value for option `path_map[0]`: unknown field `too`, expected `from` or `to`"
    );
    let r = run(
        "resource_clean",
        &json!({"resources": [], "annotations": "some"}),
    );
    assert_eq!(
        r.msg(),
        "invalid value for option `annotations`: unknown variant `some`, expected one of `system`, `all`, `none`"
    );
}

#[test]
fn missing_required_option_is_named() {
    let r = run("pv_retarget", &json!({"resources": []}));
    r.assert_failed();
    assert_eq!(r.msg(), "invalid options: missing field `dr_nfs_server`");
}

#[test]
fn controller_keys_are_accepted() {
    let r = run(
        "resource_clean",
        &json!({"resources": [], "_ansible_check_mode": true, "_ansible_no_log": false,
                "_ansible_version": "2.19.14", "_ansible_tmpdir": "/tmp/x", "_ansible_remote_tmp": "~/.ansible/tmp"}),
    );
    r.assert_ok();
    assert_eq!(
        r.json,
        json!({"changed": false, "resources": [], "removed": []})
    );
}
