//! Just enough controllers for the lab to behave like a cluster: PV/PVC binding, KubeVirt
//! VM → VMI, VolumeSnapshot readiness, Velero restores. They follow the same change
//! broadcast as watches and write through the same verbs as clients, so every status change
//! they make is a real, watchable write. Each is switched on or off by [`crate::Controllers`].

mod pv_binding;
mod restore_items;
mod restores;
mod snapshots;
mod vm;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::ops::{DeleteOpts, WriteOpts};
use crate::patch::PatchType;
use crate::resources::ResourceDef;
use crate::server::Shared;
use crate::store::{Change, name_of, namespace_of};

/// Shared by the controllers: the server, and the objects (by uid) that already have a delayed
/// step scheduled, so a step is scheduled once.
#[derive(Clone)]
struct Ctx {
    sh: Arc<Shared>,
    scheduled: Arc<Mutex<HashSet<String>>>,
}

impl Ctx {
    fn def(&self, group: &str, version: &str, plural: &str) -> Arc<ResourceDef> {
        self.sh
            .cluster
            .registry
            .find(group, version, plural)
            .cloned()
            .unwrap_or_else(|| panic!("{group}/{version}/{plural} is built in"))
    }

    fn get(&self, res: &ResourceDef, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.sh.cluster.get(res, ns, name).ok()
    }

    fn all(&self, res: &ResourceDef) -> Vec<Arc<Value>> {
        self.sh
            .cluster
            .lock()
            .range(res, None, None)
            .map(|(_, o)| o.clone())
            .collect()
    }

    fn opts(manager: &str, status: bool) -> WriteOpts {
        WriteOpts {
            manager: manager.to_owned(),
            status,
            ..WriteOpts::default()
        }
    }

    /// Merge-patches an object (or its status). Failures (the object changed or went away
    /// meanwhile) are dropped: the resulting change event reconciles again.
    fn patch(&self, res: &ResourceDef, obj: &Value, manager: &str, status: bool, patch: &Value) {
        let body = serde_json::to_vec(patch).expect("serializes");
        let _ = self.sh.cluster.patch(
            res,
            namespace_of(obj),
            name_of(obj),
            PatchType::Merge,
            &body,
            &Ctx::opts(manager, status),
        );
    }

    fn create(&self, res: &ResourceDef, ns: &str, obj: Value, manager: &str) {
        let _ = self
            .sh
            .cluster
            .create(res, ns, obj, &Ctx::opts(manager, false));
    }

    fn delete(&self, res: &ResourceDef, ns: &str, name: &str) {
        let _ = self
            .sh
            .cluster
            .delete(res, ns, name, &DeleteOpts::default());
    }

    /// Runs `step` after `delay` unless one is already scheduled (or running) for `key`.
    fn after(
        &self,
        key: String,
        delay: std::time::Duration,
        step: impl FnOnce(Ctx) + Send + 'static,
    ) {
        if !self
            .scheduled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.clone())
        {
            return;
        }
        let ctx = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            step(ctx.clone());
            ctx.scheduled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&key);
        });
    }
}

fn uid(obj: &Value) -> &str {
    obj.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Starts the enabled controllers; they stop when `stop` turns true.
pub fn spawn(sh: Arc<Shared>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let c = sh.config.controllers.clone();
        if !(c.pv_binding || c.vm || c.snapshots || c.restores) {
            return;
        }
        let ctx = Ctx {
            sh: sh.clone(),
            scheduled: Arc::default(),
        };
        let mut rx = sh.cluster.lock().subscribe();
        resync(&ctx);
        loop {
            tokio::select! {
                received = rx.recv() => match received {
                    Ok(change) => dispatch(&ctx, &change),
                    Err(broadcast::error::RecvError::Lagged(_)) => resync(&ctx),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}

fn dispatch(ctx: &Ctx, change: &Change) {
    let c = &ctx.sh.config.controllers;
    if c.pv_binding {
        pv_binding::on_change(ctx, change);
    }
    if c.vm {
        vm::on_change(ctx, change);
    }
    if c.snapshots {
        snapshots::on_change(ctx, change);
    }
    if c.restores {
        restores::on_change(ctx, change);
    }
}

/// Reconciles everything (at start, e.g. after loading a state directory, and after falling
/// behind the broadcast).
fn resync(ctx: &Ctx) {
    let c = &ctx.sh.config.controllers;
    if c.pv_binding {
        pv_binding::resync(ctx);
    }
    if c.vm {
        vm::resync(ctx);
    }
    if c.snapshots {
        snapshots::resync(ctx);
    }
    if c.restores {
        restores::resync(ctx);
    }
}
