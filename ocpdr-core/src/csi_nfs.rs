//! The IDs kubernetes-csi/csi-driver-nfs (`nfs.csi.k8s.io`) writes into PVs and snapshots.
//!
//! Both embed the NFS server and the share, so retargeting a volume or a snapshot at the DR
//! server must rewrite them consistently with the rest of the object. The layouts, from
//! `pkg/nfs/controllerserver.go` of csi-driver-nfs:
//!
//! - volume handle: `server#baseDir#subDir[#uuid[#onDelete]]` with `baseDir` and `subDir`
//!   trimmed of `/` (the legacy form is `server/baseDir/subDir`); the volume's data is the
//!   directory `/<baseDir>/<subDir>`.
//! - snapshot handle: exactly `server#baseDir#snapshotName#archivePath#sourceVolume`, where
//!   `snapshotName` is the CreateSnapshot request name (`snapshot-<VolumeSnapshot uid>` from the
//!   external-snapshotter), `archivePath` repeats it, and `sourceVolume` is the source volume's
//!   uuid or subDir (the PV name). `CreateSnapshot` writes one archive,
//!   `tar -C <volume> -czf /<baseDir>/<snapshotName>/<sourceVolume>.tar.gz .`, into a directory of
//!   its own; `DeleteSnapshot` removes that directory and a volume restored from the snapshot is
//!   unpacked from that archive. The VolumeSnapshotClass parameters `server` and `share` may put
//!   snapshots on another server or share than the volume.

use crate::paths;
use std::fmt;

/// The CSI driver name of kubernetes-csi/csi-driver-nfs.
pub const CSI_NFS_DRIVER: &str = "nfs.csi.k8s.io";

/// Rewrites a csi-driver-nfs volume handle, `server#share#subdir[#uuid[#onDelete]]` with the
/// share trimmed of `/` (or the legacy `server/share/subdir`), so that it names the DR server and
/// share. A handle in neither form is an arbitrary ID chosen for a static PV: it is kept, since
/// it stays unique on the DR cluster.
pub fn rewrite_volume_handle(
    handle: &str,
    source_server: &str,
    dr_server: &str,
    dr_share: &str,
) -> String {
    let server = source_server.trim_matches('/');
    let share = dr_share.trim_matches('/');
    let mut segments: Vec<&str> = handle.split('#').collect();
    if segments.len() >= 3 && segments[0] == server {
        segments[0] = dr_server;
        segments[1] = share;
        return segments.join("#");
    }
    if segments.len() == 1
        && let Some(rest) = handle
            .strip_prefix(server)
            .and_then(|r| r.strip_prefix('/'))
        && let Some((_old_share, subdir)) = rest.rsplit_once('/')
    {
        return format!("{dr_server}/{share}/{subdir}");
    }
    handle.to_owned()
}

/// A parsed csi-driver-nfs snapshot handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHandle {
    /// NFS server holding the archive.
    pub server: String,
    /// The share, trimmed of `/` (`exports/csi` for `/exports/csi`; empty for `/`).
    pub base_dir: String,
    /// The snapshot's name: the directory of its archive below the share.
    pub name: String,
    /// The archive path segment (the driver writes the snapshot name again).
    pub archive_path: String,
    /// The source volume (PV) name: the archive is `<source_volume>.tar.gz`.
    pub source_volume: String,
}

/// Why a snapshot handle is not one csi-driver-nfs wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "snapshot handle {handle:?} {reason}: expected csi-driver-nfs's \
     server#share#snapshotName#snapshotName#sourceVolume"
)]
pub struct HandleError {
    /// The handle as given.
    pub handle: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl SnapshotHandle {
    /// Parses a handle; every part that becomes a path component must be one plain component.
    ///
    /// ```
    /// use ocpdr_core::csi_nfs::SnapshotHandle;
    /// let h = SnapshotHandle::parse("nfs-a#exports/csi#snapshot-1#snapshot-1#pvc-9")?;
    /// assert_eq!(h.share(), "/exports/csi");
    /// assert_eq!(h.archive_dir()?, "/exports/csi/snapshot-1");
    /// assert_eq!(h.archive_name(), "pvc-9.tar.gz");
    /// assert_eq!(h.with_location("nfs-dr", "/dr/csi").to_string(),
    ///            "nfs-dr#dr/csi#snapshot-1#snapshot-1#pvc-9");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(handle: &str) -> Result<Self, HandleError> {
        let fail = |reason| {
            Err(HandleError {
                handle: handle.to_owned(),
                reason,
            })
        };
        let segments: Vec<&str> = handle.split('#').collect();
        let [server, base_dir, name, archive_path, source_volume] = segments[..] else {
            return fail("does not have 5 #-separated parts");
        };
        if server.is_empty() {
            return fail("has no server");
        }
        for part in [name, archive_path, source_volume] {
            if part.is_empty() || part == "." || part == ".." || part.contains(['/', '\0']) {
                return fail("has an empty or multi-component snapshot, archive or volume name");
            }
        }
        Ok(SnapshotHandle {
            server: server.to_owned(),
            base_dir: base_dir.trim_matches('/').to_owned(),
            name: name.to_owned(),
            archive_path: archive_path.to_owned(),
            source_volume: source_volume.to_owned(),
        })
    }

