//! `vm_power` and `vm_status` against a fake cluster running the KubeVirt VM controller.

use crate::fake::{Site, namespace, vm};
use crate::util::run;
use serde_json::{Value, json};

fn vmi(site: &Site, name: &str) -> Option<Value> {
    site.get(&format!(
        "/apis/kubevirt.io/v1/namespaces/app/virtualmachineinstances/{name}"
    ))
}

fn spec(site: &Site, name: &str) -> Value {
    site.get(&format!(
        "/apis/kubevirt.io/v1/namespaces/app/virtualmachines/{name}"
    ))
    .unwrap()["spec"]
        .clone()
}

fn running_site() -> Site {
    let site = Site::start();
    site.create(&[namespace("app")]);
    site.create(&[
        vm("app", "current", json!({"runStrategy": "Always"})),
        vm("app", "legacy", json!({"running": true})),
        vm("app", "off", json!({"runStrategy": "Halted"})),
    ]);
    site.wait_until("both VMs run", |s| {
        ["current", "legacy"]
            .iter()
            .all(|n| vmi(s, n).is_some_and(|v| v["status"]["phase"] == "Running"))
    });
    site
}

#[test]
fn stops_vms_with_run_strategy_and_a_legacy_vm_with_running_only() {
    let site = running_site();
    let r = run(
        "vm_power",
        &site.args(json!({"namespaces": ["app"], "state": "stopped", "wait": true})),
    );
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    let vms = r.json["vms"].as_array().unwrap();
    let summary: Vec<Value> = vms
        .iter()
        .map(|v| {
            json!([
                v["name"],
                v["field"],
                v["previous"],
                v["current"],
                v["changed"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!(["current", "runStrategy", "Always", "Halted", true]),
            json!(["legacy", "running", true, false, true]),
            json!(["off", "runStrategy", "Halted", "Halted", false]),
        ]
    );
    assert!(
        vms.iter().all(|v| v["vmi_phase"].is_null()),
        "waited until the VMIs were gone"
    );
    assert!(vmi(&site, "current").is_none() && vmi(&site, "legacy").is_none());
    assert_eq!(spec(&site, "current")["runStrategy"], "Halted");
    assert!(spec(&site, "current").get("running").is_none());
    assert_eq!(spec(&site, "legacy")["running"], false);
    assert!(
        spec(&site, "legacy").get("runStrategy").is_none(),
        "never both fields"
    );

    let again = run(
        "vm_power",
        &site.args(json!({"namespaces": ["app"], "state": "stopped"})),
    );
    again.assert_ok();
    assert_eq!(again.json["changed"], false);
}

#[test]
fn starts_named_vms_and_check_mode_patches_nothing() {
    let site = running_site();
    let mut args = site.args(json!({"namespaces": ["app"], "names": ["off"], "state": "running"}));
    args["_ansible_check_mode"] = json!(true);
    let r = run("vm_power", &args);
    r.assert_ok();
    assert_eq!(r.json["changed"], true);
    assert_eq!(spec(&site, "off")["runStrategy"], "Halted");

    let r = run(
        "vm_power",
        &site.args(
            json!({"namespaces": ["app"], "names": ["off"], "state": "running", "wait": true}),
        ),
    );
    r.assert_ok();
    assert_eq!(r.json["vms"][0]["current"], "Always");
    assert_eq!(r.json["vms"][0]["vmi_phase"], "Running");

    let r = run(
        "vm_power",
        &site.args(json!({"namespaces": ["app"], "names": ["off", "ghost"], "state": "running"})),
    );
    r.assert_failed();
    assert_eq!(
        r.msg(),
        "VirtualMachine(s) not found in namespace(s) app: ghost"
    );
}

#[test]
fn vm_status_times_out_listing_the_vm_that_never_ran() {
    let site = Site::start();
    site.create(&[namespace("app")]);
    // Manual: nobody starts it, so it never runs.
    site.create(&[
        vm("app", "web", json!({"runStrategy": "Always"})),
        vm("app", "stuck", json!({"runStrategy": "Manual"})),
    ]);
    let r = run(
        "vm_status",
        &site.args(json!({"namespaces": ["app"], "wait_for": "running", "wait_timeout": 3})),
    );
    r.assert_failed();
    assert_eq!(r.json["not_running"], json!(["app/stuck"]));
    let msg = r.msg();
    assert!(
        msg.starts_with("1 of 2 VirtualMachine(s) not running after 3s: VirtualMachine app/stuck"),
        "{msg}"
    );
    let web = &r.json["vms"][1];
    assert_eq!(
        (web["name"].as_str(), web["running"].as_bool()),
        (Some("web"), Some(true))
    );

    let now = run(
        "vm_status",
        &site.args(json!({"namespaces": ["app"], "names": ["web"]})),
    );
    now.assert_ok();
    assert_eq!(now.json["vms"][0]["vmi_phase"], "Running");
    assert_eq!(now.json["vms"][0]["printable_status"], "Running");
    assert_eq!(now.json["not_running"], json!([]));
}
