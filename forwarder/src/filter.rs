//! Which objects are forwarded: `WATCH_KINDS` chooses the kinds, `WATCH_NAMESPACES` the
//! namespaces. Namespaced objects pass when their namespace is watched; cluster-scoped ones
//! (PV, VolumeSnapshotContent) when they are bound to a watched namespace. An empty namespace
//! list watches everything.
//!
//! The watch keeps forwarding an object it has already forwarded even if it stops matching (a PV
//! whose `claimRef` is cleared after its claim was deleted): its later changes and its deletion
//! still reach the DR side. That "once in, in until deleted" rule lives in
//! [`crate::known::Known`]; this module only answers whether an object matches.

use crate::kinds::Kind;
use serde_json::Value;
use std::collections::BTreeSet;

/// The kinds and namespaces to forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The watched kinds, in [`Kind::ALL`] order, never empty.
    pub kinds: Vec<Kind>,
    /// The watched namespaces; empty means all.
    pub namespaces: BTreeSet<String>,
}

impl Filter {
    /// Every kind in every namespace.
    pub fn all() -> Self {
        Filter {
            kinds: Kind::ALL.to_vec(),
            namespaces: BTreeSet::new(),
        }
    }

    /// Whether `obj`, of `kind`, matches the namespace selection.
    pub fn matches(&self, kind: Kind, obj: &Value) -> bool {
        self.namespaces.is_empty()
            || kind
                .related_namespace(obj)
                .is_some_and(|ns| self.namespaces.contains(ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn only(namespaces: &[&str]) -> Filter {
        Filter {
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            ..Filter::all()
        }
    }

    #[test]
    fn empty_namespace_list_matches_everything() {
        let pv = json!({"metadata": {"name": "pv-1"}});
        assert!(Filter::all().matches(Kind::PersistentVolume, &pv));
    }

    #[test]
    fn namespaced_objects_match_by_their_namespace() {
        let f = only(&["app"]);
        let pvc = |ns| json!({"metadata": {"name": "d", "namespace": ns}});
        assert!(f.matches(Kind::PersistentVolumeClaim, &pvc("app")));
        assert!(!f.matches(Kind::PersistentVolumeClaim, &pvc("other")));
        assert!(f.matches(Kind::VolumeSnapshot, &pvc("app")));
    }

    #[test]
    fn cluster_scoped_objects_match_by_their_binding() {
        let f = only(&["app"]);
        let bound = json!({"spec": {"claimRef": {"namespace": "app", "name": "d"}}});
        let elsewhere = json!({"spec": {"claimRef": {"namespace": "x", "name": "d"}}});
        let unbound = json!({"spec": {"capacity": {"storage": "1Gi"}}});
        assert!(f.matches(Kind::PersistentVolume, &bound));
        assert!(!f.matches(Kind::PersistentVolume, &elsewhere));
        assert!(!f.matches(Kind::PersistentVolume, &unbound));
        let vsc = json!({"spec": {"volumeSnapshotRef": {"namespace": "app"}}});
        assert!(f.matches(Kind::VolumeSnapshotContent, &vsc));
    }
}
