//! `evidence`: records that coreutils verifies, tampering found, retention, health.

use crate::util::{Run, run, run_with_env};
use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// RFC 3339 for `hours` hours from now (negative: ago).
fn hours_from_now(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A `write` of a periodic sync under `root` with data, a log line and a report.
fn write_args(root: &Path) -> Value {
    json!({
        "root": root,
        "mode": "periodic-sync",
        "status": "success",
        "change_id": "CHG-2025-0918-001",
        "playbook": "scheduled/sync.yml",
        "summary": {"volumes": 2, "failed": 0},
        "data": {
            "pvcs.json": [{"kind": "PersistentVolumeClaim", "metadata": {"name": "disk", "namespace": "app"}}],
            "volumes.csv": [{"pvc": "app/disk", "bytes": 1024}, {"pvc": "app/data", "bytes": 2048}],
        },
        "log": ["listed 2 PVCs", {"at": "2025-09-18T02:00:05Z", "msg": "synced app/disk"}],
        "report": {
            "steps": [{"name": "Sync", "started_at": hours_from_now(-1), "finished_at": hours_from_now(0),
                       "status": "success"}],
            "volumes": [{"name": "app/disk", "status": "success", "bytes": 1024, "duration_seconds": 2.5}],
        },
    })
}

fn write(args: &Value) -> (Run, PathBuf) {
    let r = run("evidence", args);
    r.assert_ok();
    let dir = PathBuf::from(r.json["run_dir"].as_str().expect("run_dir"));
    (r, dir)
}

/// Runs the real coreutils `sha256sum -c --strict <file>` in `dir`; returns (ok, output).
fn sha256sum_check(dir: &Path, file: &str) -> (bool, String) {
    let out = Command::new("sha256sum")
        .args(["-c", "--strict", file])
        .current_dir(dir)
        .output()
        .expect("sha256sum runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn galaxy_version() -> String {
    let galaxy =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../collection/galaxy.yml"))
            .unwrap();
    galaxy
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn a_written_run_verifies_with_sha256sum_alone() {
    let root = tempfile::tempdir().unwrap();
    let (r, dir) = write(&write_args(root.path()));
    assert_eq!(r.json["changed"], true);
    assert_eq!(r.json["created"], true);
    let run_id = r.json["run_id"].as_str().unwrap();
    assert_eq!(dir.file_name().unwrap(), run_id);
    assert_eq!(
        dir.parent().unwrap().file_name().unwrap().to_str().unwrap(),
        Utc::now().format("%Y-%m-%d").to_string()
    );

    let (ok, out) = sha256sum_check(&dir, "manifest.sha256");
    assert!(ok, "{out}");
    assert_eq!(out, "manifest.json: OK\n");
    let (ok, out) = sha256sum_check(&dir, "SHA256SUMS");
    assert!(ok, "{out}");
    assert_eq!(
        out,
        "evidence.log: OK\npvcs.json: OK\nreport.html: OK\nreport.json: OK\nreport.md: OK\nvolumes.csv: OK\n"
    );

    // The returned manifest is the file, and names what ran.
    let on_disk: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(r.json["manifest"], on_disk);
    assert_eq!(r.json["artifacts"], on_disk["artifacts"]);
    assert_eq!(
        on_disk["script_version"],
        format!("scheduled/sync.yml@ocpdr.dr-{}", galaxy_version())
    );
    assert_eq!(on_disk["change_id"], "CHG-2025-0918-001");
    assert_eq!(on_disk["retention_days"], 180);
    assert_eq!(on_disk["status"], "success");
    assert_eq!(on_disk["summary"], json!({"failed": 0, "volumes": 2}));
    assert_eq!(
        fs::read_to_string(dir.join("volumes.csv")).unwrap(),
        "pvc,bytes\napp/disk,1024\napp/data,2048\n"
    );
    let log = fs::read_to_string(dir.join("evidence.log")).unwrap();
    assert!(log.contains("Z listed 2 PVCs\n"), "{log}");
    assert!(
        log.contains("2025-09-18T02:00:05.000Z synced app/disk\n"),
        "{log}"
    );

    let v = run("evidence", &json!({"state": "verify", "root": root.path()}));
    v.assert_ok();
    assert_eq!(v.json["changed"], false);
    assert_eq!(v.json["ok"], true);
    assert_eq!(v.json["runs"][0]["run_id"], run_id);
}

#[test]
fn edits_additions_and_deletions_are_each_reported_and_fail() {
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..3).map(|_| write(&write_args(root.path())).1).collect();
    let csv = dirs[0].join("volumes.csv");
    let mut bytes = fs::read(&csv).unwrap();
    let at = bytes.len() - 2;
    bytes[at] = b'9'; // 2048 -> 2049-ish: one byte, same size
    fs::write(&csv, bytes).unwrap();
    fs::write(dirs[1].join("notes.txt"), "added later").unwrap();
    fs::remove_file(dirs[2].join("pvcs.json")).unwrap();

    let (ok, out) = sha256sum_check(&dirs[0], "SHA256SUMS");
    assert!(
        !ok && out.contains("volumes.csv: FAILED"),
        "coreutils agrees: {out}"
    );

    let v = run("evidence", &json!({"state": "verify", "root": root.path()}));
    v.assert_failed();
    assert_eq!(v.json["ok"], false);
    let by_dir = |dir: &Path| {
        v.json["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["run_dir"] == json!(dir))
            .unwrap()
            .clone()
    };
    let lists = |r: &Value| {
        (
            r["missing"].clone(),
            r["modified"].clone(),
            r["unlisted"].clone(),
        )
    };
    assert_eq!(
        lists(&by_dir(&dirs[0])),
        (json!([]), json!(["volumes.csv"]), json!([]))
    );
    assert_eq!(
        lists(&by_dir(&dirs[1])),
        (json!([]), json!([]), json!(["notes.txt"]))
    );
    assert_eq!(
        lists(&by_dir(&dirs[2])),
        (json!(["pvcs.json"]), json!([]), json!([]))
    );
    let name = |d: &PathBuf| d.file_name().unwrap().to_str().unwrap().to_owned();
    for (dir, finding) in [
        (&dirs[0], "modified volumes.csv"),
        (&dirs[1], "unlisted notes.txt"),
        (&dirs[2], "missing pvcs.json"),
    ] {
        assert!(
            v.msg().contains(&format!("{}: {finding}", name(dir))),
            "{}",
            v.msg()
        );
    }
    assert!(v.msg().starts_with(&format!(
        "evidence under {} fails verification (3 of 3 runs): ",
        root.path().display()
    )));

    // One run by id still verifies on its own terms.
    let one = run(
        "evidence",
        &json!({"state": "verify", "root": root.path(), "run_id": name(&dirs[1])}),
    );
    one.assert_failed();
    assert_eq!(one.json["runs"].as_array().unwrap().len(), 1);
}

#[test]
fn two_writes_in_the_same_second_get_distinct_run_dirs() {
    let root = tempfile::tempdir().unwrap();
    let mut args = write_args(root.path());
    args["started_at"] = json!("2025-09-18T02:00:00Z");
    args["finished_at"] = json!("2025-09-18T02:00:00Z");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let args = args.clone();
            std::thread::spawn(move || write(&args).1)
        })
        .collect();
    let mut dirs: Vec<PathBuf> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs.len(), 4, "{dirs:?}");
    for dir in &dirs {
        assert_eq!(dir.parent().unwrap(), root.path().join("2025-09-18"));
        assert!(
            dir.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("periodic-sync-20250918T020000Z-")
        );
        assert!(sha256sum_check(dir, "SHA256SUMS").0);
    }
}