    /// The share as an absolute path (`/` when the base directory is empty).
    pub fn share(&self) -> String {
        format!("/{}", self.base_dir)
    }

    /// The directory holding the archive on the handle's server, normalised and checked.
    pub fn archive_dir(&self) -> Result<String, paths::PathError> {
        paths::normalize_target(&format!("{}/{}", self.share(), self.name))
    }

    /// The archive's file name inside [`Self::archive_dir`].
    pub fn archive_name(&self) -> String {
        format!("{}.tar.gz", self.source_volume)
    }

    /// The same snapshot on another server and share.
    pub fn with_location(&self, server: &str, share: &str) -> Self {
        SnapshotHandle {
            server: server.to_owned(),
            base_dir: share.trim_matches('/').to_owned(),
            ..self.clone()
        }
    }
}

impl fmt::Display for SnapshotHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}#{}#{}#{}#{}",
            self.server, self.base_dir, self.name, self.archive_path, self.source_volume
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_handle_forms() {
        assert_eq!(
            rewrite_volume_handle(
                "nfs-a#exports/csi#sub#uuid#retain",
                "nfs-a",
                "nfs-b",
                "/dr/csi"
            ),
            "nfs-b#dr/csi#sub#uuid#retain"
        );
        assert_eq!(
            rewrite_volume_handle("nfs-a/exports/csi/pvc-1", "nfs-a", "nfs-b", "/dr/csi"),
            "nfs-b/dr/csi/pvc-1"
        );
        // A static PV's free-form handle is kept.
        assert_eq!(
            rewrite_volume_handle("my-static-volume-01", "nfs-a", "nfs-b", "/dr/csi"),
            "my-static-volume-01"
        );
        // A handle naming another server is not ours to rewrite.
        assert_eq!(
            rewrite_volume_handle("nfs-z#exports#sub", "nfs-a", "nfs-b", "/dr"),
            "nfs-z#exports#sub"
        );
    }

    #[test]
    fn snapshot_handle_round_trips_and_moves() {
        let text = "nfs-primary.example.com#exports/csi#snapshot-b41c#snapshot-b41c#pvc-4bcb";
        let handle = SnapshotHandle::parse(text).unwrap();
        assert_eq!(handle.to_string(), text);
        assert_eq!(handle.archive_dir().unwrap(), "/exports/csi/snapshot-b41c");
        // A share at the root of the server.
        let root = SnapshotHandle::parse("nfs#/#snap#snap#pvc").unwrap();
        assert_eq!(root.archive_dir().unwrap(), "/snap");
        assert_eq!(
            root.with_location("dr", "/").to_string(),
            "dr##snap#snap#pvc"
        );
    }

    #[test]
    fn snapshot_handles_of_other_shapes_are_refused() {
        for (handle, reason) in [
            ("nfs#exports#snap#pvc", "does not have 5"),
            ("nfs#exports#snap#snap#pvc#extra", "does not have 5"),
            ("#exports#snap#snap#pvc", "has no server"),
            ("nfs#exports#..#snap#pvc", "multi-component"),
            ("nfs#exports#a/b#snap#pvc", "multi-component"),
            ("nfs#exports#snap#snap#", "multi-component"),
        ] {
            let err = SnapshotHandle::parse(handle).unwrap_err();
            assert!(err.to_string().contains(reason), "{handle}: {err}");
        }
    }
}
