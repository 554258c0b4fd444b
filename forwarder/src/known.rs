//! What the forwarder knows about one kind: the last state it queued for each object, by uid.
//!
//! This is what turns a list into the changes that were missed. kube-rs's watcher restarts with
//! a full list after a `410 Gone` (and on every start); the list says what exists, not what
//! happened, so [`Known::relist`] compares it with what was known: new uids are ADDED, changed
//! resourceVersions MODIFIED, and uids that vanished DELETED with the last known object. The
//! same diff runs at start-up against the state saved in `STATE_CONFIGMAP`
//! ([`crate::state`]), so a restart forwards exactly what changed while the forwarder was down.
//!
//! resourceVersions are compared for equality only: they are opaque strings.

use crate::filter::Filter;
use crate::kinds::Kind;
use crate::object::Object;
use crate::payload::{Change, ChangeType};
use std::collections::HashMap;
use std::sync::Arc;

/// The last queued state of every forwarded object of one kind.
#[derive(Debug)]
pub struct Known {
    kind: Kind,
    objects: HashMap<String, Arc<Object>>,
}

impl Known {
    /// Knows the given objects (read from the API, or the stubs saved in the state).
    pub fn new(kind: Kind, objects: impl IntoIterator<Item = Object>) -> Self {
        Known {
            kind,
            objects: objects
                .into_iter()
                .map(|o| (o.uid().to_owned(), Arc::new(o)))
                .collect(),
        }
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// How many objects are known.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether no object is known.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Whether `obj` is forwarded: it matches the filter, or it was forwarded before (once in, in
    /// until deleted).
    fn wanted(&self, filter: &Filter, obj: &Object) -> bool {
        filter.matches(obj.related_namespace()) || self.objects.contains_key(obj.uid())
    }

    /// A watch event said `obj` was added or modified: ADDED if it is new, MODIFIED if its
    /// resourceVersion changed; nothing if it is not wanted or already known at this version (a
    /// duplicate after a watch resume).
    pub fn apply(&mut self, filter: &Filter, obj: Object) -> Option<Change> {
        if !self.wanted(filter, &obj) {
            return None;
        }
        let change = match self.objects.get(obj.uid()) {
            None => ChangeType::Added,
            Some(old) if old.resource_version() != obj.resource_version() => ChangeType::Modified,
            Some(_) => return None,
        };
        let obj = Arc::new(obj);
        self.objects.insert(obj.uid().to_owned(), obj.clone());
        Some(Change::now(change, obj, false))
    }

    /// A watch event said `obj` was deleted: DELETED if it is wanted.
    pub fn delete(&mut self, filter: &Filter, obj: Object) -> Option<Change> {
        if !self.wanted(filter, &obj) {
            return None;
        }
        self.objects.remove(obj.uid());
        Some(Change::now(ChangeType::Deleted, Arc::new(obj), false))
    }

    /// A complete list of the kind: the synthetic changes that bring a receiver that saw what was
    /// known up to date with `listed`. DELETED come first (sorted by namespace and name), so a
    /// deletion and a re-creation under the same name are delivered in that order; then ADDED and
    /// MODIFIED in list order.
    pub fn relist(&mut self, filter: &Filter, listed: Vec<Object>) -> Vec<Change> {
        let mut fresh = HashMap::with_capacity(listed.len());
        let mut upserts = Vec::new();
        for obj in listed {
            if !self.wanted(filter, &obj) {
                continue;
            }
            let change = match self.objects.get(obj.uid()) {
                None => Some(ChangeType::Added),
                Some(old) if old.resource_version() != obj.resource_version() => {
                    Some(ChangeType::Modified)
                }
                Some(_) => None,
            };
            let obj = Arc::new(obj);
            if let Some(change) = change {
                upserts.push(Change::now(change, obj.clone(), true));
            }
            fresh.insert(obj.uid().to_owned(), obj);
        }
        let mut gone: Vec<Arc<Object>> = self
            .objects
            .drain()
            .filter(|(uid, _)| !fresh.contains_key(uid))
            .map(|(_, obj)| obj)
            .collect();
        gone.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
        self.objects = fresh;
        gone.into_iter()
            .map(|obj| Change::now(ChangeType::Deleted, obj, true))
            .chain(upserts)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pvc(name: &str, ns: &str, uid: &str, rv: &str) -> Object {
        Object::new(
            Kind::PersistentVolumeClaim,
            json!({"metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": rv}}),
        )
    }

    fn summary(changes: &[Change]) -> Vec<(ChangeType, String, String, bool)> {
        changes
            .iter()
            .map(|c| {
                (
                    c.change,
                    c.key().name,
                    c.resource_version().to_owned(),
                    c.synthetic,
                )
            })
            .collect()
    }

    fn only(ns: &str) -> Filter {
        Filter {
            namespaces: [ns.to_owned()].into(),
            ..Filter::all()
        }
    }

    #[test]
    fn watch_events_become_added_modified_deleted_and_duplicates_vanish() {
        let f = Filter::all();
        let mut k = Known::new(Kind::PersistentVolumeClaim, []);
        let added = k.apply(&f, pvc("a", "app", "u1", "1")).unwrap();
        assert_eq!((added.change, added.synthetic), (ChangeType::Added, false));
        assert!(
            k.apply(&f, pvc("a", "app", "u1", "1")).is_none(),
            "same rv again"
        );
        let modified = k.apply(&f, pvc("a", "app", "u1", "2")).unwrap();
        assert_eq!(modified.change, ChangeType::Modified);
        let deleted = k.delete(&f, pvc("a", "app", "u1", "3")).unwrap();
        assert_eq!(deleted.change, ChangeType::Deleted);
        assert!(k.is_empty());
    }

    #[test]
    fn relist_emits_what_changed_in_the_gap() {
        let f = Filter::all();
        let mut k = Known::new(
            Kind::PersistentVolumeClaim,
            [
                pvc("same", "app", "u1", "1"),
                pvc("changed", "app", "u2", "1"),
                pvc("gone", "app", "u3", "1"),
                pvc("recreated", "app", "u4", "1"),
            ],
        );
        let changes = k.relist(
            &f,
            vec![
                pvc("same", "app", "u1", "1"),
                pvc("changed", "app", "u2", "7"),
                pvc("recreated", "app", "u9", "8"),
                pvc("new", "app", "u5", "9"),
            ],
        );
        let t = |c, n: &str, rv: &str| (c, n.to_owned(), rv.to_owned(), true);
        assert_eq!(
            summary(&changes),
            [
                t(ChangeType::Deleted, "gone", "1"),
                t(ChangeType::Deleted, "recreated", "1"),
                t(ChangeType::Modified, "changed", "7"),
                t(ChangeType::Added, "recreated", "8"),
                t(ChangeType::Added, "new", "9"),
            ]
        );
        // The deleted object is sent as last known, and the map now equals the list.
        assert_eq!(changes[0].uid(), "u3");
        assert_eq!(k.len(), 4);
        assert!(
            k.relist(
                &f,
                vec![
                    pvc("same", "app", "u1", "1"),
                    pvc("changed", "app", "u2", "7"),
                    pvc("recreated", "app", "u9", "8"),
                    pvc("new", "app", "u5", "9"),
                ]
            )
            .is_empty()
        );
    }

    #[test]
    fn first_list_without_state_adds_everything() {
        let mut k = Known::new(Kind::PersistentVolumeClaim, []);
        let changes = k.relist(
            &Filter::all(),
            vec![pvc("a", "x", "u1", "1"), pvc("b", "y", "u2", "1")],
        );
        assert!(
            changes
                .iter()
                .all(|c| c.change == ChangeType::Added && c.synthetic)
        );
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn filter_applies_to_watch_events_and_lists() {
        let f = only("app");
        let mut k = Known::new(Kind::PersistentVolumeClaim, []);
        assert!(k.apply(&f, pvc("a", "other", "u1", "1")).is_none());
        assert!(k.delete(&f, pvc("a", "other", "u1", "2")).is_none());
        let changes = k.relist(
            &f,
            vec![pvc("a", "other", "u1", "1"), pvc("b", "app", "u2", "1")],
        );
        assert_eq!(
            summary(&changes),
            [(ChangeType::Added, "b".into(), "1".into(), true)]
        );
    }

    #[test]
    fn a_forwarded_object_stays_forwarded_until_deleted() {
        let f = only("app");
        let pv = |claim_ns: Option<&str>, rv: &str| {
            let mut spec = json!({});
            if let Some(ns) = claim_ns {
                spec = json!({"claimRef": {"namespace": ns, "name": "d"}});
            }
            Object::new(
                Kind::PersistentVolume,
                json!({"metadata": {"name": "pv-1", "uid": "p1", "resourceVersion": rv}, "spec": spec}),
            )
        };
        let mut k = Known::new(Kind::PersistentVolume, []);
        assert!(
            k.apply(&f, pv(None, "1")).is_none(),
            "unbound: not ours yet"
        );
        assert_eq!(
            k.apply(&f, pv(Some("app"), "2")).unwrap().change,
            ChangeType::Added
        );
        // claimRef cleared: still ours, so the change and the later deletion are forwarded.
        assert_eq!(
            k.apply(&f, pv(None, "3")).unwrap().change,
            ChangeType::Modified
        );
        assert!(k.relist(&f, vec![pv(None, "3")]).is_empty());
        assert_eq!(
            k.delete(&f, pv(None, "4")).unwrap().change,
            ChangeType::Deleted
        );
        assert!(
            k.delete(&f, pv(None, "4")).is_none(),
            "no longer known, no longer matching"
        );
    }
}