#[test]
fn prune_removes_exactly_the_expired_days_and_check_mode_only_lists_them() {
    let root = tempfile::tempdir().unwrap();
    let mut dates = Vec::new();
    for days_ago in [200, 181, 179, 0] {
        let mut args = write_args(root.path());
        let started = hours_from_now(-24 * days_ago);
        args["started_at"] = json!(started);
        args["finished_at"] = json!(started);
        let dir = write(&args).1;
        dates.push(dir.parent().unwrap().to_owned());
    }
    let prune = json!({"state": "prune", "root": root.path(), "retention_days": 180});
    let mut check = prune.clone();
    check["_ansible_check_mode"] = json!(true);
    let planned = run("evidence", &check);
    planned.assert_ok();
    assert_eq!(planned.json["changed"], true);
    assert_eq!(planned.json["removed"], json!([dates[0], dates[1]]));
    assert!(
        dates.iter().all(|d| d.exists()),
        "check mode removes nothing"
    );

    let done = run("evidence", &prune);
    done.assert_ok();
    assert_eq!(done.json["removed"], json!([dates[0], dates[1]]));
    assert_eq!(done.json["kept"], 2);
    assert!(!dates[0].exists() && !dates[1].exists() && dates[2].exists() && dates[3].exists());
    let again = run("evidence", &prune);
    assert_eq!(again.json["changed"], false);

    // RETENTION_DAYS applies when the option is absent.
    let env = run_with_env(
        "evidence",
        &json!({"state": "prune", "root": root.path()}),
        &[("RETENTION_DAYS", "abc")],
    );
    env.assert_failed();
    assert_eq!(
        env.msg(),
        "environment variable RETENTION_DAYS=\"abc\" is not a whole number of days"
    );
}

