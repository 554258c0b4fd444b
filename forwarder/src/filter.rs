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

    /// Whether an object belonging to `namespace` ([`Kind::related_namespace`]: its own, or
    /// the one a PV / VolumeSnapshotContent is bound to; `None` when unbound) is selected.
    pub fn matches(&self, namespace: Option<&str>) -> bool {
        self.namespaces.is_empty() || namespace.is_some_and(|ns| self.namespaces.contains(ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(namespaces: &[&str]) -> Filter {
        Filter {
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            ..Filter::all()
        }
    }

    #[test]
    fn empty_namespace_list_selects_everything_even_unbound_objects() {
        assert!(Filter::all().matches(None));
        assert!(Filter::all().matches(Some("any")));
    }

    #[test]
    fn a_namespace_list_selects_objects_belonging_to_one_of_them() {
        let f = only(&["app", "db"]);
        assert!(f.matches(Some("app")));
        assert!(f.matches(Some("db")));
        assert!(!f.matches(Some("other")));
        assert!(
            !f.matches(None),
            "an unbound PV belongs to no watched namespace"
        );
    }
}
