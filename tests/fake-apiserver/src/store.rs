//! The object store: every object by resource type, namespace and name, the global
//! resourceVersion counter, the watch history that resumes are served from, the ordered write
//! log behind `GET /_fake/history`, and the broadcast that live watches and controllers follow.
//!
//! All writes go through [`Store::commit`] under one lock, so resourceVersions are strictly
//! increasing in commit order, every write reaches history, log, journal and watchers exactly
//! once, and a watcher that subscribes under the lock misses nothing.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::persist::Journal;
use crate::resources::ResourceDef;
use crate::status::ApiError;

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects. Ordered like etcd
/// keys, which is the order lists return.
pub type ObjKey = (String, String);

/// What a write did, as a watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// Created.
    Added,
    /// Updated (including a deletionTimestamp being set).
    Modified,
    /// Removed.
    Deleted,
}

impl ChangeType {
    /// The watch event type string.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One committed write.
#[derive(Debug)]
pub struct Change {
    /// The resourceVersion the write produced.
    pub rv: u64,
    /// Added, modified or deleted.
    pub kind: ChangeType,
    /// `group/plural` of the object's type.
    pub storage: String,
    /// The object after the write (for deletes: its last state, with the delete's RV).
    pub object: Arc<Value>,
    /// The object before the write, for watchers whose selector it left.
    pub prev: Option<Arc<Value>>,
}

/// The retained changes a watch replays, and its live subscription.
pub type Resume = (Vec<Arc<Change>>, broadcast::Receiver<Arc<Change>>);

/// The current time as the API server writes timestamps.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The store's state; wrapped in a mutex by the server.
pub struct Store {
    rv: u64,
    tables: HashMap<String, BTreeMap<ObjKey, Arc<Value>>>,
    history: VecDeque<Arc<Change>>,
    history_size: usize,
    compacted_rv: u64,
    log: Vec<Value>,
    journal: Option<Journal>,
    tx: broadcast::Sender<Arc<Change>>,
}

/// The name of an object.
pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The namespace of an object, empty when cluster-scoped.
pub fn namespace_of(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl Store {
    /// An empty store (or the one loaded from a journal) keeping `history_size` watch events.
    pub fn new(
        history_size: usize,
        journal: Option<Journal>,
        loaded: Vec<(String, Value)>,
        rv: u64,
    ) -> Store {
        let (tx, _) = broadcast::channel(history_size.clamp(1024, 1 << 16));
        let mut tables: HashMap<String, BTreeMap<ObjKey, Arc<Value>>> = HashMap::new();
        for (storage, obj) in loaded {
            let key = (namespace_of(&obj).to_owned(), name_of(&obj).to_owned());
            tables
                .entry(storage)
                .or_default()
                .insert(key, Arc::new(obj));
        }
        Store {
            rv,
            tables,
            history: VecDeque::new(),
            history_size: history_size.max(1),
            compacted_rv: rv,
            log: Vec::new(),
            journal,
            tx,
        }
    }

    /// The latest resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch can resume from.
    pub fn compacted_rv(&self) -> u64 {
        self.compacted_rv
    }

    /// One object.
    pub fn get(&self, res: &ResourceDef, ns: &str, name: &str) -> Option<&Arc<Value>> {
        self.tables
            .get(&res.storage_key())?
            .get(&(ns.to_owned(), name.to_owned()))
    }

    /// Objects of a type after `after` (exclusive), in key order, optionally in one namespace.
    pub fn range<'a>(
        &'a self,
        res: &ResourceDef,
        ns: Option<&'a str>,
        after: Option<&'a ObjKey>,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a {
        let table = self.tables.get(&res.storage_key());
        let start = match (after, ns) {
            (Some(k), _) => std::ops::Bound::Excluded(k.clone()),
            (None, Some(ns)) => std::ops::Bound::Included((ns.to_owned(), String::new())),
            (None, None) => std::ops::Bound::Unbounded,
        };
        table
            .into_iter()
            .flat_map(move |t| t.range((start.clone(), std::ops::Bound::Unbounded)))
            .take_while(move |(k, _)| ns.is_none_or(|ns| k.0 == ns))
    }

    /// Whether any object of any type lives in namespace `ns`.
    pub fn namespace_has_objects(&self, ns: &str) -> bool {
        self.tables.values().any(|t| {
            t.range((ns.to_owned(), String::new())..)
                .next()
                .is_some_and(|(k, _)| k.0 == ns)
        })
    }

    /// Records a write: stamps the next resourceVersion, stores or removes the object, and
    /// feeds history, the write log, the journal and watchers. A journal failure leaves the
    /// store unchanged and is a 500.
    pub fn commit(
        &mut self,
        res: &ResourceDef,
        kind: ChangeType,
        mut obj: Value,
    ) -> Result<Arc<Value>, ApiError> {
        let rv = self.rv + 1;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let storage = res.storage_key();
        let key = (namespace_of(&obj).to_owned(), name_of(&obj).to_owned());
        if let Some(j) = self.journal.as_mut() {
            j.record(rv, &storage, kind == ChangeType::Deleted, &obj)
                .map_err(|e| ApiError::internal(format!("cannot write the state journal: {e}")))?;
        }
        self.rv = rv;
        let obj = Arc::new(obj);
        let table = self.tables.entry(storage.clone()).or_default();
        let prev = if kind == ChangeType::Deleted {
            table.remove(&key)
        } else {
            table.insert(key.clone(), obj.clone())
        };
        self.log.push(json!({
            "seq": self.log.len() as u64 + 1,
            "type": kind.as_str(),
            "apiVersion": obj.get("apiVersion").cloned().unwrap_or(Value::Null),
            "kind": obj.get("kind").cloned().unwrap_or(Value::Null),
            "namespace": key.0,
            "name": key.1,
            "uid": obj.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
            "resourceVersion": rv.to_string(),
        }));
        let change = Arc::new(Change {
            rv,
            kind,
            storage,
            object: obj.clone(),
            prev,
        });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_size {
            if let Some(old) = self.history.pop_front() {
                self.compacted_rv = old.rv;
            }
        }
        // No receivers is fine: nobody watches.
        let _ = self.tx.send(change);
        Ok(obj)
    }

    /// Subscribes to live changes and returns the retained changes after `rv`, atomically:
    /// nothing committed after `rv` is missed or duplicated. `Err` when `rv` is older than the
    /// retained history (the watch must answer 410 Expired).
    pub fn watch_from(&self, rv: u64) -> Result<Resume, ApiError> {
        if rv < self.compacted_rv {
            return Err(ApiError::expired(format!(
                "too old resource version: {rv} ({})",
                self.compacted_rv
            )));
        }
        let rx = self.tx.subscribe();
        let replay = self.history.iter().filter(|c| c.rv > rv).cloned().collect();
        Ok((replay, rx))
    }

    /// A live subscription from now on (controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    /// Forgets all watch history, as an etcd compaction would: the resourceVersion moves on
    /// by one (as if another resource had been written), so a resume or continue from any
    /// resourceVersion handed out so far gets 410, while a fresh list-then-watch works.
    pub fn expire_history(&mut self) {
        self.history.clear();
        self.rv += 1;
        self.compacted_rv = self.rv;
    }

    /// The write log entries with `seq > since`.
    pub fn log_since(&self, since: u64) -> &[Value] {
        let start = usize::try_from(since)
            .unwrap_or(usize::MAX)
            .min(self.log.len());
        &self.log[start..]
    }

    /// Rewrites the state directory as one snapshot (start-up and shutdown).
    pub fn compact_journal(&mut self) -> anyhow::Result<()> {
        let rv = self.rv;
        let tables = &self.tables;
        if let Some(j) = self.journal.as_mut() {
            j.compact(rv, tables)?;
        }
        Ok(())
    }
}
