use super::*;
use crate::evidence::testutil::request;
use crate::evidence::write::write;

/// A root with two runs on one day and one the next day; returns the root and run dirs.
fn three_runs() -> (tempfile::TempDir, Vec<PathBuf>) {
    let root = tempfile::tempdir().unwrap();
    let dirs = [
        "2025-09-18T02:00:00Z",
        "2025-09-18T03:00:00Z",
        "2025-09-19T02:00:00Z",
    ]
    .iter()
    .map(|t| write(request(root.path(), t)).unwrap().run_dir)
    .collect();
    (root, dirs)
}

#[test]
fn intact_runs_verify_at_every_level() {
    let (root, dirs) = three_runs();
    for path in [root.path(), dirs[0].parent().unwrap(), &dirs[2]] {
        let v = verify(path).unwrap();
        assert!(v.ok(), "{}", v.problems());
    }
    let all = verify(root.path()).unwrap();
    assert_eq!(all.runs.len(), 3);
    assert_eq!(all.runs[0].run_dir, dirs[0]);
    assert_eq!(all.runs[0].mode.as_deref(), Some("periodic-sync"));
    assert_eq!(all.runs[0].status, Some(Status::Success));
    assert_eq!(verify(dirs[0].parent().unwrap()).unwrap().runs.len(), 2);
}

#[test]
fn an_edited_byte_an_added_file_and_a_deleted_file_are_each_named() {
    let (root, dirs) = three_runs();
    // Edit one byte of the CSV, keeping its size.
    let csv = dirs[0].join("volumes.csv");
    let mut bytes = fs::read(&csv).unwrap();
    bytes[0] ^= 0x01;
    fs::write(&csv, bytes).unwrap();
    // Add a file to the second run, delete one from the third.
    fs::write(dirs[1].join("extra.txt"), "not recorded").unwrap();
    fs::remove_file(dirs[2].join("pvcs.json")).unwrap();

    let v = verify(root.path()).unwrap();
    assert!(!v.ok());
    let found: Vec<String> = v
        .runs
        .iter()
        .map(|r| {
            format!(
                "ok={} missing={:?} modified={:?} unlisted={:?}",
                r.ok, r.missing, r.modified, r.unlisted
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            r#"ok=false missing=[] modified=["volumes.csv"] unlisted=[]"#,
            r#"ok=false missing=[] modified=[] unlisted=["extra.txt"]"#,
            r#"ok=false missing=["pvcs.json"] modified=[] unlisted=[]"#,
        ]
    );
    let id = |i: usize| dirs[i].file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        v.problems(),
        format!(
            "{}: modified volumes.csv | {}: unlisted extra.txt | {}: missing pvcs.json",
            id(0),
            id(1),
            id(2)
        )
    );
}

#[test]
fn the_control_files_are_checked_too() {
    let (_root, dirs) = three_runs();
    // A manifest edited after the fact no longer matches manifest.sha256.
    let manifest = dirs[0].join(MANIFEST);
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace("\"status\": \"success\"", "\"status\": \"failed\""),
    )
    .unwrap();
    let check = verify_run(&dirs[0]);
    assert_eq!(check.modified, ["manifest.json"]);
    assert_eq!(
        check.status,
        Some(Status::Failed),
        "still read, but not trusted"
    );

    // SHA256SUMS must say what the manifest says; manifest.sha256 must be there.
    fs::write(dirs[1].join(SUMS), "").unwrap();
    fs::remove_file(dirs[1].join(MANIFEST_SUM)).unwrap();
    let check = verify_run(&dirs[1]);
    assert_eq!(
        (check.missing.as_slice(), check.modified.as_slice()),
        (
            &["manifest.sha256".to_owned()][..],
            &["SHA256SUMS".to_owned()][..]
        )
    );

    // A run left without a manifest (interrupted before it was written).
    fs::remove_file(dirs[2].join(MANIFEST)).unwrap();
    let check = verify_run(&dirs[2]);
    assert!(!check.ok);
    assert_eq!(check.missing, ["manifest.json"]);
    assert!(check.unlisted.contains(&"evidence.log".to_owned()));
}

#[test]
fn a_renamed_run_and_a_foreign_path_are_errors() {
    let (root, dirs) = three_runs();
    let moved = dirs[0].with_file_name("renamed");
    fs::rename(&dirs[0], &moved).unwrap();
    let check = verify_run(&moved);
    assert_eq!(
        check.errors,
        [format!(
            "manifest.json names run {:?}, but the directory is \"renamed\"",
            dirs[0].file_name().unwrap().to_str().unwrap()
        )]
    );
    // Stray files at the date level belong to no run.
    fs::write(dirs[2].parent().unwrap().join("notes.txt"), "x").unwrap();
    let v = verify(dirs[2].parent().unwrap()).unwrap();
    assert_eq!(v.stray, [dirs[2].parent().unwrap().join("notes.txt")]);
    assert!(!v.ok());

    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        verify(empty.path()).unwrap_err().to_string(),
        format!(
            "{} holds no evidence: no <YYYY-MM-DD>/<run_id>/manifest.json under it",
            empty.path().display()
        )
    );
    assert!(
        verify(&root.path().join("nope"))
            .unwrap_err()
            .to_string()
            .starts_with("cannot read ")
    );
}
