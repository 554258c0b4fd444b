use super::*;
use crate::paths::PathProblem;
use chrono::TimeZone;

fn request(paths: &[&str]) -> Request {
    Request {
        state: State::Quarantine,
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        quarantine_dir: "/exports/.ocpdr-quarantine".into(),
        allowed_roots: vec!["/exports".into(), "/srv/dr".into()],
        retention_days: None,
    }
}

fn refused(request: &Request) -> GuardError {
    check(request).expect_err("must refuse")
}

#[test]
fn accepts_volume_directories_below_the_roots() {
    let checked = check(&request(&[
        "/exports/app-ns1/disk-a/",
        "/srv/dr//csi/pvc-1",
    ]))
    .unwrap();
    assert_eq!(
        checked.paths,
        ["/exports/app-ns1/disk-a", "/srv/dr/csi/pvc-1"]
    );
    assert_eq!(checked.quarantine_dir, "/exports/.ocpdr-quarantine");
    assert_eq!(checked.allowed_roots, ["/exports", "/srv/dr"]);
    // Delete uses the same guards; an empty list is fine (nothing to do).
    let delete = Request {
        state: State::Delete,
        ..request(&[])
    };
    assert_eq!(check(&delete).unwrap().paths, Vec::<String>::new());
}

#[test]
fn refuses_without_roots_or_with_the_filesystem_root_as_one() {
    let mut r = request(&["/exports/a"]);
    r.allowed_roots.clear();
    assert_eq!(refused(&r), GuardError::NoRoots);
    r.allowed_roots = vec!["/".into()];
    match refused(&r) {
        GuardError::BadRoot { index: 0, source } => assert_eq!(source.reason, PathProblem::Root),
        other => panic!("{other:?}"),
    }
    r.allowed_roots = vec!["exports".into()];
    assert!(matches!(refused(&r), GuardError::BadRoot { .. }));
}

#[test]
fn refuses_paths_outside_the_roots_or_equal_to_one() {
    for path in ["/etc", "/exports-other/a", "/srv"] {
        assert!(
            matches!(refused(&request(&[path])), GuardError::OutsideRoots { .. }),
            "{path}"
        );
    }
    let err = refused(&request(&["/exports/a", "/srv/dr/"]));
    assert_eq!(
        err,
        GuardError::IsRoot {
            what: "paths[1]".into(),
            path: "/srv/dr".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "paths[1] \"/srv/dr\" is an allowed root itself: it holds every other volume; give a \
         directory below it"
    );
}

#[test]
fn refuses_root_relative_and_climbing_paths() {
    for (path, problem) in [
        ("/", PathProblem::Root),
        ("exports/a", PathProblem::Relative),
        ("/exports/a/../../etc", PathProblem::ParentComponent),
        ("", PathProblem::Empty),
    ] {
        match refused(&request(&[path])) {
            GuardError::BadPath { index: 0, source } => assert_eq!(source.reason, problem),
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[test]
fn refuses_a_quarantine_dir_outside_the_roots_or_at_one() {
    let mut r = request(&["/exports/a"]);
    r.quarantine_dir = "/var/quarantine".into();
    assert!(
        matches!(refused(&r), GuardError::OutsideRoots { what, .. } if what == "quarantine_dir")
    );
    r.quarantine_dir = "/exports".into();
    assert!(matches!(refused(&r), GuardError::IsRoot { what, .. } if what == "quarantine_dir"));
    r.quarantine_dir = "/".into();
    assert!(matches!(refused(&r), GuardError::BadQuarantineDir(_)));
}

#[test]
fn refuses_quarantine_and_paths_inside_each_other() {
    let mut r = request(&["/exports/app"]);
    r.quarantine_dir = "/exports/app/.q".into();
    assert!(matches!(
        refused(&r),
        GuardError::QuarantineInsidePath { index: 0, .. }
    ));
    let r = request(&["/exports/.ocpdr-quarantine/2026-01-01/disk"]);
    assert!(matches!(
        refused(&r),
        GuardError::PathInsideQuarantine { index: 0, .. }
    ));
    // The quarantine directory itself is a path inside the quarantine directory too.
    let r = request(&["/exports/.ocpdr-quarantine"]);
    assert!(matches!(
        refused(&r),
        GuardError::QuarantineInsidePath { .. }
    ));
}

#[test]
fn refuses_nested_or_repeated_paths() {
    assert_eq!(
        refused(&request(&["/exports/app", "/exports/app/disk"])),
        GuardError::Overlap {
            index: 1,
            path: "/exports/app/disk".into(),
            other: 0,
            other_path: "/exports/app".into()
        }
    );
    assert!(matches!(
        refused(&request(&["/exports/a", "/exports//a/"])),
        GuardError::Overlap { .. }
    ));
    // Siblings with a common prefix are fine.
    assert!(check(&request(&["/exports/a", "/exports/ab"])).is_ok());
}

#[test]
fn prune_needs_a_retention_and_no_paths() {
    let mut r = request(&[]);
    r.state = State::Prune;
    assert_eq!(refused(&r), GuardError::Retention(None));
    r.retention_days = Some(0);
    assert_eq!(refused(&r), GuardError::Retention(Some(0)));
    r.retention_days = Some(30);
    assert!(check(&r).is_ok());
    r.paths = vec!["/exports/a".into()];
    assert_eq!(refused(&r), GuardError::PathsWithPrune(1));
}

#[test]
fn destinations_are_dated_and_never_reuse_a_name() {
    let now = Utc.with_ymd_and_hms(2026, 3, 7, 23, 59, 0).unwrap();
    let dir = date_dir("/exports/.q", now);
    assert_eq!(dir, "/exports/.q/2026-03-07");
    assert_eq!(base_name("/exports/app/disk-a"), "disk-a");
    let free = destination(&dir, "disk-a", |_| false).unwrap();
    assert_eq!(free, "/exports/.q/2026-03-07/disk-a");
    // A leftover note alone also takes the name.
    let taken = [note_path(&free), format!("{dir}/disk-a-1")];
    let next = destination(&dir, "disk-a", |p| taken.iter().any(|t| t == p)).unwrap();
    assert_eq!(next, "/exports/.q/2026-03-07/disk-a-2");
    assert!(matches!(
        destination(&dir, "disk-a", |_| true),
        Err(GuardError::NoFreeName { .. })
    ));
}

#[test]
fn the_note_says_what_when_why_and_how_to_restore() {
    let now = Utc.with_ymd_and_hms(2026, 3, 7, 8, 0, 1).unwrap();
    let n = note(
        "/exports/app/my disk",
        "/exports/.q/2026-03-07/my disk",
        now,
        "PersistentVolume pv-1 deleted on the primary",
        Some("event-20260307T080000Z-ab12"),
    );
    assert_eq!(n["original_path"], "/exports/app/my disk");
    assert_eq!(n["quarantined_at"], "2026-03-07T08:00:01Z");
    assert_eq!(n["run_id"], "event-20260307T080000Z-ab12");
    assert_eq!(
        n["restore"],
        "mv '/exports/.q/2026-03-07/my disk' '/exports/app/my disk'"
    );
}

#[test]
fn expired_keeps_the_retention_window_and_ignores_other_names() {
    let today = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let names = [
        "2026-03-01",
        "2026-02-28",
        "lost+found",
        "2025-12-31",
        "2026-02-30",
        "2026-3-1",
    ];
    assert_eq!(
        expired(names.iter().copied(), today, 30),
        ["2025-12-31", "2026-02-28"]
    );
    assert!(expired(names.iter().copied(), today, 3650).is_empty());
}
