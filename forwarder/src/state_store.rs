//! The Kubernetes edge of the saved state: the acknowledged state shared by the delivery
//! workers ([`Delivered`]) and its load/save to the `STATE_CONFIGMAP` ConfigMap ([`Store`]).
//!
//! Saving uses a JSON merge patch of `binaryData` only, so labels and other keys an operator put
//! on the ConfigMap stay; the role creates the ConfigMap so the forwarder needs only get and
//! patch on that one name. If it is missing anyway, the forwarder creates it.

use crate::config::StateRef;
use crate::payload::Change;
use crate::state::{self, CONFIGMAP_KEY, Snapshot};
use base64::Engine;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The acknowledged state, updated by the delivery workers, saved periodically.
pub struct Delivered {
    snapshot: Mutex<Snapshot>,
    dirty: AtomicBool,
}

impl Delivered {
    /// Starts from `snapshot` (loaded, or empty).
    pub fn new(snapshot: Snapshot) -> Self {
        Delivered {
            snapshot: Mutex::new(snapshot),
            dirty: AtomicBool::new(false),
        }
    }

    /// Records a change the webhook acknowledged.
    pub fn record(&self, change: &Change) {
        self.snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(change);
        self.dirty.store(true, Ordering::Release);
    }

    /// A copy to save, if anything changed since the last call.
    pub fn take_dirty(&self) -> Option<Snapshot> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return None;
        }
        Some(
            self.snapshot
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }

    /// A save failed: try again next time.
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }
}

/// Why the saved state could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The API refused or failed.
    #[error("cannot read ConfigMap {configmap}: {source}")]
    Read {
        /// `namespace/name`.
        configmap: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The ConfigMap holds something this forwarder cannot read.
    #[error("ConfigMap {configmap} key {CONFIGMAP_KEY}: {source}")]
    Decode {
        /// `namespace/name`.
        configmap: String,
        /// What is wrong with it.
        #[source]
        source: state::Error,
    },
}

/// The `STATE_CONFIGMAP` ConfigMap.
pub struct Store {
    api: Api<ConfigMap>,
    reference: StateRef,
}

impl Store {
    /// The ConfigMap `reference`, through `client`.
    pub fn new(client: Client, reference: StateRef) -> Self {
        Store {
            api: Api::namespaced(client, &reference.namespace),
            reference,
        }
    }

    /// `namespace/name`, for messages.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.reference.namespace, self.reference.name)
    }

    /// The saved state; `None` when the ConfigMap or its key does not exist yet.
    pub async fn load(&self) -> Result<Option<Snapshot>, LoadError> {
        let cm = self
            .api
            .get_opt(&self.reference.name)
            .await
            .map_err(|source| LoadError::Read {
                configmap: self.describe(),
                source,
            })?;
        let Some(bytes) = cm
            .and_then(|cm| cm.binary_data)
            .and_then(|mut d| d.remove(CONFIGMAP_KEY))
        else {
            return Ok(None);
        };
        Snapshot::decode(&bytes.0)
            .map(Some)
            .map_err(|source| LoadError::Decode {
                configmap: self.describe(),
                source,
            })
    }

    /// Saves an encoded state.
    pub async fn save(&self, encoded: &[u8]) -> Result<(), kube::Error> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(encoded);
        let patch = json!({"binaryData": {CONFIGMAP_KEY: b64}});
        let result = self
            .api
            .patch(
                &self.reference.name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.is_not_found() => {
                let cm: ConfigMap = serde_json::from_value(json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": self.reference.name,
                        "namespace": self.reference.namespace,
                        "labels": {"app.kubernetes.io/name": "ocpdr-forwarder"},
                    },
                    "binaryData": {CONFIGMAP_KEY: b64},
                }))
                .expect("a valid ConfigMap");
                self.api
                    .create(&PostParams::default(), &cm)
                    .await
                    .map(|_| ())
            }
            Err(e) => Err(e),
        }
    }
}
