use super::*;
use crate::evidence::testutil::{at, request};
use crate::evidence::verify::verify;
use serde_json::json;
use std::fs;

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_new_run_holds_every_file_and_verifies() {
    let root = tempfile::tempdir().unwrap();
    let written = write(request(root.path(), "2025-09-18T02:00:00Z")).unwrap();
    assert!(written.created);
    assert!(
        written
            .run_id
            .starts_with("periodic-sync-20250918T020000Z-"),
        "{}",
        written.run_id
    );
    assert_eq!(
        written.run_dir,
        root.path().join("2025-09-18").join(&written.run_id)
    );
    assert_eq!(
        names(&written.run_dir),
        [
            "SHA256SUMS",
            "evidence.log",
            "manifest.json",
            "manifest.sha256",
            "pvcs.json",
            "report.html",
            "report.json",
            "report.md",
            "volumes.csv"
        ]
    );
    let m = &written.manifest;
    let listed: Vec<&str> = m.artifacts.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(
        listed,
        [
            "evidence.log",
            "pvcs.json",
            "report.html",
            "report.json",
            "report.md",
            "volumes.csv"
        ]
    );
    for artifact in &m.artifacts {
        let bytes = fs::read(written.run_dir.join(&artifact.path)).unwrap();
        assert_eq!(artifact.sha256, crate::evidence::hash::hash_bytes(&bytes));
        assert_eq!(artifact.size, bytes.len() as u64);
    }
    assert_eq!(m.retention_days, DEFAULT_RETENTION_DAYS);
    assert_eq!(m.change_id.as_deref(), Some("CHG-2025-0918-001"));
    assert_eq!(format_time(m.finished_at), "2025-09-18T02:03:00Z");

    let on_disk = fs::read(written.run_dir.join(MANIFEST)).unwrap();
    assert_eq!(on_disk, m.to_bytes());
    let sum = fs::read_to_string(written.run_dir.join(MANIFEST_SUM)).unwrap();
    assert_eq!(
        sum,
        format!(
            "{}  manifest.json\n",
            crate::evidence::hash::hash_bytes(&on_disk)
        )
    );

    let log = fs::read_to_string(written.run_dir.join(LOG)).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].starts_with(&format!(
        "2025-09-18T02:00:00.000Z run {} started: mode periodic-sync, change CHG-2025-0918-001, \
         sync.yml@ocpdr.dr-1.0.0 on aap-exec-1",
        written.run_id
    )));
    assert_eq!(lines[1], "2025-09-18T02:00:20.000Z listed 1 PVC");
    assert_eq!(
        lines[2],
        "2025-09-18T02:03:00.000Z recorded status success; artifacts written: pvcs.json, volumes.csv"
    );

    let check = verify(&written.run_dir).unwrap();
    assert!(check.ok(), "{}", check.problems());
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = request(a.path(), "2025-09-18T02:00:00Z");
    first.run_id = Some("periodic-sync-20250918T020000Z-0001".into());
    let mut second = request(b.path(), "2025-09-18T02:00:00Z");
    second.run_id = first.run_id.clone();
    // The caller's summary keys in another order change nothing.
    second.summary = json!({"failed": 0, "volumes": 1}).as_object().cloned();
    let (x, y) = (write(first).unwrap(), write(second).unwrap());
    for name in names(&x.run_dir) {
        assert_eq!(
            fs::read(x.run_dir.join(&name)).unwrap(),
            fs::read(y.run_dir.join(&name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn files_are_copied_or_moved_in() {
    let root = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let log = src.path().join("rsync-app-ns1.log");
    fs::write(&log, "sent 1,048,576 bytes\n").unwrap();
    let mut req = request(root.path(), "2025-09-18T02:00:00Z");
    req.files = vec![log.clone()];
    let copied = write(req.clone()).unwrap();
    assert!(log.exists());
    assert_eq!(
        fs::read_to_string(copied.run_dir.join("rsync-app-ns1.log")).unwrap(),
        "sent 1,048,576 bytes\n"
    );
    req.placement = Placement::Move;
    let moved = write(req).unwrap();
    assert!(!log.exists());
    assert!(
        moved
            .manifest
            .artifacts
            .iter()
            .any(|a| a.path == "rsync-app-ns1.log")
    );
    assert!(verify(&moved.run_dir).unwrap().ok());
}

#[test]
fn adding_to_a_run_appends_and_updates() {
    let root = tempfile::tempdir().unwrap();
    let mut first = request(root.path(), "2025-09-18T02:00:00Z");
    first.status = Status::Partial;
    let first = write(first).unwrap();

    let mut more = request(root.path(), "2025-09-18T05:00:00Z");
    more.run_id = Some(first.run_id.clone());
    more.change_id = None;
    more.status = Status::Success;
    more.finished_at = at("2025-09-18T02:10:00Z");
    more.summary = None;
    more.report = None;
    more.data = vec![("applied.json".into(), json!({"created": 3}))];
    more.log = vec![LogLine {
        at: at("2025-09-18T02:09:00Z"),
        message: "applied 3 objects".into(),
    }];
    let second = write(more).unwrap();
    assert!(!second.created);
    assert_eq!(second.run_dir, first.run_dir);
    let m = &second.manifest;
    assert_eq!(m.status, Status::Success);
    assert_eq!(
        format_time(m.started_at),
        "2025-09-18T02:00:00Z",
        "the recorded start stays"
    );
    assert_eq!(m.change_id.as_deref(), Some("CHG-2025-0918-001"), "kept");
    assert_eq!(m.summary, first.manifest.summary, "kept");
    assert!(m.artifacts.iter().any(|a| a.path == "applied.json"));
    assert!(m.artifacts.iter().any(|a| a.path == "pvcs.json"));
    let log = fs::read_to_string(second.run_dir.join(LOG)).unwrap();
    assert_eq!(log.lines().count(), 5, "{log}");
    assert!(log.ends_with(
        "2025-09-18T02:09:00.000Z applied 3 objects\n\
         2025-09-18T02:10:00.000Z recorded status success; artifacts written: applied.json\n"
    ));
    // The recorded report is rendered again with the new facts.
    let html = fs::read_to_string(second.run_dir.join(REPORT_HTML)).unwrap();
    assert!(html.contains("Sync volume data") && html.contains("applied.json"));
    assert!(verify(&second.run_dir).unwrap().ok());
}

#[test]
fn adding_to_a_run_refuses_what_does_not_fit() {
    let root = tempfile::tempdir().unwrap();
    let first = write(request(root.path(), "2025-09-18T02:00:00Z")).unwrap();
    let mut other_mode = request(root.path(), "2025-09-18T02:00:00Z");
    other_mode.run_id = Some(first.run_id.clone());
    other_mode.mode = "failover".into();
    assert_eq!(
        write(other_mode).unwrap_err().to_string(),
        format!(
            "run {} exists with mode \"periodic-sync\", not \"failover\"",
            first.run_id
        )
    );

    // An edit since the last write is never blessed by a new manifest.
    fs::write(first.run_dir.join("pvcs.json"), "[]\n").unwrap();
    let mut again = request(root.path(), "2025-09-18T02:00:00Z");
    again.run_id = Some(first.run_id.clone());
    let err = write(again).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "refusing to add to run {}: it fails verification (modified pvcs.json)",
            first.run_dir.display()
        )
    );

    // A directory without a manifest (an interrupted write) is not added to.
    let broken = root.path().join("2025-09-18").join("aap-job-7");
    fs::create_dir_all(&broken).unwrap();
    let mut into_broken = request(root.path(), "2025-09-18T02:00:00Z");
    into_broken.run_id = Some("aap-job-7".into());
    assert!(matches!(
        write(into_broken),
        Err(Error::IncompleteRun { .. })
    ));
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let root = tempfile::tempdir().unwrap();
    let err = |change: &dyn Fn(&mut WriteRequest)| {
        let mut req = request(root.path(), "2025-09-18T02:00:00Z");
        change(&mut req);
        write(req).unwrap_err().to_string()
    };
    assert_eq!(
        err(&|r| r.mode = "Periodic Sync".into()),
        "invalid mode \"Periodic Sync\": must start with a lower-case letter"
    );
    assert_eq!(
        err(&|r| r.data.push(("manifest.json".into(), json!({})))),
        "invalid artifact name \"manifest.json\": is reserved for the evidence writer's own files"
    );
    assert_eq!(
        err(&|r| r.data.push(("pvcs.json".into(), json!({})))),
        "two artifacts would be named \"pvcs.json\" (data \"pvcs.json\" and data \"pvcs.json\"): rename one"
    );
    assert_eq!(
        err(&|r| r.files.push(root.path().join("nope.log"))),
        format!(
            "cannot read {}: No such file or directory (os error 2)",
            root.path().join("nope.log").display()
        )
    );
    assert_eq!(
        err(&|r| r.finished_at = at("2025-09-18T01:00:00Z")),
        "finished_at 2025-09-18T01:00:00Z is before started_at 2025-09-18T02:00:00Z"
    );
    assert_eq!(
        err(&|r| r.retention_days = Some(0)),
        "retention_days must be at least 1, got 0"
    );
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

#[test]
fn a_directory_is_not_a_file() {
    let root = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let dir = src.path().join("logs");
    fs::create_dir(&dir).unwrap();
    let mut req = request(root.path(), "2025-09-18T02:00:00Z");
    req.files = vec![dir.clone()];
    assert_eq!(
        write(req).unwrap_err().to_string(),
        format!("file {}: is not a regular file", dir.display())
    );
}

#[test]
fn check_mode_plans_without_writing() {
    let root = tempfile::tempdir().unwrap();
    let mut req = request(root.path(), "2025-09-18T02:00:00Z");
    req.data
        .push(("s3.json".into(), json!({"bucket": "b", "secret_key": "k"})));
    let plan = plan(&req).unwrap();
    assert!(plan.created);
    assert!(plan.run_id.starts_with("periodic-sync-20250918T020000Z-"));
    assert_eq!(
        plan.run_dir,
        root.path().join("2025-09-18").join(&plan.run_id)
    );
    assert_eq!(
        plan.artifacts,
        [
            "evidence.log",
            "pvcs.json",
            "report.html",
            "report.json",
            "report.md",
            "s3.json",
            "volumes.csv"
        ]
    );
    assert_eq!(
        plan.redactions,
        [Redaction {
            artifact: "s3.json".into(),
            location: "/secret_key".into()
        }]
    );
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn no_secret_reaches_any_file() {
    let root = tempfile::tempdir().unwrap();
    let mut req = request(root.path(), "2025-09-18T02:00:00Z");
    req.data.push((
        "oadp.json".into(),
        json!({"s3": {"bucket": "velero", "secret_key": "S3CR3T-s3"},
               "secret": {"kind": "Secret", "data": {"cloud": "Q0xPVUQtQ1JFRFM="}}}),
    ));
    req.data.push((
        "creds.csv".into(),
        json!([{"user": "a", "password": "PASSW0RD-csv"}]),
    ));
    req.summary = json!({"api_token": "T0KEN-summary", "volumes": 1})
        .as_object()
        .cloned();
    req.log.push(LogLine {
        at: req.started_at,
        message: "connecting with password=PASSW0RD-log".into(),
    });
    let mut report = req.report.clone().unwrap();
    report.steps[0].detail = Some("Authorization: Bearer B3ARER-report".into());
    req.report = Some(report);
    let written = write(req).unwrap();
    for name in names(&written.run_dir) {
        let text = fs::read_to_string(written.run_dir.join(&name)).unwrap();
        for secret in [
            "S3CR3T-s3",
            "Q0xPVUQtQ1JFRFM=",
            "PASSW0RD-csv",
            "T0KEN-summary",
            "PASSW0RD-log",
            "B3ARER-report",
        ] {
            assert!(!text.contains(secret), "{secret} in {name}");
        }
    }
    let where_: Vec<String> = written
        .manifest
        .redactions
        .iter()
        .map(|r| format!("{} {}", r.artifact, r.location))
        .collect();
    assert_eq!(
        where_,
        [
            "oadp.json /s3/secret_key",
            "oadp.json /secret/data/cloud",
            "creds.csv row 1, column password",
            "evidence.log log[1]",
            "summary /api_token",
            "report.json /steps/0/detail"
        ]
    );
    let md = fs::read_to_string(written.run_dir.join(REPORT_MD)).unwrap();
    assert!(
        md.contains("## Redactions\n") && md.contains("\n- summary: /api_token\n"),
        "{md}"
    );
}
