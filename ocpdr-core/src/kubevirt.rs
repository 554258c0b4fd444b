//! Powering KubeVirt VirtualMachines on and off, and reading whether they run.
//!
//! A VM says whether it should run in `spec.runStrategy` (`Always`, `Halted`, `Manual`,
//! `RerunOnFailure`, `Once`) or, on older clusters and manifests, in the deprecated boolean
//! `spec.running`. The API rejects a VM that sets both, so [`power_change`] patches
//! `spec.runStrategy` (to `Always` or `Halted`) except where a VM still uses `spec.running`, and
//! then patches only that. Whether a VM actually runs is told by its VirtualMachineInstance: it
//! runs when the VMI's phase is `Running`, and it is stopped once the VMI is gone.

use crate::object::{ObjectRef, str_at};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The power state asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    /// The VM runs: its VMI is `Running`.
    Running,
    /// The VM is off: it has no VMI.
    Stopped,
}

/// Which field says whether the VM should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PowerField {
    /// `spec.runStrategy`.
    #[serde(rename = "runStrategy")]
    RunStrategy,
    /// The deprecated `spec.running`.
    #[serde(rename = "running")]
    Running,
}

/// What [`power_change`] decided for one VM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerChange {
    /// The VM.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// The field that is (or would be) patched.
    pub field: PowerField,
    /// Its value before: a run strategy name, or a boolean for `running`.
    pub previous: Value,
    /// Its value after.
    pub current: Value,
    /// The JSON merge patch to send, `None` when the VM is already as asked.
    #[serde(skip)]
    pub patch: Option<Value>,
}

/// Why a VM cannot be powered on or off by patching it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The VM sets both fields, which the API does not allow; patching either keeps it invalid.
    #[error(
        "{vm} sets both spec.running and spec.runStrategy, which KubeVirt rejects as mutually \
         exclusive; remove spec.running from it first"
    )]
    BothFields {
        /// The VM.
        vm: String,
    },
}

/// Run strategies under which a VM runs without further requests.
const RUNNING_STRATEGIES: &[&str] = &["Always", "RerunOnFailure"];

/// Decides how to bring `vm` into `desired` state.
///
/// ```
/// use ocpdr_core::kubevirt::{power_change, PowerState};
/// let vm = serde_json::json!({"kind": "VirtualMachine", "metadata": {"name": "db", "namespace": "app"},
///                             "spec": {"runStrategy": "Always"}});
/// let change = power_change(&vm, PowerState::Stopped)?;
/// assert_eq!(change.patch, Some(serde_json::json!({"spec": {"runStrategy": "Halted"}})));
/// assert!(power_change(&vm, PowerState::Running)?.patch.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn power_change(vm: &Value, desired: PowerState) -> Result<PowerChange, Error> {
    let object = ObjectRef::of(vm);
    let running = vm.pointer("/spec/running").and_then(Value::as_bool);
    let strategy = str_at(vm, &["spec", "runStrategy"]);
    let (field, previous, current) = match (running, strategy) {
        (Some(_), Some(_)) => {
            return Err(Error::BothFields {
                vm: object.to_string(),
            });
        }
        (Some(running), None) => (
            PowerField::Running,
            json!(running),
            json!(desired == PowerState::Running),
        ),
        (None, strategy) => {
            // Neither field means Halted (KubeVirt's `VirtualMachine.RunStrategy()`).
            let before = strategy.unwrap_or("Halted");
            let after = match desired {
                PowerState::Running if RUNNING_STRATEGIES.contains(&before) => before,
                PowerState::Running => "Always",
                PowerState::Stopped => "Halted",
            };
            (PowerField::RunStrategy, json!(before), json!(after))
        }
    };
    let patch = (previous != current).then(|| match field {
        PowerField::Running => json!({"spec": {"running": current}}),
        PowerField::RunStrategy => json!({"spec": {"runStrategy": current}}),
    });
    Ok(PowerChange {
        object,
        field,
        previous,
        current,
        patch,
    })
}

/// What a VM and its VMI say about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmStatus {
    /// The VM.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// The effective run strategy (`spec.running` mapped to `Always`/`Halted`).
    pub run_strategy: String,
    /// `status.printableStatus` of the VM (`Running`, `Stopped`, `Starting`, ...), if set.
    pub printable_status: Option<String>,
    /// `status.ready` of the VM.
    pub ready: bool,
    /// `status.phase` of the VMI, `None` when there is no VMI.
    pub vmi_phase: Option<String>,
    /// Whether the VM runs: its VMI's phase is `Running`.
    pub running: bool,
}

impl VmStatus {
    /// Whether the VM is in `state`: running, or stopped (no VMI left).
    pub fn is(&self, state: PowerState) -> bool {
        match state {
            PowerState::Running => self.running,
            PowerState::Stopped => self.vmi_phase.is_none(),
        }
    }

    /// One line for messages: `VirtualMachine app/db (printableStatus Starting, VMI phase
    /// Scheduling)`.
    pub fn summary(&self) -> String {
        let vmi = match &self.vmi_phase {
            Some(phase) => format!("VMI phase {phase}"),
            None => "no VMI".to_owned(),
        };
        format!(
            "{} (printableStatus {}, {vmi})",
            self.object,
            self.printable_status.as_deref().unwrap_or("unknown")
        )
    }
}

