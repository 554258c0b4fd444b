use super::*;
use crate::evidence::testutil::{at, request};
use crate::evidence::write::write;

const DAY: Duration = Duration::from_secs(26 * 3600);

fn judge(root: &Path, mode: Option<&str>, now: &str) -> Health {
    let what = mode.map_or("run".to_owned(), |m| format!("{m} run"));
    assess(newest_run(root, mode).unwrap(), &what, root, DAY, at(now))
}

#[test]
fn ok_stale_failed_and_missing() {
    let root = tempfile::tempdir().unwrap();
    let sync = write(request(root.path(), "2025-09-18T02:00:00Z")).unwrap();

    let h = judge(root.path(), Some("periodic-sync"), "2025-09-18T05:03:00Z");
    assert_eq!(h.verdict, Verdict::Healthy, "{}", h.message);
    assert_eq!(h.age, Some(Duration::from_secs(3 * 3600)));
    assert_eq!(
        h.message,
        format!(
            "the newest periodic-sync run, {}, finished 3h 00m 00s ago (at 2025-09-18T02:03:00Z) \
             with status success, within max_age 1d 02h 00m",
            sync.run_id
        )
    );

    let h = judge(root.path(), Some("periodic-sync"), "2025-09-19T04:03:01Z");
    assert_eq!(h.verdict, Verdict::Stale, "{}", h.message);
    assert!(
        h.message.contains("older than max_age 1d 02h 00m"),
        "{}",
        h.message
    );

    let mut failed = request(root.path(), "2025-09-18T03:00:00Z");
    failed.status = Status::Failed;
    let failed = write(failed).unwrap();
    let h = judge(root.path(), Some("periodic-sync"), "2025-09-18T05:00:00Z");
    assert_eq!(h.verdict, Verdict::NotSuccessful);
    assert_eq!(h.newest.unwrap().run_dir, failed.run_dir);

    let h = judge(root.path(), Some("failover"), "2025-09-18T05:00:00Z");
    assert_eq!(h.verdict, Verdict::NoRuns);
    assert_eq!(
        h.message,
        format!(
            "no failover run is recorded under {}",
            root.path().display()
        )
    );
    let not_yet = root.path().join("not-yet");
    let h = judge(&not_yet, None, "2025-09-18T05:00:00Z");
    assert_eq!(
        h.verdict,
        Verdict::NoRuns,
        "a root not created yet holds no runs"
    );
}

#[test]
fn the_newest_run_of_the_mode_counts_and_tampering_shows() {
    let root = tempfile::tempdir().unwrap();
    let sync = write(request(root.path(), "2025-09-18T02:00:00Z")).unwrap();
    let mut other = request(root.path(), "2025-09-19T02:00:00Z");
    other.mode = "event-sync".into();
    other.status = Status::Failed;
    write(other).unwrap();

    assert_eq!(
        judge(root.path(), None, "2025-09-19T03:00:00Z").verdict,
        Verdict::NotSuccessful
    );
    let h = judge(root.path(), Some("periodic-sync"), "2025-09-19T03:00:00Z");
    assert_eq!(h.verdict, Verdict::Healthy, "{}", h.message);

    let manifest = sync.run_dir.join(MANIFEST);
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, text.replace("aap-exec-1", "aap-exec-2")).unwrap();
    let h = judge(root.path(), Some("periodic-sync"), "2025-09-19T03:00:00Z");
    assert_eq!(h.verdict, Verdict::Tampered, "{}", h.message);
    assert!(h.message.ends_with(&format!(
        "but its manifest.json does not match manifest.sha256: run verify on {}",
        sync.run_dir.display()
    )));
}