#[test]
fn prune_refuses_a_root_that_is_not_evidence() {
    let home = tempfile::tempdir().unwrap();
    fs::create_dir_all(home.path().join("2001-01-01/photos")).unwrap();
    fs::write(home.path().join("notes.txt"), "keep me").unwrap();
    let r = run(
        "evidence",
        &json!({"state": "prune", "root": home.path(), "retention_days": 1}),
    );
    r.assert_failed();
    assert!(
        r.msg()
            .starts_with(&format!("refusing to prune {}:", home.path().display())),
        "{}",
        r.msg()
    );
    assert!(home.path().join("2001-01-01/photos").exists());
}

#[test]
fn health_is_ok_stale_or_failed() {
    let root = tempfile::tempdir().unwrap();
    let health = json!({"state": "health", "root": root.path(), "mode": "periodic-sync"});
    let none = run("evidence", &health);
    none.assert_failed();
    assert_eq!(
        none.msg(),
        format!(
            "no periodic-sync run is recorded under {}",
            root.path().display()
        )
    );

    let mut old = write_args(root.path());
    old["started_at"] = json!(hours_from_now(-30));
    old["finished_at"] = json!(hours_from_now(-29));
    let old_id = write(&old).0.json["run_id"].clone();
    let stale = run("evidence", &health);
    stale.assert_failed();
    assert_eq!(stale.json["run_id"], old_id);
    assert_eq!(stale.json["healthy"], false);
    assert!(
        stale.msg().contains("older than max_age 1d 02h 00m"),
        "{}",
        stale.msg()
    );
    let relaxed = run(
        "evidence",
        &json!({"state": "health", "root": root.path(), "max_age": "2d"}),
    );
    relaxed.assert_ok();
    assert!(
        relaxed.json["age"].as_str().unwrap().starts_with("1d 05h"),
        "{}",
        relaxed.json
    );

    let mut recent = write_args(root.path());
    recent["started_at"] = json!(hours_from_now(-2));
    recent["finished_at"] = json!(hours_from_now(-1));
    let recent_id = write(&recent).0.json["run_id"].clone();
    let ok = run("evidence", &health);
    ok.assert_ok();
    assert_eq!(ok.json["changed"], false);
    assert_eq!(
        (ok.json["run_id"].clone(), ok.json["status"].clone()),
        (recent_id, json!("success"))
    );
    // Finished an hour ago, give or take the seconds this test took.
    assert!(
        (3600..3900).contains(&ok.json["age_seconds"].as_u64().unwrap()),
        "{}",
        ok.json
    );
    assert_eq!(ok.json["max_age_seconds"], 26 * 3600);

    let mut failed = write_args(root.path());
    failed["status"] = json!("failed");
    write(&failed);
    let bad = run("evidence", &health);
    bad.assert_failed();
    assert_eq!(bad.json["status"], "failed");
    assert!(
        bad.msg().ends_with("with status failed, not success"),
        "{}",
        bad.msg()
    );
}

