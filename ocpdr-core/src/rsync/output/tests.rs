//! The parser against output captured from real rsync 3.2.7 runs over SSH
//! (`ocpdr-core/tests/fixtures/rsync/`, made with the module's default flags).

use super::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/rsync/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn paths(report: &Report) -> Vec<(&str, &str)> {
    report
        .changes
        .iter()
        .map(|c| (c.item.as_str(), c.path.as_str()))
        .collect()
}

#[test]
fn first_sync_lists_every_item_and_the_figures() {
    let report = parse_output(&fixture("first-sync.out"), 100);
    assert_eq!(
        paths(&report),
        [
            ("<f+++++++++", "disk.img"),
            ("cL+++++++++", "link -> a"),
            ("<f+++++++++", "Ünï cødé ✓.txt"),
            ("cd+++++++++", "sub/"),
            ("<f+++++++++", "sub/a.txt"),
            ("hf+++++++++", "hard link"),
        ]
    );
    assert!(report.changed());
    assert_eq!(
        report.stats,
        Stats {
            total_files: Some(7),
            files_created: Some(6),
            files_deleted: Some(0),
            files_transferred: Some(3),
            total_size: Some(8_388_628),
            transferred_size: Some(8_388_614),
            literal_bytes: Some(8_388_614),
            matched_bytes: Some(0),
            bytes_sent: Some(8_391_020),
            bytes_received: Some(159),
        }
    );
}

#[test]
fn an_unchanged_run_has_no_changes() {
    let report = parse_output(&fixture("unchanged.out"), 100);
    assert!(!report.changed());
    assert_eq!(report.change_count, 0);
    assert_eq!(report.stats.files_transferred, Some(0));
    assert_eq!(report.stats.total_size, Some(8_388_628));
}

#[test]
fn a_delta_update_reports_literal_and_matched_data() {
    let report = parse_output(&fixture("update.out"), 100);
    assert_eq!(
        paths(&report),
        [
            ("*deleting", "stale file"),
            (".d..t......", "./"),
            ("<f..t......", "disk.img")
        ]
    );
    assert_eq!(report.deletion_count, 1);
    assert_eq!(report.stats.files_deleted, Some(1));
    assert_eq!(report.stats.literal_bytes, Some(5_792));
    assert_eq!(report.stats.matched_bytes, Some(8_382_816));
}

#[test]
fn a_dry_run_reports_what_would_change() {
    let report = parse_output(&fixture("dry-run-delete.out"), 100);
    assert_eq!(report.change_count, 3);
    assert_eq!(report.stats.files_transferred, Some(1));
    assert_eq!(report.stats.bytes_sent, Some(224));
}

#[test]
fn the_plain_verbose_summary_gives_bytes_and_size() {
    // The seed's `rsync -av --delete`: file names without item codes, then the summary.
    let report = parse_output(&fixture("seed-av.out"), 100);
    assert_eq!(
        report.change_count, 0,
        "plain names are not itemized changes"
    );
    assert_eq!(report.stats.bytes_sent, Some(335));
    assert_eq!(report.stats.bytes_received, Some(71));
    assert_eq!(report.stats.total_size, Some(8_388_628));
    assert_eq!(report.stats.literal_bytes, None);
}

#[test]
fn only_the_first_changes_are_kept_but_all_are_counted() {
    let out: String = (0..10).map(|i| format!(">f+++++++++ f{i}\n")).collect();
    let report = parse_output(&out, 3);
    assert_eq!(report.change_count, 10);
    assert_eq!(report.changes.len(), 3);
    assert!(report.truncated());
}

#[test]
fn other_lines_are_not_changes() {
    for line in [
        "sending incremental file list",
        "created directory /dr/x",
        "deleting stale",
        ">f+++++++++",
        "zf+++++++++ name",
        ">x+++++++++ name",
        "Number of files: 7",
        "",
    ] {
        assert!(parse_change(line).is_none(), "{line:?}");
    }
}

#[test]
fn unescape_restores_bytes() {
    assert_eq!(unescape(r"a\#012b"), "a\nb");
    assert_eq!(unescape(r"\#303\#251t\#303\#251"), "été");
    assert_eq!(unescape(r"back\slash \#9"), r"back\slash \#9");
    assert_eq!(unescape(r"\#377"), "\u{fffd}");
}

#[test]
fn numbers_with_any_separator() {
    assert_eq!(parse_number("1,048,576"), Some(1_048_576));
    assert_eq!(parse_number("1.048.576"), Some(1_048_576));
    assert_eq!(parse_number("12"), Some(12));
    assert_eq!(parse_number("1.5M"), None);
    assert_eq!(parse_number(""), None);
}
