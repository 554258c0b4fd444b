//! `nfs_sync` with real rsync between local directories: option errors, the guards that must
//! refuse before anything runs, check mode and idempotence. Syncs over real sshd (the way the
//! module runs in production) are in `tests/modules/test_nfs_sync.py`.

use crate::util::run;
use serde_json::{Value, json};
use std::path::Path;

/// A primary tree with two small volumes, and an empty DR root.
fn sites() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for vol in ["a", "b"] {
        let path = dir.path().join("primary").join(vol);
        std::fs::create_dir_all(path.join("sub")).unwrap();
        std::fs::write(path.join("disk.img"), format!("disk of {vol}")).unwrap();
        std::fs::write(path.join("sub/notes"), b"notes").unwrap();
    }
    std::fs::create_dir(dir.path().join("dr")).unwrap();
    dir
}

fn volumes(root: &Path) -> Value {
    json!([
        {"name": "a", "source": root.join("primary/a"), "destination": root.join("dr/ns/a")},
        {"name": "b", "source": root.join("primary/b"), "destination": root.join("dr/ns/b")},
    ])
}

#[test]
fn syncs_locally_then_reports_no_change_and_check_mode_changes_nothing() {
    let dir = sites();
    let root = dir.path();
    let args = json!({"volumes": volumes(root), "allowed_roots": [root.join("dr")]});

    let mut check_args = args.clone();
    check_args["_ansible_check_mode"] = json!(true);
    let check = run("nfs_sync", &check_args);
    check.assert_ok();
    assert_eq!(
        check.json["changed"], true,
        "check mode reports what would change"
    );
    assert!(!root.join("dr/ns").exists(), "check mode wrote nothing");

    let first = run("nfs_sync", &args);
    first.assert_ok();
    assert_eq!(first.json["changed"], true);
    assert_eq!(first.json["volumes"][0]["files_transferred"], 2);
    assert_eq!(first.json["totals"]["files_transferred"], 4);
    assert_eq!(
        std::fs::read_to_string(root.join("dr/ns/b/disk.img")).unwrap(),
        "disk of b"
    );

    let second = run("nfs_sync", &args);
    second.assert_ok();
    assert_eq!(second.json["changed"], false, "{}", second.json);
    assert_eq!(second.json["volumes"][1]["changes_total"], 0);
}

#[test]
fn refusals_happen_before_anything_runs() {
    let dir = sites();
    let root = dir.path();
    let good =
        json!({"name": "a", "source": root.join("primary/a"), "destination": root.join("dr/ns/a")});
    for (bad_destination, expected) in [
        (json!("/etc/ocpdr"), "is not below any of allowed_roots"),
        (json!("/"), "is the root directory"),
        (
            json!(format!("{}/dr/../etc", root.display())),
            "contains `..`",
        ),
        (json!("dr/relative"), "is relative"),
        (json!(root.join("dr")), "is an allowed root itself"),
    ] {
        let bad =
            json!({"name": "b", "source": root.join("primary/b"), "destination": bad_destination});
        let r = run(
            "nfs_sync",
            &json!({"volumes": [good, bad], "allowed_roots": [root.join("dr")]}),
        );
        r.assert_failed();
        assert!(r.msg().contains(expected), "{expected}: {}", r.msg());
        assert!(r.msg().starts_with("volumes[1] (b)"), "{}", r.msg());
        assert!(
            !root.join("dr/ns").exists(),
            "the good volume must not have been synced either ({expected})"
        );
    }

    let r = run("nfs_sync", &json!({"volumes": [good]}));
    r.assert_failed();
    assert!(
        r.msg()
            .starts_with("delete is true but allowed_roots is empty"),
        "{}",
        r.msg()
    );

    std::os::unix::fs::symlink("/etc", root.join("dr/etc-link")).unwrap();
    let r = run(
        "nfs_sync",
        &json!({"volumes": [{"name": "sneaky", "source": root.join("primary/a"),
                             "destination": root.join("dr/etc-link/ocpdr")}],
                "allowed_roots": [root.join("dr")]}),
    );
    r.assert_failed();
    assert!(
        r.msg().contains("resolves to /etc/ocpdr through a symlink"),
        "{}",
        r.msg()
    );
    assert!(!Path::new("/etc/ocpdr").exists());
}

#[test]
fn option_errors_name_the_option() {
    let r = run(
        "nfs_sync",
        &json!({"volumes": [{"name": "a", "source": "/a", "dest": "/b"}], "allowed_roots": ["/b"]}),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "invalid value for option `volumes[0]`: in the {name, source, destination} form: unknown \
         field `dest`, expected one of `name`, `source`, `destination`"
    );
    let r = run("nfs_sync", &json!({"volumes": [], "bwlimit": "fast"}));
    assert!(
        r.msg().starts_with("invalid value for option `bwlimit`"),
        "{}",
        r.msg()
    );
    let r = run("nfs_sync", &json!({"volumes": [], "concurrency": 0}));
    assert!(
        r.msg()
            .starts_with("invalid value for option `concurrency`"),
        "{}",
        r.msg()
    );
    let r = run(
        "nfs_sync",
        &json!({"volumes": [], "ssh": {"strict_host_key_checking": "maybe"}}),
    );
    assert!(
        r.msg()
            .starts_with("invalid value for option `ssh.strict_host_key_checking`"),
        "{}",
        r.msg()
    );
    let r = run(
        "nfs_sync",
        &json!({"volumes": [], "delete": false, "extra_args": ["--delete-excluded"]}),
    );
    assert!(
        r.msg().starts_with("extra_args[0] \"--delete-excluded\""),
        "{}",
        r.msg()
    );
}

#[test]
fn an_empty_volume_list_is_a_no_op() {
    let r = run(
        "nfs_sync",
        &json!({"volumes": [], "allowed_roots": ["/dr"]}),
    );
    r.assert_ok();
    assert_eq!(r.json["changed"], false);
    assert_eq!(r.json["volumes"], json!([]));
    assert_eq!(r.json["totals"]["volumes"], 0);
}
