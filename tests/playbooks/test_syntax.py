"""Every playbook passes `ansible-playbook --syntax-check` against the production example
inventory, and every rulebook loads as ansible-rulebook loads it (its JSON schema, then its rule
parser, which compiles each condition) and passes the EDA controller's import rules: every rule
has a name, a condition and an action, names unique within the ruleset."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from harness import paths
from harness.ansible import ansible_env



class _AnsibleYaml(yaml.SafeLoader):
    """Reads Ansible YAML: its `!unsafe` and `!vault` tags are kept as plain strings."""


for _tag in ("!unsafe", "!vault"):
    _AnsibleYaml.add_constructor(_tag, lambda loader, node: loader.construct_scalar(node))


def _is_playbook(path: Path) -> bool:
    """Plays have `hosts` or import a playbook; task files included by one (e.g.
    manual_dr/step.yml, aap/tasks/*.yml) and vars files are not plays."""
    data = yaml.load(path.read_text(), Loader=_AnsibleYaml)  # noqa: S506 - a SafeLoader subclass
    return isinstance(data, list) and any(
        isinstance(play, dict) and ("hosts" in play or "ansible.builtin.import_playbook" in play) for play in data
    )


PLAYBOOKS = sorted(p for p in (paths.REPO / "playbooks").rglob("*.yml") if _is_playbook(p))
RULEBOOKS = sorted((paths.REPO / "rulebooks").glob("*.yml"))


def test_the_tree_has_the_seed_playbooks():
    names = {str(p.relative_to(paths.REPO / "playbooks")) for p in PLAYBOOKS}
    assert {
        "event_driven/handle_resource_sync.yml",
        "event_driven/handle_resource_delete.yml",
        "event_driven/handle_nfs_pv_sync.yml",
        "event_driven/handle_nfs_pv_delete.yml",
        "event_driven/handle_snapshot_sync.yml",
        "event_driven/handle_snapshot_delete.yml",
        "scheduled/execute_periodic_sync.yml",
        "manual_dr/execute_failover.yml",
    } <= names


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: str(p.relative_to(paths.REPO)))
def test_syntax_check(playbook: Path, collection):
    check = subprocess.run(
        [str(paths.venv_bin("ansible-playbook")), "--syntax-check", "-i", str(paths.REPO / "inventory"), str(playbook)],
        cwd=paths.REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("rulebook", RULEBOOKS, ids=lambda p: p.name)
def test_rulebook_loads_and_passes_import_rules(rulebook: Path, monkeypatch):
    # The parser looks collections up with ansible-galaxy, from the venv.
    monkeypatch.setenv("PATH", ansible_env()["PATH"])
    from ansible_rulebook import rules_parser
    from ansible_rulebook.validators import Validate

    data = yaml.safe_load(rulebook.read_text())
    Validate.rulebook(data)
    variables = {"watched_namespaces": ["app-ns1"], "eda_webhook_token": "t"}
    rulesets = rules_parser.parse_rule_sets(data, variables)
    assert rulesets
    for ruleset in data:
        names = [rule.get("name") for rule in ruleset["rules"]]
        assert len(names) == len(set(names)), f"{rulebook.name}: duplicate rule names {names}"
        for rule in ruleset["rules"]:
            assert rule.get("name") and rule.get("condition") and rule.get("action"), rule


def test_both_rulebooks_have_the_same_rules():
    """The AAP and the local rulebook must not drift apart: same names, same conditions."""
    aap, local = (yaml.safe_load((paths.REPO / "rulebooks" / f).read_text())[0]["rules"]
                  for f in ("ocp_dr_events.yml", "ocp_dr_events_local.yml"))
    assert [(r["name"], r["condition"], r.get("throttle")) for r in aap] == [
        (r["name"], r["condition"], r.get("throttle")) for r in local
    ]
