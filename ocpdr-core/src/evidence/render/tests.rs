use super::*;
use crate::evidence::manifest::{Artifact, MANIFEST_VERSION, Redaction, Status};
use crate::evidence::testutil::at;
use serde_json::json;

fn manifest() -> Manifest {
    Manifest {
        manifest_version: MANIFEST_VERSION,
        run_id: "failover-20250918T020000Z-7f3a".into(),
        mode: "failover".into(),
        change_id: Some("CHG-7".into()),
        script_version: "failover.yml@ocpdr.dr-1.0.0".into(),
        host: "aap-exec-1".into(),
        started_at: at("2025-09-18T02:00:00Z"),
        finished_at: at("2025-09-18T02:03:00Z"),
        status: Status::Partial,
        retention_days: 365,
        summary: json!({"volumes": 2, "note": "one | two"})
            .as_object()
            .cloned()
            .unwrap(),
        redactions: vec![Redaction {
            artifact: "oadp.json".into(),
            location: "/s3/secret_key".into(),
        }],
        artifacts: vec![Artifact {
            path: "evidence.log".into(),
            sha256: "ab".repeat(32),
            size: 2048,
        }],
    }
}

/// Three steps over three minutes: 0-60s success, 60-162s failed, an instant skipped one.
fn report() -> Report {
    serde_json::from_value(json!({
        "title": "Failover of app-ns1 <prod>",
        "steps": [
            {"name": "Stop VMs", "started_at": "2025-09-18T02:00:00Z",
             "finished_at": "2025-09-18T02:01:00Z", "status": "success"},
            {"name": "Final sync | data", "started_at": "2025-09-18T02:01:00Z",
             "finished_at": "2025-09-18T02:02:42Z", "status": "failed",
             "detail": "rsync exit 23 <partial>"},
            {"name": "Restore", "started_at": "2025-09-18T02:03:00Z",
             "finished_at": "2025-09-18T02:03:00Z", "status": "skipped"},
        ],
        "volumes": [
            {"name": "app-ns1/disk-a", "status": "success", "bytes": 3_145_728, "total_bytes": 10_737_418_240_u64,
             "files": 12, "duration_seconds": 3.0, "source": "nfs-p:/exports/a", "destination": "nfs-dr:/dr/a"},
            {"name": "app-ns1/disk-b", "status": "failed", "bytes": 0, "duration_seconds": 1.0},
        ],
        "objects": [
            {"kind": "PersistentVolume", "name": "pv-a", "action": "created"},
            {"kind": "PersistentVolumeClaim", "namespace": "app-ns1", "name": "disk-a", "action": "created"},
            {"kind": "PersistentVolumeClaim", "namespace": "app-ns1", "name": "disk-b", "action": "failed",
             "detail": "PV not bound"},
        ],
        "drift": [
            {"kind": "PersistentVolumeClaim", "namespace": "app-ns1", "name": "disk-c",
             "issue": "extra_on_dr", "resolved": false, "detail": "deleted on primary"},
        ],
    }))
    .unwrap()
}

