use super::*;
use serde_json::{Value, json};

fn options(value: Value) -> SyncOptions {
    serde_json::from_value(value).unwrap()
}

fn planned(value: Value) -> Result<Vec<PlannedVolume>, Error> {
    plan(&options(value), false)
}

fn args(volume: &PlannedVolume) -> Vec<String> {
    volume
        .invocation
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn one(source: &str, destination: &str) -> Value {
    json!([{"name": "v", "source": source, "destination": destination}])
}

#[test]
fn a_push_is_planned_as_argv_with_the_default_flags() {
    let p = planned(json!({
        "volumes": [{"name": "disk a", "source": "/exports/ns/disk a/", "destination": "nfs-dr:/dr/ns/disk a"}],
        "allowed_roots": ["/dr"],
        "ssh": {"user": "svc", "port": 2222, "identity_file": "/keys/my key",
                "known_hosts_file": "/keys/known_hosts", "strict_host_key_checking": "accept-new",
                "extra_options": ["Compression=yes"]},
        "bwlimit": "20m", "checksum": true, "extra_args": ["--exclude=lost+found"]
    }))
    .unwrap();
    let v = &p[0];
    assert_eq!(v.invocation.program, "rsync");
    assert_eq!(
        v.invocation.env,
        [("LC_ALL".into(), "C".into())],
        "a fixed locale keeps the output parseable"
    );
    assert_eq!(
        args(v),
        [
            "--archive",
            "--hard-links",
            "--sparse",
            "--numeric-ids",
            "--inplace",
            "--mkpath",
            "--out-format=%i %n",
            "--stats",
            "--delete",
            "--checksum",
            "--bwlimit=20m",
            "-e",
            "ssh -p 2222 -i '/keys/my key' -o IdentitiesOnly=yes -o UserKnownHostsFile=/keys/known_hosts \
             -o StrictHostKeyChecking=accept-new -o Compression=yes -o BatchMode=yes -o ConnectTimeout=30 \
             -o ServerAliveInterval=30 -o ServerAliveCountMax=4",
            "--exclude=lost+found",
            "/exports/ns/disk a/",
            "svc@nfs-dr:/dr/ns/disk a/",
        ]
    );
    assert_eq!(v.destination.user.as_deref(), Some("svc"));
    // The display form is shell-quoted, one word per argv entry.
    assert!(
        v.invocation
            .to_string()
            .ends_with("--exclude=lost+found '/exports/ns/disk a/' 'svc@nfs-dr:/dr/ns/disk a/'")
    );
}

#[test]
fn local_copies_get_no_ssh_and_check_mode_adds_dry_run() {
    let o = options(json!({"volumes": one("/a/v", "/dr/v"), "allowed_roots": ["/dr"]}));
    let sync = plan(&o, false).unwrap();
    assert!(!args(&sync[0]).contains(&"-e".to_owned()));
    assert!(!args(&sync[0]).contains(&"--dry-run".to_owned()));
    let check = plan(&o, true).unwrap();
    assert!(args(&check[0]).contains(&"--dry-run".to_owned()));
    let verify = options(
        json!({"volumes": one("/a/v", "/dr/v"), "allowed_roots": ["/dr"], "mode": "verify"}),
    );
    assert!(args(&plan(&verify, false).unwrap()[0]).contains(&"--dry-run".to_owned()));
}

#[test]
fn a_user_in_the_spec_wins_over_ssh_user() {
    let p = planned(
        json!({"volumes": one("/a/v", "backup@nfs-dr:/dr/v"), "allowed_roots": ["/dr"],
                           "ssh": {"user": "root"}}),
    )
    .unwrap();
    assert_eq!(args(&p[0]).last().unwrap(), "backup@nfs-dr:/dr/v/");
}

#[test]
fn pull_mode_takes_pv_retarget_volumes() {
    let p = planned(json!({
        "volumes": [{"pv": "pv-1", "pvc_namespace": "app", "pvc_name": "disk", "source_kind": "nfs",
                     "source_server": "nfs-a", "source_path": "/exports/app/disk",
                     "dr_server": "nfs-dr", "dr_path": "/exports-dr/app/disk"}],
        "direction": "pull", "allowed_roots": ["/exports-dr"], "ssh": {"user": "root"}}))
    .unwrap();
    assert_eq!(p[0].name, "pv-1");
    assert_eq!(
        args(&p[0])[args(&p[0]).len() - 2..],
        ["root@nfs-a:/exports/app/disk/", "/exports-dr/app/disk/"]
    );
}

#[test]
fn delete_needs_allowed_roots() {
    let err = planned(json!({"volumes": one("/a/v", "/dr/v")})).unwrap_err();
    assert_eq!(err, Error::DeleteWithoutRoots);
    // Without delete, no roots are needed.
    assert!(planned(json!({"volumes": one("/a/v", "/dr/v"), "delete": false})).is_ok());
}

#[test]
fn destinations_outside_the_roots_or_at_a_root_are_refused() {
    let roots = json!(["/dr/exports", "/dr2"]);
    let err =
        planned(json!({"volumes": one("/a/v", "nfs:/dr/exports-other/v"), "allowed_roots": roots}))
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "volumes[0] (v).destination \"/dr/exports-other/v\" is not below any of allowed_roots (/dr/exports, /dr2)"
    );
    let err = planned(json!({"volumes": one("/a/v", "/dr/exports/"), "allowed_roots": roots}))
        .unwrap_err();
    assert!(matches!(err, Error::DestinationIsRoot { .. }), "{err}");
    // Without delete, a root itself is a fine destination; roots still bind.
    assert!(
        planned(json!({"volumes": one("/a/v", "/dr2"), "allowed_roots": roots, "delete": false}))
            .is_ok()
    );
    assert!(
        planned(json!({"volumes": one("/a/v", "/etc"), "allowed_roots": roots, "delete": false}))
            .is_err()
    );
}