/// Reads the status of `vm` from it and its VMI (`None` when it has none).
pub fn vm_status(vm: &Value, vmi: Option<&Value>) -> VmStatus {
    let run_strategy = match vm.pointer("/spec/running").and_then(Value::as_bool) {
        Some(true) => "Always",
        Some(false) => "Halted",
        None => str_at(vm, &["spec", "runStrategy"]).unwrap_or("Halted"),
    };
    let vmi_phase = vmi.map(|vmi| {
        str_at(vmi, &["status", "phase"])
            .unwrap_or("Pending")
            .to_owned()
    });
    VmStatus {
        object: ObjectRef::of(vm),
        run_strategy: run_strategy.to_owned(),
        printable_status: str_at(vm, &["status", "printableStatus"]).map(str::to_owned),
        ready: vm
            .pointer("/status/ready")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        running: vmi_phase.as_deref() == Some("Running"),
        vmi_phase,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(spec: Value) -> Value {
        json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "vm1", "namespace": "app"}, "spec": spec})
    }

    #[test]
    fn run_strategy_is_patched_to_halted_or_always() {
        let c = power_change(&vm(json!({"runStrategy": "Always"})), PowerState::Stopped).unwrap();
        assert_eq!(c.field, PowerField::RunStrategy);
        assert_eq!((c.previous, c.current), (json!("Always"), json!("Halted")));
        assert_eq!(c.patch, Some(json!({"spec": {"runStrategy": "Halted"}})));

        let c = power_change(&vm(json!({"runStrategy": "Halted"})), PowerState::Running).unwrap();
        assert_eq!(c.patch, Some(json!({"spec": {"runStrategy": "Always"}})));

        for strategy in ["Manual", "Once", "RerunOnFailure"] {
            let c = power_change(&vm(json!({"runStrategy": strategy})), PowerState::Stopped);
            assert_eq!(
                c.unwrap().patch,
                Some(json!({"spec": {"runStrategy": "Halted"}}))
            );
        }
        for strategy in ["Manual", "Once"] {
            let c = power_change(&vm(json!({"runStrategy": strategy})), PowerState::Running);
            assert_eq!(
                c.unwrap().patch,
                Some(json!({"spec": {"runStrategy": "Always"}}))
            );
        }
    }

    #[test]
    fn a_vm_already_in_state_is_not_patched() {
        for (spec, state) in [
            (json!({"runStrategy": "Always"}), PowerState::Running),
            (
                json!({"runStrategy": "RerunOnFailure"}),
                PowerState::Running,
            ),
            (json!({"runStrategy": "Halted"}), PowerState::Stopped),
            (json!({}), PowerState::Stopped),
            (json!({"running": true}), PowerState::Running),
            (json!({"running": false}), PowerState::Stopped),
        ] {
            let c = power_change(&vm(spec.clone()), state).unwrap();
            assert_eq!(c.patch, None, "{spec} {state:?}");
        }
    }

    #[test]
    fn a_legacy_vm_gets_only_running_patched() {
        let c = power_change(&vm(json!({"running": true})), PowerState::Stopped).unwrap();
        assert_eq!(c.field, PowerField::Running);
        assert_eq!((c.previous, c.current), (json!(true), json!(false)));
        assert_eq!(c.patch, Some(json!({"spec": {"running": false}})));
        let c = power_change(&vm(json!({"running": false})), PowerState::Running).unwrap();
        assert_eq!(c.patch, Some(json!({"spec": {"running": true}})));
    }

    #[test]
    fn a_vm_without_either_field_is_started_with_run_strategy() {
        let c = power_change(&vm(json!({})), PowerState::Running).unwrap();
        assert_eq!(c.previous, json!("Halted"));
        assert_eq!(c.patch, Some(json!({"spec": {"runStrategy": "Always"}})));
    }

    #[test]
    fn both_fields_is_refused() {
        let err = power_change(
            &vm(json!({"running": true, "runStrategy": "Always"})),
            PowerState::Stopped,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("VirtualMachine app/vm1 sets both")
        );
    }

    #[test]
    fn status_comes_from_the_vmi() {
        let mut v = vm(json!({"running": true}));
        v["status"] = json!({"printableStatus": "Running", "ready": true});
        let vmi = json!({"status": {"phase": "Running"}});
        let s = vm_status(&v, Some(&vmi));
        assert_eq!(s.run_strategy, "Always");
        assert!(s.running && s.ready && s.is(PowerState::Running) && !s.is(PowerState::Stopped));
        let s = vm_status(&vm(json!({"runStrategy": "Always"})), Some(&json!({})));
        assert_eq!(s.vmi_phase.as_deref(), Some("Pending"));
        assert!(!s.running);
        assert_eq!(
            s.summary(),
            "VirtualMachine app/vm1 (printableStatus unknown, VMI phase Pending)"
        );
        let s = vm_status(&vm(json!({})), None);
        assert_eq!(s.run_strategy, "Halted");
        assert_eq!(
            s.summary(),
            "VirtualMachine app/vm1 (printableStatus unknown, no VMI)"
        );
        assert!(s.is(PowerState::Stopped) && !s.ready);
    }
}
