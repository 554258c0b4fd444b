//! `ocpdr-forwarder nfs-watch`: the data-change watcher on the primary NFS server.
//!
//! Kubernetes object events do not fire when a VM writes to its disk; this mode does. It watches
//! the export roots ([`source`]: fanotify filesystem marks, inotify as the fallback), maps each
//! changed path to its volume with the volume map the periodic sync writes ([`volume_map`]),
//! debounces per volume ([`debounce`]) and sends one `VolumeData` event per burst ([`event`])
//! through the forwarder's delivery path (outbox, workers, auth, TLS, retries, metrics), at least
//! once: bursts are journalled until acknowledged ([`journal`]).
//!
//! Pure and unit-tested: [`volume_map`], [`debounce`], [`event`], [`config`], the fanotify record
//! parser. Edges: [`fanotify`], [`inotify`], [`journal`]; wiring: [`app`].

pub mod app;
pub mod config;
pub mod debounce;
pub mod event;
pub mod fanotify;
pub mod inotify;
pub mod journal;
pub mod metrics;
pub mod source;
pub mod volume_map;