#[test]
fn bad_paths_and_roots_are_refused() {
    let roots = json!(["/dr"]);
    for (source, destination, expected) in [
        ("/a/v", "/", "is the root directory"),
        ("/a/v", "/dr/../etc", "contains `..`"),
        ("/a/v", "dr/v", "is relative"),
        ("/a/v", "", "is empty"),
        ("/", "/dr/v", "is the root directory"),
        ("nfs-a:/a/v", "nfs-dr:/dr/v", "are both remote"),
        ("/a/v", "nfs::mod/v", "rsync daemon address"),
    ] {
        let err = planned(json!({"volumes": one(source, destination), "allowed_roots": roots}))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{source} -> {destination}: {err}");
        assert!(err.starts_with("volumes[0] (v)"), "{err}");
    }
    for root in ["/", "relative", "/x/../y", ""] {
        let err = planned(json!({"volumes": one("/a/v", "/dr/v"), "allowed_roots": ["/dr", root]}))
            .unwrap_err();
        assert!(
            matches!(err, Error::BadRoot { index: 1, .. }),
            "{root}: {err}"
        );
    }
}

#[test]
fn names_must_be_unique_and_destinations_must_not_nest() {
    let err = planned(json!({"allowed_roots": ["/dr"], "volumes": [
        {"name": "a", "source": "/s/a", "destination": "/dr/a"},
        {"name": "a", "source": "/s/b", "destination": "/dr/b"}]}))
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::DuplicateName {
                index: 1,
                first: 0,
                ..
            }
        ),
        "{err}"
    );
    let err = planned(json!({"allowed_roots": ["/dr"], "volumes": [
        {"name": "a", "source": "/s/a", "destination": "/dr/a"},
        {"name": "b", "source": "/s/b", "destination": "/dr/a/b"}]}))
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Overlap {
                index: 1,
                other: 0,
                ..
            }
        ),
        "{err}"
    );
    // The same path on two different hosts is fine.
    assert!(
        planned(json!({"allowed_roots": ["/dr"], "volumes": [
        {"name": "a", "source": "/s/a", "destination": "h1:/dr/a"},
        {"name": "b", "source": "/s/b", "destination": "h2:/dr/a"}]}))
        .is_ok()
    );
    let err = planned(json!({"allowed_roots": ["/dr"], "volumes": [
        {"name": " ", "source": "/s/a", "destination": "/dr/a"}]}))
    .unwrap_err();
    assert_eq!(err, Error::EmptyName { index: 0 });
}

#[test]
fn extra_args_that_delete_or_break_parsing_are_refused() {
    let refused = |arg: &str| {
        planned(json!({"volumes": one("/a/v", "/dr/v"), "allowed_roots": ["/dr"], "extra_args": ["--compress", arg]}))
            .unwrap_err()
    };
    for arg in [
        "--delete-excluded",
        "--del",
        "--delete-after",
        "--remove-source-files",
        "--rsh=ssh -p 1",
        "--info=progress2",
        "--itemize-changes",
        "--dry-run",
        "-n",
        "-avz",
        "/etc",
        "--",
    ] {
        let err = refused(arg);
        assert!(
            matches!(err, Error::ExtraArg { index: 1, .. }),
            "{arg}: {err}"
        );
    }
    assert!(
        refused("--delete-excluded")
            .to_string()
            .contains("allowed_roots guards")
    );
    let ok = planned(json!({"volumes": one("/a/v", "/dr/v"), "allowed_roots": ["/dr"],
                            "extra_args": ["--no-inplace", "--exclude=lost+found", "--rsync-path=sudo rsync"]}))
    .unwrap();
    assert_eq!(
        args(&ok[0])[args(&ok[0]).len() - 5..args(&ok[0]).len() - 2],
        [
            "--no-inplace",
            "--exclude=lost+found",
            "--rsync-path=sudo rsync"
        ]
    );
}

#[test]
fn ssh_options_that_ssh_would_misread_are_refused() {
    for (ssh, field) in [
        (json!({"user": "-oProxyCommand=x"}), "user"),
        (json!({"port": 0}), "port"),
        (json!({"known_hosts_file": "/a b"}), "known_hosts_file"),
        (json!({"extra_options": ["-v"]}), "extra_options"),
        (json!({"identity_file": ""}), "identity_file"),
    ] {
        let err = planned(
            json!({"volumes": one("/a/v", "h:/dr/v"), "allowed_roots": ["/dr"], "ssh": ssh}),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Ssh { field: f, .. } if *f == field),
            "{err}"
        );
    }
}
