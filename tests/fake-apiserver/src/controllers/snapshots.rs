//! The CSI snapshot controller, reduced to readiness: a new VolumeSnapshot is `readyToUse:
//! false` at once, and after `snapshot_ready_delay` it is bound to a VolumeSnapshotContent
//! (`snapcontent-<uid>`, created for a `persistentVolumeClaimName` source with the class's
//! driver and deletion policy, or the named one for a `volumeSnapshotContentName` source) and
//! `readyToUse: true` with `restoreSize`. Deleting a snapshot deletes its content when the
//! content's policy is `Delete`.
//!
//! The content's `status.snapshotHandle` is what the driver would report: for a pre-provisioned
//! content its `spec.source.snapshotHandle`; for a snapshot of a csi-driver-nfs volume
//! (`nfs.csi.k8s.io`) the ID that driver returns, which names the archive it writes
//! ([`csi_nfs_snapshot_handle`]); otherwise `snap-<snapshot uid>`.

use serde_json::{Value, json};

use super::{Ctx, str_at, uid};
use crate::store::{Change, ChangeType, name_of, namespace_of, now_rfc3339};

const MANAGER: &str = "snapshot-controller";
const GROUP: &str = "snapshot.storage.k8s.io";
const DEFAULT_DRIVER: &str = "fake.csi.ocpdr.io";
const CSI_NFS_DRIVER: &str = "nfs.csi.k8s.io";

pub(super) fn on_change(ctx: &Ctx, change: &Change) {
    match (change.storage.as_str(), change.kind) {
        ("snapshot.storage.k8s.io/volumesnapshots", ChangeType::Added | ChangeType::Modified) => {
            reconcile(ctx, &change.object);
        }
        ("snapshot.storage.k8s.io/volumesnapshots", ChangeType::Deleted) => {
            let vscs = ctx.def(GROUP, "v1", "volumesnapshotcontents");
            let bound = str_at(&change.object, "/status/boundVolumeSnapshotContentName");
            if let Some(vsc) = ctx.get(&vscs, "", bound)
                && str_at(&vsc, "/spec/deletionPolicy") == "Delete"
            {
                ctx.delete(&vscs, "", bound);
            }
        }
        _ => {}
    }
}

pub(super) fn resync(ctx: &Ctx) {
    for vs in ctx.all(&ctx.def(GROUP, "v1", "volumesnapshots")) {
        reconcile(ctx, &vs);
    }
}

fn reconcile(ctx: &Ctx, vs: &Value) {
    if vs.pointer("/status/readyToUse") == Some(&json!(true))
        || vs.pointer("/metadata/deletionTimestamp").is_some()
    {
        return;
    }
    let vss = ctx.def(GROUP, "v1", "volumesnapshots");
    if vs.pointer("/status/readyToUse").is_none() {
        ctx.patch(
            &vss,
            vs,
            MANAGER,
            true,
            &json!({"status": {"readyToUse": false}}),
        );
    }
    let (ns, name, vs_uid) = (
        namespace_of(vs).to_owned(),
        name_of(vs).to_owned(),
        uid(vs).to_owned(),
    );
    ctx.after(
        format!("vs/{vs_uid}"),
        ctx.sh.config.controllers.snapshot_ready_delay,
        move |ctx| {
            let vss = ctx.def(GROUP, "v1", "volumesnapshots");
            if let Some(vs) = ctx.get(&vss, &ns, &name).filter(|v| uid(v) == vs_uid) {
                make_ready(&ctx, &vs);
            }
        },
    );
}

/// Bytes of a quantity such as `1Gi`, `500M` or `1024`.
fn quantity_bytes(q: &str) -> Option<i64> {
    let units: &[(&str, i64)] = &[
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    for (suffix, factor) in units {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<i64>().ok().map(|n| n * factor);
        }
    }
    q.parse().ok()
}

