"""What the AAP-as-code tests run configure_aap.yml with: the fakes' URLs and tokens, test
secrets (each one distinctive, so a test can prove it never reaches any output), and the rulebook's
job template names read from rulebooks/ocp_dr_events.yml."""

from __future__ import annotations

import yaml
from conftest import CONTROLLER_TOKEN, EDA_TOKEN, PROJECT_URL

from harness import paths
from harness.ansible import PlaybookRun, run_playbook

PLAYBOOK = paths.REPO / "playbooks" / "aap" / "configure_aap.yml"
INVENTORY = paths.REPO / "inventory" / "hosts.ini"
RULEBOOK = paths.REPO / "rulebooks" / "ocp_dr_events.yml"
PLATFORM = paths.REPO / "playbooks" / "aap" / "vars" / "platform.yml"
NAMESPACES = ["app-ns1", "app-ns2"]

SECRETS = {
    "vault_aap_controller_token": CONTROLLER_TOKEN,
    "vault_aap_eda_token": EDA_TOKEN,
    "vault_aap_eda_controller_token": "eda-launch-token-51c8",
    "vault_eda_webhook_token": "webhook-token-a9e4",
    "vault_ocp_primary_api_key": "primary-api-key-0f6b",
    "vault_ocp_dr_api_key": "dr-api-key-e27c",
    "vault_oadp_s3_access_key": "s3-access-key-91d3",
    "vault_oadp_s3_secret_key": "s3-secret-key-c4a8",
    "vault_nfs_ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nnfs-ssh-key-77b2\n-----END OPENSSH PRIVATE KEY-----\n",
}


def extra_vars(controller, eda, **overrides) -> dict:
    """Everything site-specific for the fakes; the rest comes from inventory/group_vars/aap.yml."""
    return {
        **SECRETS,
        "aap_controller_host": controller.url,
        "aap_controller_validate_certs": False,
        "aap_eda_url": f"{eda.url}/api/eda/v1/",
        "aap_eda_validate_certs": False,
        "aap_project_scm_url": PROJECT_URL,
        "target_namespaces": NAMESPACES,
        "aap_forwarder_deploy": False,
        **overrides,
    }


def configure(controller, eda, check: bool = False, tags: list[str] | None = None, verbosity: int = 0,
              **overrides) -> PlaybookRun:
    """Runs configure_aap.yml with the repository's inventory (so group_vars/aap.yml applies)."""
    return run_playbook(PLAYBOOK, inventory=INVENTORY, extra_vars=extra_vars(controller, eda, **overrides),
                        check=check, diff=check, tags=tags, verbosity=verbosity)


class _AnsibleVarsLoader(yaml.SafeLoader):
    """Reads Ansible vars files: `!unsafe "{{ x }}"` is the literal string."""


_AnsibleVarsLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def platform_vars() -> dict:
    """playbooks/aap/vars/platform.yml as data."""
    return yaml.load(PLATFORM.read_text(), Loader=_AnsibleVarsLoader)  # noqa: S506 - a SafeLoader


def rulebook_job_templates() -> set[str]:
    """The names of the job templates the rulebook's actions launch."""
    rulesets = yaml.safe_load(RULEBOOK.read_text())
    return {
        rule["action"]["run_job_template"]["name"]
        for ruleset in rulesets
        for rule in ruleset["rules"]
        if "run_job_template" in rule.get("action", {})
    }


def recap(run: PlaybookRun) -> dict[str, int]:
    """The PLAY RECAP counters of localhost (ok, changed, failed, skipped, ...)."""
    line = next(l for l in run.stdout.splitlines() if l.startswith("localhost") and "changed=" in l)
    return {k: int(v) for k, v in (part.split("=") for part in line.split(":", 1)[1].split())}


def assert_no_secret(run: PlaybookRun) -> None:
    output = run.stdout + run.stderr
    for name, value in SECRETS.items():
        for piece in value.strip().splitlines():
            assert piece not in output or piece.startswith("-----"), f"{name} appears in the output"