#[test]
fn check_mode_writes_nothing_and_the_environment_supplies_the_change() {
    let root = tempfile::tempdir().unwrap();
    let mut args = write_args(root.path());
    args.as_object_mut().unwrap().remove("change_id");
    args["_ansible_check_mode"] = json!(true);
    let planned = run("evidence", &args);
    planned.assert_ok();
    assert_eq!(planned.json["changed"], true);
    assert_eq!(planned.json["created"], true);
    assert_eq!(planned.json["artifacts"][1], json!({"path": "pvcs.json"}));
    assert!(
        !root
            .path()
            .join(Utc::now().format("%Y-%m-%d").to_string())
            .exists()
    );
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);

    args["_ansible_check_mode"] = json!(false);
    let r = run_with_env(
        "evidence",
        &args,
        &[("CHANGE_ID", "CHG-ENV-42"), ("RETENTION_DAYS", "400")],
    );
    r.assert_ok();
    assert_eq!(r.json["manifest"]["change_id"], "CHG-ENV-42");
    assert_eq!(r.json["manifest"]["retention_days"], 400);
}

#[test]
fn a_run_can_be_added_to_and_files_are_moved_in() {
    let root = tempfile::tempdir().unwrap();
    let mut first = write_args(root.path());
    first["status"] = json!("partial");
    let (r, dir) = write(&first);
    let src = tempfile::tempdir().unwrap();
    let rsync_log = src.path().join("rsync-app-disk.log");
    fs::write(&rsync_log, "sent 1024 bytes\n").unwrap();
    let more = json!({
        "root": root.path(), "mode": "periodic-sync", "run_id": r.json["run_id"], "status": "success",
        "files": [rsync_log], "log": ["final sync done"],
    });
    let (second, same_dir) = write(&more);
    assert_eq!(same_dir, dir);
    assert_eq!(second.json["created"], false);
    assert_eq!(second.json["manifest"]["status"], "success");
    assert!(!rsync_log.exists(), "moved in (copy: false is the default)");
    assert_eq!(
        fs::read_to_string(dir.join("rsync-app-disk.log")).unwrap(),
        "sent 1024 bytes\n"
    );
    assert!(
        sha256sum_check(&dir, "SHA256SUMS")
            .1
            .contains("rsync-app-disk.log: OK")
    );
    assert!(sha256sum_check(&dir, "manifest.sha256").0);
}

#[test]
fn bad_options_are_named() {
    let root = tempfile::tempdir().unwrap();
    let cases = [
        (
            json!({"state": "health", "root": root.path(), "files": ["/etc/hosts"]}),
            "option(s) files do not apply to state=health; it takes root, mode, max_age",
        ),
        (
            json!({"root": root.path(), "status": "success"}),
            "state=write needs `mode` (e.g. periodic-sync, event-sync, failover)",
        ),
        (
            json!({"root": root.path(), "mode": "failover", "status": "done"}),
            "invalid value for option `status`: unknown variant `done`, expected one of `success`, `partial`, `failed`",
        ),
        (
            json!({"root": root.path(), "mode": "failover", "status": "failed", "started_at": "today"}),
            "invalid value for option `started_at`: \"today\" is not a time; expected RFC 3339, e.g. 2025-09-18T02:00:00Z",
        ),
        (
            json!({"root": root.path(), "mode": "failover", "status": "failed", "log": [42]}),
            "invalid value for option `log[0]`: got 42, expected a string or {at, msg}",
        ),
        (
            json!({"root": root.path(), "mode": "failover", "status": "failed", "data": {"x.txt": "hi"}}),
            "data \"x.txt\": the name must end in .json (any JSON value) or .csv (a list of rows)",
        ),
        (
            json!({"root": root.path(), "mode": "failover", "status": "failed",
                "report": {"steps": [{"name": "x", "status": "success"}]}}),
            "invalid value for option `report.steps[0]`: missing field `started_at`",
        ),
        (
            json!({"state": "health", "root": root.path(), "max_age": "soon"}),
            "invalid value for option `max_age`: cannot read duration \"soon\": expected seconds or a number with a unit, e.g. 26h, 90m, 2d, 1h30m",
        ),
    ];
    for (args, msg) in cases {
        let r = run("evidence", &args);
        r.assert_failed();
        assert_eq!(r.msg(), msg);
    }
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
}
