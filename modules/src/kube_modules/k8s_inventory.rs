//! `ocpdr.dr.k8s_inventory`: list the PVCs, PVs, VolumeSnapshots and VolumeSnapshotContents of
//! namespaces and pair them, in one task.
//!
//! Every LIST runs concurrently; pairing and selection are [`ocpdr_core::inventory`]. Read-only:
//! `changed` is always false and check mode behaves the same.

use crate::kube::errors::Cause;
use crate::kube::{Cluster, Kind, KubeError, block_on, concurrently};
use crate::{Context, Failure, Module, Outcome};
use ocpdr_core::inventory::{self, Inventory, Listed, Selection, Unbound};
use serde::Deserialize;
use serde_json::{Value, json};

/// The kinds this module lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum InventoryKind {
    PersistentVolumeClaim,
    PersistentVolume,
    VolumeSnapshot,
    VolumeSnapshotContent,
}

impl InventoryKind {
    fn kind(self) -> Kind {
        Kind::known(match self {
            InventoryKind::PersistentVolumeClaim => "PersistentVolumeClaim",
            InventoryKind::PersistentVolume => "PersistentVolume",
            InventoryKind::VolumeSnapshot => "VolumeSnapshot",
            InventoryKind::VolumeSnapshotContent => "VolumeSnapshotContent",
        })
    }
}

fn all_kinds() -> Vec<InventoryKind> {
    vec![
        InventoryKind::PersistentVolumeClaim,
        InventoryKind::PersistentVolume,
        InventoryKind::VolumeSnapshot,
        InventoryKind::VolumeSnapshotContent,
    ]
}

crate::kube_options! {
    /// The module's options, as the sidecar documentation describes them.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Options {
        #[serde(default)]
        namespaces: Vec<String>,
        #[serde(default = "all_kinds")]
        kinds: Vec<InventoryKind>,
        #[serde(default)]
        label_selector: Option<String>,
        #[serde(default)]
        all_pvs: bool,
        #[serde(default)]
        all_snapshot_contents: bool,
    }
}

/// At most this many unbound objects are named in the warning (all are in `unbound`).
const WARN_NAMES: usize = 10;

/// The module `ocpdr.dr.k8s_inventory`.
pub struct K8sInventory;

impl Module for K8sInventory {
    type Options = Options;
    const SECRETS: &'static [&'static str] = &["/api_key"];

    fn run(options: Options, _ctx: &Context) -> Result<Outcome, Failure> {
        block_on(inventory(options))
    }
}

/// One LIST to run: which kind, which namespace (`None`: all or cluster-scoped).
struct Listing {
    kind: InventoryKind,
    namespace: Option<String>,
}

async fn inventory(options: Options) -> Result<Outcome, Failure> {
    let cluster = Cluster::connect(options.connection()).await?;
    let mut namespaces = options.namespaces.clone();
    namespaces.sort();
    namespaces.dedup();
    let mut kinds = options.kinds.clone();
    kinds.dedup();

    let mut listings = Vec::new();
    for &kind in &kinds {
        if kind.kind().namespaced && !namespaces.is_empty() {
            listings.extend(namespaces.iter().map(|ns| Listing {
                kind,
                namespace: Some(ns.clone()),
            }));
        } else {
            listings.push(Listing {
                kind,
                namespace: None,
            });
        }
    }
    let selector = options.label_selector.as_deref();
    let results = concurrently(listings, |listing| {
        let cluster = &cluster;
        async move {
            let kind = listing.kind.kind();
            // Selectors pick claims and snapshots; volumes and contents follow their bindings.
            let selector = selector.filter(|_| kind.namespaced);
            let items = cluster
                .list(&kind, listing.namespace.as_deref(), selector)
                .await;
            (listing.kind, items)
        }
    })
    .await;

    let mut listed = Listed::default();
    let mut warnings = Vec::new();
    for (kind, items) in results {
        let items = match items {
            Ok(items) => items,
            Err(err) if not_served(&err) => {
                let message = format!(
                    "the API server at {} does not serve {} (are the CRDs installed?): none listed",
                    cluster.host(),
                    kind.kind()
                );
                if !warnings.contains(&message) {
                    warnings.push(message);
                }
                Vec::new()
            }
            Err(err) => return Err(err.into()),
        };
        let slot = match kind {
            InventoryKind::PersistentVolumeClaim => &mut listed.pvcs,
            InventoryKind::PersistentVolume => &mut listed.pvs,
            InventoryKind::VolumeSnapshot => &mut listed.volumesnapshots,
            InventoryKind::VolumeSnapshotContent => &mut listed.volumesnapshotcontents,
        };
        slot.get_or_insert_with(Vec::new).extend(items);
    }

    let inventory = inventory::build(
        listed,
        Selection {
            all_pvs: options.all_pvs,
            all_snapshot_contents: options.all_snapshot_contents,
        },
    );
    let mut outcome = Outcome::new(false);
    for warning in warnings {
        outcome = outcome.warn(warning);
    }
    if !inventory.unbound.is_empty() {
        outcome = outcome.warn(unbound_warning(&inventory.unbound));
    }
    Ok(with_inventory(outcome, inventory))
}

/// A LIST of a kind the server does not know answers 404.
fn not_served(err: &KubeError) -> bool {
    err.is_not_found() || matches!(err.cause, Cause::NotServed(_))
}

fn unbound_warning(unbound: &[Unbound]) -> String {
    let mut names: Vec<String> = unbound
        .iter()
        .take(WARN_NAMES)
        .map(|u| format!("{} ({})", u.object, u.reason))
        .collect();
    if unbound.len() > WARN_NAMES {
        names.push(format!("and {} more", unbound.len() - WARN_NAMES));
    }
    format!(
        "{} object(s) have no PersistentVolume or VolumeSnapshotContent yet: {}",
        unbound.len(),
        names.join(", ")
    )
}

fn with_inventory(outcome: Outcome, inventory: Inventory) -> Outcome {
    let counts = json!({
        "pvcs": inventory.pvcs.len(),
        "pvs": inventory.pvs.len(),
        "volumesnapshots": inventory.volumesnapshots.len(),
        "volumesnapshotcontents": inventory.volumesnapshotcontents.len(),
        "pairs": inventory.pairs.len(),
        "snapshot_pairs": inventory.snapshot_pairs.len(),
        "unbound": inventory.unbound.len(),
    });
    let Inventory {
        pvcs,
        pvs,
        volumesnapshots,
        volumesnapshotcontents,
        pairs,
        snapshot_pairs,
        unbound,
    } = inventory;
    outcome
        .with("pvcs", Value::Array(pvcs))
        .with("pvs", Value::Array(pvs))
        .with("volumesnapshots", Value::Array(volumesnapshots))
        .with(
            "volumesnapshotcontents",
            Value::Array(volumesnapshotcontents),
        )
        .with("pairs", pairs)
        .with("snapshot_pairs", snapshot_pairs)
        .with("unbound", unbound)
        .with("counts", counts)
}
