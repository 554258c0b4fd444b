//! The reader against backups written as Velero writes them, and against hostile archives.

use super::*;
use crate::velero::selection::{
    PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, VOLUME_SNAPSHOT_CONTENTS, VOLUME_SNAPSHOTS,
};
use ocpdr_fixtures::tarfile::TarWriter;
use ocpdr_fixtures::{
    BackupMeta, CopyOrder, FormatVersion, Scenario, gojson, hostile, write_backup, write_tar,
};
use serde_json::json;

fn meta(format: FormatVersion, order: CopyOrder) -> BackupMeta {
    let mut meta = BackupMeta::completed("nightly-1", "2025-01-10T02:00:00Z".parse().unwrap());
    meta.format = format;
    meta.copy_order = order;
    meta
}

fn scenario_backup(format: FormatVersion, order: CopyOrder) -> Vec<u8> {
    write_backup(
        Scenario::small("nightly-1").objects(),
        &meta(format, order),
        Vec::new(),
    )
    .unwrap()
    .0
}

fn read(bytes: &[u8], kinds: &[&str], namespaces: &[&str]) -> Result<BackupContents> {
    let options = ReadOptions {
        selection: Selection::new(kinds, namespaces).unwrap(),
        limits: Limits::default(),
    };
    read_backup(bytes, &options)
}

fn names(contents: &BackupContents, kind: &str) -> Vec<String> {
    contents.items[kind]
        .iter()
        .map(|i| i.name.clone())
        .collect()
}

fn expected(kind: &str) -> Vec<Value> {
    let mut objects: Vec<Value> = Scenario::small("nightly-1")
        .objects()
        .filter(|o| o["kind"] == kind)
        .collect();
    objects.sort_by_key(|o| {
        (
            o["metadata"]["namespace"].as_str().map(str::to_owned),
            o["metadata"]["name"].as_str().map(str::to_owned),
        )
    });
    objects
}

