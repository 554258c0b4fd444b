use super::*;
use crate::evidence::testutil::request;
use crate::evidence::write::write;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

/// Runs on 2026-05-30, 2026-05-31, 2026-06-01 and 2026-11-28 (181+, 181, 180 and 0 days old).
fn dated_runs() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for day in ["2026-05-30", "2026-05-31", "2026-06-01", "2026-11-28"] {
        write(request(root.path(), &format!("{day}T02:00:00Z"))).unwrap();
    }
    root
}

fn dates(root: &Path) -> Vec<String> {
    layout::date_dirs(root)
        .unwrap()
        .into_iter()
        .map(|(d, _)| d.to_string())
        .collect()
}

#[test]
fn exactly_the_expired_date_directories_go() {
    let root = dated_runs();
    let plan = plan(root.path(), 180, today()).unwrap();
    assert_eq!(plan.cutoff.to_string(), "2026-06-01");
    assert_eq!(
        plan.expired,
        [
            root.path().join("2026-05-30"),
            root.path().join("2026-05-31")
        ]
    );
    assert_eq!(plan.kept, 2);
    assert_eq!(dates(root.path()).len(), 4, "planning deletes nothing");
    execute(root.path(), &plan).unwrap();
    assert_eq!(dates(root.path()), ["2026-06-01", "2026-11-28"]);
    let again = super::plan(root.path(), 180, today()).unwrap();
    assert!(again.expired.is_empty());
}

#[test]
fn a_longer_retention_recorded_by_a_run_holds_its_day() {
    let root = tempfile::tempdir().unwrap();
    let mut failover = request(root.path(), "2026-05-30T02:00:00Z");
    failover.mode = "failover".into();
    failover.retention_days = Some(365);
    write(failover).unwrap();
    let mut old = request(root.path(), "2025-05-30T02:00:00Z");
    old.retention_days = Some(365);
    write(old).unwrap();
    let plan = plan(root.path(), 180, today()).unwrap();
    assert_eq!(plan.held, [(root.path().join("2026-05-30"), 365)]);
    assert_eq!(
        plan.expired,
        [root.path().join("2025-05-30")],
        "365 days are over for this one"
    );
}

#[test]
fn a_root_that_is_not_evidence_is_refused() {
    // A home directory with a date-named folder of photos, and no manifest anywhere.
    let home = tempfile::tempdir().unwrap();
    fs::create_dir_all(home.path().join("2020-01-01/holiday")).unwrap();
    fs::write(
        home.path().join("2020-01-01/holiday/manifest.json"),
        "{\"not\": \"ours\"}",
    )
    .unwrap();
    fs::write(home.path().join(".bashrc"), "").unwrap();
    let err = plan(home.path(), 180, today()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "refusing to prune {}: it does not look like an evidence root (no \
             <YYYY-MM-DD>/<run_id>/manifest.json with a valid evidence manifest under it)",
            home.path().display()
        )
    );
    assert!(home.path().join("2020-01-01/holiday").exists());
    assert!(matches!(
        plan(Path::new("/"), 180, today()),
        Err(Error::NotEvidenceRoot { .. })
    ));
    assert_eq!(
        plan(dated_runs().path(), 0, today())
            .unwrap_err()
            .to_string(),
        "retention_days must be at least 1, got 0"
    );
}

#[test]
fn only_date_directories_are_touched() {
    let root = dated_runs();
    fs::create_dir(root.path().join("keep-me")).unwrap();
    fs::write(root.path().join("README"), "x").unwrap();
    let target = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(target.path(), root.path().join("2001-01-01")).unwrap();
    let plan = plan(root.path(), 1, today()).unwrap();
    execute(root.path(), &plan).unwrap();
    // The runs recorded 180 days: a prune with 1 day still keeps 2026-06-01.
    assert_eq!(dates(root.path()), ["2026-06-01", "2026-11-28"]);
    assert!(root.path().join("keep-me").exists() && root.path().join("README").exists());
    assert!(
        target.path().exists(),
        "a symlink's target is never followed"
    );
}