#[test]
fn markdown_has_facts_timeline_and_a_table_per_section() {
    let md = render_markdown(&manifest(), &report()).unwrap();
    assert!(md.starts_with("# Failover of app-ns1 \\<prod\\>\n"), "{md}");
    for row in [
        "| Run ID | failover-20250918T020000Z-7f3a |",
        "| Status | partial |",
        "| Change | CHG-7 |",
        "| Duration | 3m 00s |",
        "| Retention | 365 days (until 2026-09-18) |",
        "| note | one \\| two |",
        "| 2 | Final sync \\| data | failed | 2025-09-18T02:01:00Z | 2025-09-18T02:02:42Z | 1m 42s | rsync exit 23 \\<partial\\> |",
        "| app-ns1/disk-a | success | 3.0 MiB | 10.0 GiB | 12 | 3s | 1.0 MiB/s | nfs-p:/exports/a | nfs-dr:/dr/a |  |",
        "| app-ns1/disk-b | failed | 0 B |  |  | 1s |  |  |  |  |",
        "| PersistentVolumeClaim | app-ns1 | disk-b | failed | PV not bound |",
        "| PersistentVolumeClaim | app-ns1 | disk-c | extra on DR | no | deleted on primary |",
        &format!("| evidence.log | 2.0 KiB | `{}` |", "ab".repeat(32)),
    ] {
        assert!(md.contains(&format!("{row}\n")), "missing {row:?} in\n{md}");
    }
    assert!(md.contains("- oadp.json: /s3/secret_key\n"), "{md}");
    assert!(
        md.contains("Total: 1 success, 1 failed; 3.0 MiB transferred."),
        "{md}"
    );
    assert!(md.contains("Total: 2 created, 1 failed."), "{md}");
    assert!(md.contains("1 found, 0 resolved."), "{md}");
    // The text timeline: 48 cells over 180 s; the first step fills a third, the second
    // (60-162 s) the next 27 cells, the instant step one cell at the end.
    let bars: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("  |") && !l.starts_with('|'))
        .collect();
    assert_eq!(
        bars,
        [
            "Stop VMs           |################................................|      1m 00s  success",
            "Final sync | data  |................XXXXXXXXXXXXXXXXXXXXXXXXXXX.....|      1m 42s  failed",
            "Restore            |...............................................-|          0s  skipped",
        ]
    );
    assert!(
        md.contains("                    02:00:00Z                              02:03:00Z\n"),
        "{md}"
    );
}

#[test]
fn html_is_self_contained_escaped_and_draws_the_timeline() {
    let html = render_html(&manifest(), &report()).unwrap();
    assert!(html.starts_with("<!doctype html>"), "{}", &html[..200]);
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    ));
    for forbidden in [
        "<script", "src=", "href=", "url(", "@import", "http://", "https://",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} in the report");
    }
    assert!(
        html.contains("<h1>Failover of app-ns1 &#60;prod&#62;</h1>"),
        "{html}"
    );
    assert!(html.contains("<td>rsync exit 23 &#60;partial&#62;</td>"));
    assert!(html.contains("<span class=\"badge s-partial\">partial</span>"));
    let bars: Vec<&str> = html
        .lines()
        .filter(|l| l.contains("class=\"tl-bar"))
        .map(|l| {
            let from = l.find("tl-bar").unwrap();
            &l[from..l[from..].find("\" title").unwrap() + from]
        })
        .collect();
    assert_eq!(
        bars,
        [
            "tl-bar s-success\" style=\"left: 0.00%; width: 33.33%",
            "tl-bar s-failed\" style=\"left: 33.33%; width: 56.67%",
            "tl-bar s-skipped\" style=\"left: 99.40%; width: 0.60%",
        ]
    );
    for section in [
        "id=\"timeline\"",
        "id=\"steps\"",
        "id=\"volumes\"",
        "id=\"objects\"",
        "id=\"drift\"",
        "id=\"redactions\"",
        "id=\"artifacts\"",
    ] {
        assert!(html.contains(section), "{section}");
    }
}

#[test]
fn empty_sections_are_left_out() {
    let mut m = manifest();
    m.redactions.clear();
    m.summary.clear();
    m.change_id = None;
    for text in [
        render_markdown(&m, &Report::default()).unwrap(),
        render_html(&m, &Report::default()).unwrap(),
    ] {
        for absent in [
            "Summary",
            "Timeline",
            "Steps",
            "Volumes",
            "Objects",
            "Drift",
            "Redactions",
        ] {
            assert!(!text.contains(absent), "{absent} in\n{text}");
        }
        assert!(text.contains("Artifacts"));
        assert!(text.contains("failover run failover-20250918T020000Z-7f3a"));
    }
    let md = render_markdown(&m, &Report::default()).unwrap();
    assert!(md.contains("| Change | none |"));
}

#[test]
fn markdown_cells_cannot_break_the_table() {
    assert_eq!(
        md_cell("a|b\nc\\d <x> `y`\u{7}"),
        "a\\|b c\\\\d \\<x\\> \\`y\\`"
    );
}