#[test]
fn reads_the_four_dr_kinds_whole_and_once() {
    let contents = read(
        &scenario_backup(FormatVersion::V1_1_0, CopyOrder::CanonicalFirst),
        &[],
        &[],
    )
    .unwrap();
    let objects = |kind: &str| {
        contents.items[kind]
            .iter()
            .map(|i| i.object.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(objects(PERSISTENT_VOLUMES), expected("PersistentVolume"));
    assert_eq!(
        objects(PERSISTENT_VOLUME_CLAIMS),
        expected("PersistentVolumeClaim")
    );
    assert_eq!(objects(VOLUME_SNAPSHOTS), expected("VolumeSnapshot"));
    assert_eq!(
        objects(VOLUME_SNAPSHOT_CONTENTS),
        expected("VolumeSnapshotContent")
    );
    assert_eq!(contents.items.len(), 4);
    let stats = &contents.stats;
    assert!(stats.compressed);
    assert_eq!(stats.format_version.as_deref(), Some("1.1.0"));
    assert_eq!(stats.items, Scenario::small("x").item_count());
    assert_eq!(stats.duplicate_copies, stats.items);
    assert_eq!(stats.entries, 2 * stats.items + 1);
    assert_eq!(
        (
            stats.from_preferred_copy,
            stats.replaced,
            stats.other_entries
        ),
        (0, 0, 0)
    );
    assert!(stats.ignored.is_empty() && stats.rejected.is_empty());
    let pvc = &contents.items[PERSISTENT_VOLUME_CLAIMS][0];
    assert_eq!(
        (pvc.namespace.as_deref(), pvc.name.as_str()),
        (Some("vm-ns-000"), "vm-0000-rootdisk")
    );
}

#[test]
fn any_group_resource_can_be_asked_for_including_pax_named_items() {
    let backup = scenario_backup(FormatVersion::V1_1_0, CopyOrder::CanonicalFirst);
    let contents = read(
        &backup,
        &[
            "deployments.apps",
            "virtualmachines.kubevirt.io",
            "configmaps",
            "ns",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(names(&contents, "deployments.apps"), ["web", "web"]);
    assert_eq!(names(&contents, "virtualmachines.kubevirt.io").len(), 4);
    assert_eq!(names(&contents, "namespaces"), ["vm-ns-000", "vm-ns-001"]);
    let long = format!("{}-settings", "x".repeat(200));
    assert!(
        names(&contents, "configmaps").contains(&long),
        "the PAX-named entry is read"
    );
    // Go's HTML escaping in the stored bytes decodes back to the original text.
    let image = &contents.items["deployments.apps"][0].object["spec"]["template"]["spec"]["containers"]
        [0]["image"];
    assert_eq!(image, "registry.example.com/web:1.4 <stable>");
    assert!(!contents.items.contains_key(PERSISTENT_VOLUMES));
}

#[test]
fn namespace_filter_keeps_cluster_objects_of_those_namespaces() {
    let backup = scenario_backup(FormatVersion::V1_1_0, CopyOrder::CanonicalFirst);
    let contents = read(&backup, &[], &["vm-ns-001"]).unwrap();
    for kind in [
        PERSISTENT_VOLUMES,
        PERSISTENT_VOLUME_CLAIMS,
        VOLUME_SNAPSHOTS,
        VOLUME_SNAPSHOT_CONTENTS,
    ] {
        assert_eq!(contents.items[kind].len(), 2, "{kind}");
    }
    for pv in &contents.items[PERSISTENT_VOLUMES] {
        assert_eq!(pv.object["spec"]["claimRef"]["namespace"], "vm-ns-001");
    }
    let none = read(&backup, &[], &["elsewhere"]).unwrap();
    assert!(none.items.values().all(Vec::is_empty));
}

#[test]
fn every_format_and_copy_order_gives_the_same_objects() {
    let reference = read(
        &scenario_backup(FormatVersion::V1_1_0, CopyOrder::CanonicalFirst),
        &[],
        &[],
    )
    .unwrap();
    for (format, order, version) in [
        (
            FormatVersion::V1_1_0,
            CopyOrder::PreferredFirst,
            Some("1.1.0"),
        ),
        (FormatVersion::V1, CopyOrder::CanonicalFirst, Some("1")),
        (FormatVersion::Absent, CopyOrder::CanonicalFirst, None),
    ] {
        let contents = read(&scenario_backup(format, order), &[], &[]).unwrap();
        assert_eq!(contents.items, reference.items, "{format:?} {order:?}");
        assert_eq!(contents.stats.format_version.as_deref(), version);
        assert_eq!(contents.stats.from_preferred_copy, 0);
    }
    let plain = write_tar(
        Scenario::small("nightly-1").objects(),
        &meta(FormatVersion::V1_1_0, CopyOrder::CanonicalFirst),
        Vec::new(),
    )
    .unwrap()
    .0;
    let contents = read(&plain, &[], &[]).unwrap();
    assert!(!contents.stats.compressed);
    assert_eq!(contents.items, reference.items);
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let tar = write_tar(
        Scenario::small("nightly-1").objects(),
        &meta(FormatVersion::V1_1_0, CopyOrder::CanonicalFirst),
        Vec::new(),
    )
    .unwrap()
    .0;
    let (first, second) = tar.split_at(tar.len() / 2);
    let gz = |part: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, part).unwrap();
        e.finish().unwrap()
    };
    let bytes = [gz(first), gz(second)].concat();
    let contents = read(&bytes, &[], &[]).unwrap();
    assert_eq!(contents.items[PERSISTENT_VOLUMES].len(), 4);
}

fn tar_of(build: impl FnOnce(&mut TarWriter<Vec<u8>>)) -> Vec<u8> {
    let mut tar = TarWriter::new(Vec::new(), 0);
    build(&mut tar);
    tar.finish().unwrap()
}

#[test]
fn preferred_copy_is_used_only_when_the_canonical_one_is_missing() {
    let pv = hostile::good_pv();
    let mut newer = pv.clone();
    newer["metadata"]["labels"] = json!({"copy": "last"});
    let bytes = tar_of(|t| {
        t.file(
            "resources/persistentvolumes/v1-preferredversion/cluster/only-preferred.json",
            &gojson::compact_sorted(&pv),
        )
        .unwrap();
        t.file(
            "resources/persistentvolumes/v2/cluster/only-preferred.json",
            b"{}",
        )
        .unwrap();
        t.file(
            "resources/persistentvolumes/cluster/twice.json",
            &gojson::compact_sorted(&pv),
        )
        .unwrap();
        t.file(
            "resources/persistentvolumes/cluster/twice.json",
            &gojson::compact_sorted(&newer),
        )
        .unwrap();
        t.file("resources/persistentvolumes/notes.txt", b"hello")
            .unwrap();
    });
    let contents = read(&bytes, &["pv"], &[]).unwrap();
    assert_eq!(
        names(&contents, PERSISTENT_VOLUMES),
        ["only-preferred", "twice"]
    );
    assert_eq!(
        contents.items[PERSISTENT_VOLUMES][1].object["metadata"]["labels"]["copy"],
        "last"
    );
    let s = &contents.stats;
    assert_eq!(
        (
            s.from_preferred_copy,
            s.replaced,
            s.duplicate_copies,
            s.other_entries,
            s.items
        ),
        (1, 1, 2, 1, 2)
    );
}

#[test]
fn unsafe_names_are_refused_and_reported_the_rest_is_read() {
    let contents = read(&hostile::path_traversal(), &[], &[]).unwrap();
    let rejected: Vec<(&str, Rejection)> = contents
        .stats
        .rejected
        .iter()
        .map(|r| (r.path.as_str(), r.reason))
        .collect();
    assert_eq!(
        rejected,
        [
            ("../escape.json", Rejection::ParentComponent),
            (
                "resources/persistentvolumes/cluster/../../../etc/evil.json",
                Rejection::ParentComponent
            ),
            ("/etc/passwd", Rejection::Absolute),
            (
                "resources\\persistentvolumes\\cluster\\win.json",
                Rejection::Backslash
            ),
        ]
    );
    assert_eq!(names(&contents, PERSISTENT_VOLUMES), ["nfs-pv-good"]);

    let contents = read(&hostile::nul_name(), &[], &[]).unwrap();
    assert_eq!(
        contents.stats.rejected[0].path,
        "resources/persistentvolumes/cluster/nul\\0.json"
    );
    assert_eq!(
        contents.stats.rejected[0].message,
        "name contains a NUL byte"
    );
}

#[test]
fn links_and_special_files_are_ignored_never_followed() {
    let contents = read(&hostile::links_and_specials(), &[], &[]).unwrap();
    let ignored: Vec<(&str, &str)> = contents
        .stats
        .ignored
        .iter()
        .map(|i| (i.path.as_str(), i.entry_type.as_str()))
        .collect();
    assert_eq!(
        ignored,
        [
            ("resources/persistentvolumes/cluster/link.json", "symlink"),
            ("resources/persistentvolumes/cluster/hard.json", "hardlink"),
            ("resources/persistentvolumes/cluster/", "directory"),
            (
                "resources/persistentvolumes/cluster/null.json",
                "character device"
            ),
        ]
    );
    assert_eq!(names(&contents, PERSISTENT_VOLUMES), ["nfs-pv-good"]);
}

#[test]
fn gzip_bombs_stop_at_the_limits() {
    let err = read(&hostile::gzip_bomb(40 << 20), &[], &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "entry \"resources/persistentvolumes/cluster/bomb.json\" is 41943040 bytes, more than the per-entry limit of \
         33554432 bytes (no Kubernetes object is that large; a gzip bomb?)"
    );
    let options = ReadOptions {
        selection: Selection::default(),
        limits: Limits {
            max_entry_bytes: 1 << 20,
            max_total_bytes: 1 << 20,
        },
    };
    let err = read_backup(&hostile::many_entries(100, 20_000)[..], &options).unwrap_err();
    let Error::TotalTooLarge { limit, progress } = &err else {
        panic!("{err}")
    };
    assert_eq!(*limit, 1 << 20);
    assert!(progress.entries > 10 && progress.entries < 60, "{progress}");
    assert!(
        err.to_string()
            .contains("expands to more than the total limit of 1048576 bytes"),
        "{err}"
    );
}

#[test]
fn truncated_archives_say_how_far_they_got() {
    let bytes = hostile::truncated_gzip(3000);
    let err = read(&bytes, &[], &[]).unwrap_err();
    let Error::Truncated { progress, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(progress.entries > 0, "{progress}");
    assert!(
        progress
            .last_entry
            .as_deref()
            .unwrap()
            .starts_with("resources/persistentvolumes/cluster/nfs-pv-"),
        "{progress}"
    );
    assert!(
        err.to_string()
            .starts_with("the backup archive is truncated: it ends after "),
        "{err}"
    );

    let err = read(&hostile::truncated_tar(), &[], &[]).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("last entry \"resources/persistentvolumes/cluster/cut.json\""),
        "{err}"
    );

    // Cut exactly between entries: only the missing end-of-archive marker tells.
    let whole = tar_of(|t| {
        t.file("resources/persistentvolumes/cluster/a.json", b"{}")
            .unwrap()
    });
    let err = read(&whole[..whole.len() - 1024], &[], &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("without its end-of-archive marker"),
        "{err}"
    );
}

#[test]
fn what_is_not_a_backup_is_refused_clearly() {
    assert_eq!(
        read(&hostile::not_gzip(), &[], &[])
            .unwrap_err()
            .to_string(),
        "the backup archive is neither gzip nor tar: it starts with \"<?xml version=\\\"1\""
    );
    assert!(matches!(
        read(&hostile::empty(), &[], &[]).unwrap_err(),
        Error::Empty
    ));
    let err = read(&hostile::invalid_json(), &[], &[]).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "entry \"resources/persistentvolumes/cluster/broken.json\" is not valid JSON"
        ),
        "{err}"
    );
    let err = read(&hostile::future_format(), &[], &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the backup format version is \"2.0.0\": only format 1 (\"1\", \"1.1.0\", ...) is understood"
    );
    let mut corrupt = scenario_backup(FormatVersion::V1_1_0, CopyOrder::CanonicalFirst);
    let middle = corrupt.len() / 2;
    corrupt[middle..middle + 64].fill(0xff);
    assert!(matches!(
        read(&corrupt, &[], &[]).unwrap_err(),
        Error::Corrupt { .. } | Error::Truncated { .. }
    ));
}

#[test]
fn an_empty_backup_is_valid_and_empty() {
    let contents = read(&hostile::empty_tar(), &[], &[]).unwrap();
    assert_eq!(contents.items.len(), 4);
    assert!(contents.items.values().all(Vec::is_empty));
    assert_eq!(contents.stats.entries, 0);
}

#[test]
fn source_errors_are_not_mistaken_for_corruption() {
    struct Failing(Vec<u8>, usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() / 2 {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection reset by peer",
                ));
            }
            let n = buf.len().min(100).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let backup = scenario_backup(FormatVersion::V1_1_0, CopyOrder::CanonicalFirst);
    let err = read_backup(Failing(backup, 0), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Source { .. }), "{err:?}");
    assert!(
        err.to_string().ends_with("connection reset by peer"),
        "{err}"
    );
}
