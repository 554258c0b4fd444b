//! When an applied storage object is usable: a PersistentVolumeClaim is `Bound` to its volume,
//! a VolumeSnapshot is `readyToUse`. Until then a VM that needs it cannot start, so `k8s_apply`
//! with `wait` holds the failover here rather than letting the restore race ahead.

use crate::object::str_at;
use serde_json::Value;

/// Why `obj` is not usable yet, or `None` when it is (or its kind has nothing to wait for).
///
/// ```
/// use ocpdr_core::readiness::not_ready;
/// let pvc = serde_json::json!({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}});
/// assert_eq!(not_ready(&pvc).as_deref(), Some("phase Pending, waiting for Bound"));
/// ```
pub fn not_ready(obj: &Value) -> Option<String> {
    match str_at(obj, &["kind"]).unwrap_or("") {
        "PersistentVolumeClaim" => {
            let phase = str_at(obj, &["status", "phase"]).unwrap_or("unknown");
            (phase != "Bound").then(|| format!("phase {phase}, waiting for Bound"))
        }
        "VolumeSnapshot" => {
            let ready = obj.pointer("/status/readyToUse").and_then(Value::as_bool);
            match ready {
                Some(true) => None,
                _ => {
                    let error = obj
                        .pointer("/status/error/message")
                        .and_then(Value::as_str)
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default();
                    Some(format!("readyToUse is not true yet{error}"))
                }
            }
        }
        _ => None,
    }
}

/// Whether objects of `kind` are waited for by [`not_ready`].
pub fn has_readiness(kind: &str) -> bool {
    matches!(kind, "PersistentVolumeClaim" | "VolumeSnapshot")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_wait_for_bound_and_snapshots_for_ready() {
        let bound = json!({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}});
        assert_eq!(not_ready(&bound), None);
        let new = json!({"kind": "PersistentVolumeClaim"});
        assert_eq!(
            not_ready(&new).as_deref(),
            Some("phase unknown, waiting for Bound")
        );
        let ready = json!({"kind": "VolumeSnapshot", "status": {"readyToUse": true}});
        assert_eq!(not_ready(&ready), None);
        let failed = json!({"kind": "VolumeSnapshot",
            "status": {"readyToUse": false, "error": {"message": "content missing"}}});
        assert_eq!(
            not_ready(&failed).as_deref(),
            Some("readyToUse is not true yet: content missing")
        );
        assert_eq!(not_ready(&json!({"kind": "PersistentVolume"})), None);
        assert!(has_readiness("VolumeSnapshot") && !has_readiness("PersistentVolume"));
    }
}
