//! ocpdr-forwarder: watches PersistentVolume, PersistentVolumeClaim, VolumeSnapshot and
//! VolumeSnapshotContent and POSTs one JSON payload per change to an EDA webhook, at least once.
//!
//! What it promises (DESIGN §4): no change is dropped while the webhook is down (a bounded queue
//! whose fullness pauses the watch, retries until a 2xx); changes of one object arrive in order;
//! a relist after `410 Gone`, and a restart with `STATE_CONFIGMAP`, produce the ADDED, MODIFIED
//! and DELETED that happened in the gap. What it does not promise: exactly once (a receiver may
//! see a change twice after a crash; `uid` + `resourceVersion` identify it), or the individual
//! intermediate states of an object that changed several times in a gap (only its latest state).
//!
//! The rules are pure and unit-tested: [`config`], [`filter`], [`object`], [`payload`], [`queue`],
//! [`known`] (the relist diff), [`state`], [`retry`], [`sign`]. The edges are thin: [`watch`]
//! (kube-rs), [`webhook`] (HTTP), [`state_store`] (the ConfigMap), [`probes`] (health and
//! metrics server), wired by [`app`].
//!
//! The same binary's `nfs-watch` mode ([`nfswatch`]) runs on the primary NFS server and sends
//! `VolumeData` events when volume data changes, through the same delivery path.

pub mod app;
pub mod config;
pub mod deliver;
pub mod filter;
pub mod kinds;
pub mod known;
pub mod metrics;
pub mod nfswatch;
pub mod object;
pub mod outbox;
pub mod payload;
pub mod probes;
pub mod queue;
pub mod retry;
pub mod sign;
pub mod state;
pub mod state_store;
pub mod watch;
pub mod webhook;
