//! `nfs_quarantine` on real directories: moves with notes, deletes, prune, check mode,
//! idempotence, and every refusal (with nothing touched). Runs on a "remote" DR site through
//! `delegate_to` are in `tests/playbooks/test_data_roles.py`.

use crate::util::{Run, run};
use serde_json::{Value, json};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A DR export root with two volume directories and a file outside the root.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for vol in ["ns/disk-a", "ns/disk-b"] {
            let path = dir.path().join("exports").join(vol);
            std::fs::create_dir_all(path.join("sub")).unwrap();
            std::fs::write(path.join("disk.img"), format!("data of {vol}")).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("precious")).unwrap();
        std::fs::write(dir.path().join("precious/keep"), b"keep").unwrap();
        Site { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn exports(&self) -> PathBuf {
        self.path("exports")
    }

    fn quarantine(&self) -> PathBuf {
        self.path("exports/.q")
    }

    fn args(&self, state: &str, paths: &[&Path]) -> Value {
        json!({
            "state": state,
            "paths": paths,
            "quarantine_dir": self.quarantine(),
            "allowed_roots": [self.exports()],
            "reason": "PersistentVolume deleted on the primary",
            "run_id": "event-20260307T080000Z-ab12",
        })
    }
}

fn checked(mut args: Value) -> Value {
    args["_ansible_check_mode"] = json!(true);
    args
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

#[test]
fn quarantine_moves_with_a_note_then_is_unchanged() {
    let site = Site::new();
    let disk_a = site.path("exports/ns/disk-a");
    let args = site.args("quarantine", &[&disk_a]);

    let check = run("nfs_quarantine", &checked(args.clone()));
    check.assert_ok();
    assert_eq!(check.json["changed"], true);
    assert_eq!(check.json["paths"][0]["action"], "quarantined");
    assert!(disk_a.exists(), "check mode moved nothing");
    assert!(!site.quarantine().exists(), "check mode created nothing");

    let first = run("nfs_quarantine", &args);
    first.assert_ok();
    assert_eq!(first.json["changed"], true);
    let dest = site.quarantine().join(today()).join("disk-a");
    let result = &first.json["paths"][0];
    assert_eq!(result["path"], json!(disk_a));
    assert_eq!(result["action"], "quarantined");
    assert_eq!(result["destination"], json!(dest));
    assert_eq!(check.json["paths"][0]["destination"], json!(dest));
    assert!(!disk_a.exists());
    assert_eq!(
        std::fs::read_to_string(dest.join("disk.img")).unwrap(),
        "data of ns/disk-a"
    );
    let note: Value =
        serde_json::from_str(&std::fs::read_to_string(result["note"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(note["original_path"], json!(disk_a));
    assert_eq!(note["reason"], "PersistentVolume deleted on the primary");
    assert_eq!(note["run_id"], "event-20260307T080000Z-ab12");
    assert!(
        note["quarantined_at"]
            .as_str()
            .unwrap()
            .starts_with(&today())
    );

    let second = run("nfs_quarantine", &args);
    second.assert_ok();
    assert_eq!(second.json["changed"], false);
    assert_eq!(second.json["paths"][0]["action"], "unchanged");
    assert_eq!(second.json["paths"][0]["destination"], Value::Null);
}

#[test]
fn a_second_directory_of_the_same_name_never_overwrites_the_first() {
    let site = Site::new();
    let disk_a = site.path("exports/ns/disk-a");
    let other = site.path("exports/other/disk-a");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("disk.img"), b"other").unwrap();
    let r = run(
        "nfs_quarantine",
        &site.args("quarantine", &[&disk_a, &other]),
    );
    r.assert_ok();
    let day = site.quarantine().join(today());
    assert_eq!(r.json["paths"][0]["destination"], json!(day.join("disk-a")));
    assert_eq!(
        r.json["paths"][1]["destination"],
        json!(day.join("disk-a-1"))
    );
    assert_eq!(
        std::fs::read(day.join("disk-a-1/disk.img")).unwrap(),
        b"other"
    );
    // A later run on the same day gets the next free name.
    let again = site.path("exports/ns/disk-a");
    std::fs::create_dir_all(&again).unwrap();
    let r = run("nfs_quarantine", &site.args("quarantine", &[&again]));
    assert_eq!(
        r.json["paths"][0]["destination"],
        json!(day.join("disk-a-2"))
    );
    assert!(day.join("disk-a-2.quarantine.json").is_file());
}

#[test]
fn delete_removes_the_tree_without_following_links() {
    let site = Site::new();
    let disk_b = site.path("exports/ns/disk-b");
    // A link inside the volume to data outside it must not take that data along.
    symlink(site.path("precious"), disk_b.join("link-out")).unwrap();
    let args = site.args("delete", &[&disk_b, &site.path("exports/ns/gone")]);

    let check = run("nfs_quarantine", &checked(args.clone()));
    check.assert_ok();
    assert_eq!(check.json["changed"], true);
    assert!(disk_b.exists());

    let r = run("nfs_quarantine", &args);
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    assert_eq!(r.json["paths"][0]["action"], "deleted");
    assert_eq!(r.json["paths"][1]["action"], "unchanged");
    assert!(!disk_b.exists());
    assert!(site.path("precious/keep").exists());
    assert!(site.path("exports/ns/disk-a").exists());
    assert!(
        !site.quarantine().exists(),
        "delete does not use the quarantine"
    );
}

#[test]
fn prune_removes_expired_date_directories_only() {
    let site = Site::new();
    let q = site.quarantine();
    for name in ["2020-01-01", "2020-01-02", "not-a-date"] {
        std::fs::create_dir_all(q.join(name).join("disk")).unwrap();
    }
    std::fs::create_dir_all(q.join(today())).unwrap();
    // A date-named symlink to data outside is never followed or removed.
    symlink(site.path("precious"), q.join("2019-12-31")).unwrap();
    let mut args = site.args("prune", &[]);
    args["retention_days"] = json!(30);

    let check = run("nfs_quarantine", &checked(args.clone()));
    check.assert_ok();
    assert_eq!(check.json["changed"], true);
    assert!(q.join("2020-01-01").exists());

    let r = run("nfs_quarantine", &args);
    r.assert_ok();
    assert_eq!(
        r.json["pruned"],
        json!([q.join("2020-01-01"), q.join("2020-01-02")])
    );
    assert!(!q.join("2020-01-01").exists());
    assert!(q.join("not-a-date").exists());
    assert!(q.join(today()).exists());
    assert!(site.path("precious/keep").exists());
    let again = run("nfs_quarantine", &args);
    assert_eq!(again.json["changed"], false);

    // No quarantine directory yet: nothing to prune.
    let empty = Site::new();
    let mut args = empty.args("prune", &[]);
    args["retention_days"] = json!(1);
    let r = run("nfs_quarantine", &args);
    r.assert_ok();
    assert_eq!(r.json["changed"], false);
}

/// Runs a request that must be refused, and checks nothing moved.
fn refused(site: &Site, args: &Value) -> Run {
    let r = run("nfs_quarantine", args);
    r.assert_failed();
    for vol in ["exports/ns/disk-a", "exports/ns/disk-b", "precious/keep"] {
        assert!(site.path(vol).exists(), "{vol} untouched: {}", r.json);
    }
    assert!(!site.quarantine().exists(), "{}", r.json);
    r
}

#[test]
fn refuses_paths_outside_the_roots_at_a_root_or_the_filesystem_root() {
    let site = Site::new();
    let disk_a = site.path("exports/ns/disk-a");
    for (bad, expected) in [
        (site.path("precious"), "is not below any of allowed_roots"),
        (site.exports(), "is an allowed root itself"),
        (PathBuf::from("/"), "is the root directory"),
        (PathBuf::from("exports/ns/disk-b"), "is relative"),
        (site.path("exports/ns/../../precious"), "contains `..`"),
    ] {
        for state in ["quarantine", "delete"] {
            // The good path comes first: one bad path refuses the whole request.
            let r = refused(&site, &site.args(state, &[&disk_a, &bad]));
            assert!(r.msg().contains(expected), "{state} {bad:?}: {}", r.msg());
            assert!(r.msg().starts_with("paths[1]"), "{}", r.msg());
        }
    }
}

#[test]
fn refuses_a_bad_quarantine_dir_or_roots() {
    let site = Site::new();
    let disk_a = site.path("exports/ns/disk-a");
    let base = site.args("quarantine", &[&disk_a]);
    let with = |key: &str, value: Value| {
        let mut args = base.clone();
        args[key] = value;
        args
    };
    for (args, expected) in [
        (
            with("quarantine_dir", json!(site.path("q"))),
            "quarantine_dir",
        ),
        (
            with("quarantine_dir", json!(site.exports())),
            "is an allowed root itself",
        ),
        (
            with("quarantine_dir", json!(disk_a.join(".q"))),
            "lies inside paths[0]",
        ),
        (with("allowed_roots", json!([])), "allowed_roots is empty"),
        (with("allowed_roots", json!(["/"])), "allowed_roots[0]"),
        (
            with("paths", json!([site.quarantine().join("2026-01-01/x")])),
            "lies inside quarantine_dir",
        ),
        (
            with("paths", json!([disk_a, disk_a.join("sub")])),
            "overlaps paths[0]",
        ),
    ] {
        let r = refused(&site, &args);
        assert!(r.msg().contains(expected), "{expected}: {}", r.msg());
    }
}

#[test]
fn refuses_symlinks_and_files_instead_of_following_them() {
    let site = Site::new();
    let disk_a = site.path("exports/ns/disk-a");
    // The path itself is a symlink (to data outside the roots).
    let link = site.path("exports/ns/link");
    symlink(site.path("precious"), &link).unwrap();
    let r = refused(&site, &site.args("delete", &[&disk_a, &link]));
    assert!(r.msg().contains("is a symlink"), "{}", r.msg());
    // A parent is a symlink that leads out of the roots.
    let hop = site.path("exports/hop");
    symlink(site.dir.path(), &hop).unwrap();
    let r = refused(&site, &site.args("delete", &[&hop.join("precious")]));
    assert!(r.msg().contains("through a symlink"), "{}", r.msg());
    // The quarantine directory leads out of the roots.
    let mut args = site.args("quarantine", &[&disk_a]);
    args["quarantine_dir"] = json!(hop.join("q"));
    let r = refused(&site, &args);
    assert!(r.msg().starts_with("quarantine_dir"), "{}", r.msg());
    // A file is not a volume directory.
    let file = site.path("exports/ns/disk-a/disk.img");
    let r = refused(&site, &site.args("delete", &[&file]));
    assert!(r.msg().contains("is not a directory"), "{}", r.msg());
    assert!(Path::new(&link).is_symlink());
}

#[test]
fn prune_refuses_paths_and_needs_a_retention() {
    let site = Site::new();
    let r = refused(
        &site,
        &site.args("prune", &[&site.path("exports/ns/disk-a")]),
    );
    assert!(r.msg().contains("takes no paths"), "{}", r.msg());
    let r = refused(&site, &site.args("prune", &[]));
    assert!(
        r.msg().contains("retention_days of at least 1"),
        "{}",
        r.msg()
    );
    let mut typo = site.args("quarantine", &[]);
    typo["retention"] = json!(3);
    let r = refused(&site, &typo);
    assert!(
        r.msg()
            .starts_with("invalid options: unknown field `retention`")
    );
}