fn make_ready(ctx: &Ctx, vs: &Value) {
    let vss = ctx.def(GROUP, "v1", "volumesnapshots");
    let vscs = ctx.def(GROUP, "v1", "volumesnapshotcontents");
    let (ns, name) = (namespace_of(vs), name_of(vs));
    let now = now_rfc3339();
    let vs_ref = json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "name": name, "namespace": ns, "uid": uid(vs)});
    let pre_provisioned = str_at(vs, "/spec/source/volumeSnapshotContentName");
    let (content, restore_size, handle) = if pre_provisioned.is_empty() {
        let pvcs = ctx.def("", "v1", "persistentvolumeclaims");
        let claim = str_at(vs, "/spec/source/persistentVolumeClaimName");
        let Some(pvc) = ctx.get(&pvcs, ns, claim) else {
            let error = json!({"message": format!("failed to take snapshot: persistentvolumeclaim \"{claim}\" not found"), "time": now});
            ctx.patch(
                &vss,
                vs,
                MANAGER,
                true,
                &json!({"status": {"readyToUse": false, "error": error}}),
            );
            return;
        };
        let size = pvc
            .pointer("/status/capacity/storage")
            .or_else(|| pvc.pointer("/spec/resources/requests/storage"))
            .and_then(Value::as_str)
            .unwrap_or("0")
            .to_owned();
        let class_name = str_at(vs, "/spec/volumeSnapshotClassName");
        let class = ctx.get(
            &ctx.def(GROUP, "v1", "volumesnapshotclasses"),
            "",
            class_name,
        );
        let driver = class
            .as_ref()
            .map(|c| str_at(c, "/driver"))
            .filter(|d| !d.is_empty())
            .unwrap_or(DEFAULT_DRIVER);
        let policy = class
            .as_ref()
            .map(|c| str_at(c, "/deletionPolicy"))
            .filter(|d| !d.is_empty())
            .unwrap_or("Delete");
        let pv = ctx.get(
            &ctx.def("", "v1", "persistentvolumes"),
            "",
            str_at(&pvc, "/spec/volumeName"),
        );
        let handle = pv
            .as_ref()
            .map(|pv| str_at(pv, "/spec/csi/volumeHandle"))
            .filter(|h| !h.is_empty())
            .unwrap_or(str_at(&pvc, "/spec/volumeName"))
            .to_owned();
        let content_name = format!("snapcontent-{}", uid(vs));
        if ctx.get(&vscs, "", &content_name).is_none() {
            let mut spec = json!({"deletionPolicy": policy, "driver": driver, "source": {"volumeHandle": handle}, "volumeSnapshotRef": vs_ref});
            if !class_name.is_empty() {
                spec["volumeSnapshotClassName"] = json!(class_name);
            }
            let vsc = json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent", "metadata": {"name": content_name}, "spec": spec});
            ctx.create(&vscs, "", vsc, MANAGER);
        }
        // external-snapshotter names the CSI snapshot `snapshot-<VolumeSnapshot uid>`.
        let snapshot_handle = (driver == CSI_NFS_DRIVER)
            .then(|| csi_nfs_snapshot_handle(&handle, &format!("snapshot-{}", uid(vs))))
            .flatten()
            .unwrap_or_else(|| format!("snap-{}", uid(vs)));
        (content_name, size, snapshot_handle)
    } else {
        let Some(vsc) = ctx.get(&vscs, "", pre_provisioned) else {
            let error = json!({"message": format!("volumesnapshotcontent \"{pre_provisioned}\" not found"), "time": now});
            ctx.patch(
                &vss,
                vs,
                MANAGER,
                true,
                &json!({"status": {"readyToUse": false, "error": error}}),
            );
            return;
        };
        if vsc
            .pointer("/spec/volumeSnapshotRef/uid")
            .and_then(Value::as_str)
            != Some(uid(vs))
        {
            ctx.patch(
                &vscs,
                &vsc,
                MANAGER,
                false,
                &json!({"spec": {"volumeSnapshotRef": vs_ref}}),
            );
        }
        let size = vsc
            .pointer("/status/restoreSize")
            .and_then(Value::as_i64)
            .map_or_else(|| "0".to_owned(), |b| b.to_string());
        let handle = match str_at(&vsc, "/spec/source/snapshotHandle") {
            "" => format!("snap-{}", uid(vs)),
            given => given.to_owned(),
        };
        (pre_provisioned.to_owned(), size, handle)
    };
    if let Some(vsc) = ctx.get(&vscs, "", &content)
        && vsc.pointer("/status/readyToUse") != Some(&json!(true))
    {
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let mut status =
            json!({"readyToUse": true, "snapshotHandle": handle, "creationTime": nanos});
        if let Some(bytes) = quantity_bytes(&restore_size) {
            status["restoreSize"] = json!(bytes);
        }
        ctx.patch(&vscs, &vsc, MANAGER, true, &json!({"status": status}));
    }
    let status = json!({"boundVolumeSnapshotContentName": content, "creationTime": now, "readyToUse": true, "restoreSize": restore_size});
    ctx.patch(&vss, vs, MANAGER, true, &json!({"status": status}));
}

/// The snapshot ID csi-driver-nfs returns for a snapshot named `snapshot_name` of the volume
/// `volume_handle` (`server#share#subdir[#uuid[#onDelete]]`): `server#share#name#name#src`, where
/// `src` is the volume's uuid if it has one, else its subdir. The driver writes the snapshot as
/// `<share>/<name>/<src>.tar.gz`. `None` for a handle that is not a csi-driver-nfs volume ID.
fn csi_nfs_snapshot_handle(volume_handle: &str, snapshot_name: &str) -> Option<String> {
    let parts: Vec<&str> = volume_handle.split('#').collect();
    let (server, share, subdir) = match parts.as_slice() {
        [server, share, subdir, ..] if !server.is_empty() && !subdir.is_empty() => {
            (*server, *share, *subdir)
        }
        _ => return None,
    };
    let src = parts
        .get(3)
        .filter(|uuid| !uuid.is_empty())
        .unwrap_or(&subdir);
    Some(format!(
        "{server}#{share}#{snapshot_name}#{snapshot_name}#{src}"
    ))
}

#[cfg(test)]
mod tests {
    use super::{csi_nfs_snapshot_handle, quantity_bytes};

    #[test]
    fn csi_nfs_handles_name_the_archive() {
        assert_eq!(
            csi_nfs_snapshot_handle("nfs.example.com#exports#pvc-1##", "snapshot-u").as_deref(),
            Some("nfs.example.com#exports#snapshot-u#snapshot-u#pvc-1")
        );
        assert_eq!(
            csi_nfs_snapshot_handle("nfs#exports#apps/db#pvc-2", "snapshot-u").as_deref(),
            Some("nfs#exports#snapshot-u#snapshot-u#pvc-2")
        );
        assert_eq!(csi_nfs_snapshot_handle("pv-without-csi", "s"), None);
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity_bytes("1Gi"), Some(1 << 30));
        assert_eq!(quantity_bytes("5M"), Some(5_000_000));
        assert_eq!(quantity_bytes("42"), Some(42));
        assert_eq!(quantity_bytes("x"), None);
    }
}
