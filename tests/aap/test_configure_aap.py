"""playbooks/aap/configure_aap.yml with real ansible-playbook and awx.awx against the fake
automation controller and the fake EDA controller: what a first run creates, that a second run
changes nothing, that check mode writes nothing and says what it would do, that a changed setting
updates objects in place (a running activation is stopped, patched and started again), that
`--tags` splits the two halves, and that no secret reaches any output."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import yaml
from aap_setup import NAMESPACES, SECRETS, assert_no_secret, configure, platform_vars, recap, rulebook_job_templates
from conftest import PROJECT_URL
from dateutil.rrule import rrulestr

# The playbook each template runs (the mapping; the playbooks live beside this one).
PLAYBOOKS = {
    "EDA - Sync PV to DR": "playbooks/event_driven/handle_nfs_pv_sync.yml",
    "EDA - Delete PV from DR": "playbooks/event_driven/handle_nfs_pv_delete.yml",
    "EDA - Sync PVC to DR": "playbooks/event_driven/handle_resource_sync.yml",
    "EDA - Delete PVC from DR": "playbooks/event_driven/handle_resource_delete.yml",
    "EDA - Sync VolumeSnapshot Metadata": "playbooks/event_driven/handle_snapshot_sync.yml",
    "EDA - Sync VSC Metadata": "playbooks/event_driven/handle_snapshot_sync.yml",
    "EDA - Delete VolumeSnapshot Metadata": "playbooks/event_driven/handle_snapshot_delete.yml",
    "EDA - Delete VSC Metadata": "playbooks/event_driven/handle_snapshot_delete.yml",
    "EDA - Sync Volume Data": "playbooks/event_driven/handle_volume_data.yml",
    "DR - Periodic sync": "playbooks/scheduled/execute_periodic_sync.yml",
    "DR - Execute failover": "playbooks/manual_dr/execute_failover.yml",
}
CLUSTERS_AND_NFS = {"ocpdr primary cluster", "ocpdr DR cluster", "ocpdr NFS hosts"}


def names(objects: list[dict]) -> set[str]:
    return {o["name"] for o in objects}


def test_rulebook_and_platform_name_the_same_job_templates():
    configured = {t["name"] for t in platform_vars()["aap_event_job_templates"]}
    assert configured == rulebook_job_templates()
    assert len(configured) == 9  # the seed's eight and the NFS change watcher's VolumeData


def test_first_run_creates_everything_and_the_second_changes_nothing(fake_controller, fake_eda):
    first = configure(fake_controller, fake_eda, verbosity=2).assert_ok()
    assert recap(first)["changed"] > 0
    assert_no_secret(first)

    # --- automation controller ---
    templates = {t["name"]: t for t in fake_controller.objects("job_templates")}
    assert set(templates) == set(PLAYBOOKS)
    event_templates = {n for n, t in templates.items() if t["playbook"].startswith("playbooks/event_driven/")}
    assert event_templates == rulebook_job_templates()
    project = fake_controller.find("projects", "ocpdr")
    inventory = fake_controller.find("inventories", "ocpdr")
    assert project["scm_type"] == "git" and project["scm_url"] == PROJECT_URL and project["scm_branch"] == "main"
    for name, template in templates.items():
        assert template["playbook"] == PLAYBOOKS[name], name
        assert template["project"] == project["id"] and template["inventory"] == inventory["id"], name
        creds = names(fake_controller.associated("job_templates", name, "credentials"))
        assert creds == (CLUSTERS_AND_NFS | {"ocpdr OADP S3"} if name == "DR - Execute failover" else CLUSTERS_AND_NFS)
        # The rulebook's extra_vars (resource_object, event_type) only arrive when the template prompts.
        assert template["ask_variables_on_launch"] is (name in event_templates), name
    assert json.loads(templates["DR - Periodic sync"]["extra_vars"]) == {"target_namespaces": NAMESPACES}

    source = fake_controller.find("inventory_sources", "ocpdr from project")
    assert (source["source"], source["source_project"], source["source_path"], source["inventory"]) == (
        "scm", project["id"], "inventory/hosts.ini", inventory["id"])

    # Credential types inject the variables group_vars/all.yml reads from the vault.
    ctypes = {t["name"]: t for t in fake_controller.objects("credential_types")}
    assert ctypes["ocpdr OpenShift primary cluster"]["injectors"] == {"extra_vars": {"vault_ocp_primary_api_key": "{{ api_key }}"}}
    assert ctypes["ocpdr OpenShift DR cluster"]["injectors"] == {"extra_vars": {"vault_ocp_dr_api_key": "{{ api_key }}"}}
    assert fake_controller.credential_secret("ocpdr primary cluster") == {"api_key": SECRETS["vault_ocp_primary_api_key"]}
    assert fake_controller.credential_secret("ocpdr OADP S3") == {
        "access_key": SECRETS["vault_oadp_s3_access_key"], "secret_key": SECRETS["vault_oadp_s3_secret_key"]}
    assert fake_controller.credential_secret("ocpdr NFS hosts") == {
        "username": "root", "ssh_key_data": SECRETS["vault_nfs_ssh_private_key"]}
    assert fake_controller.find("credentials", "ocpdr primary cluster")["inputs"] == {"api_key": "$encrypted$"}

    # The schedule: "0 * * * *", every hour on the hour.
    (schedule,) = fake_controller.objects("schedules")
    assert schedule["unified_job_template"] == templates["DR - Periodic sync"]["id"] and schedule["enabled"]
    rule = rrulestr(schedule["rrule"].replace(" RRULE:", "\nRRULE:"))
    start = datetime(2027, 3, 14, 9, 26, 53, tzinfo=timezone.utc)
    runs = [rule.after(start)]
    for _ in range(3):
        runs.append(rule.after(runs[-1]))
    assert all((r.minute, r.second) == (0, 0) for r in runs)
    assert [b - a for a, b in zip(runs, runs[1:])] == [timedelta(hours=1)] * 3

    # The one-click failover: a workflow running the failover template, with its survey.
    (workflow,) = fake_controller.objects("workflow_job_templates")
    assert workflow["name"] == "DR - One-click failover" and workflow["survey_enabled"]
    questions = {q["variable"]: q for q in fake_controller.survey("workflow_job_templates", workflow["name"])["spec"]}
    assert set(questions) == {"backup_name", "namespace"}
    assert questions["backup_name"]["required"] is False and questions["backup_name"]["default"] == ""
    assert questions["namespace"]["choices"] == NAMESPACES
    (node,) = fake_controller.objects("workflow_job_template_nodes")
    assert node["workflow_job_template"] == workflow["id"]
    assert node["unified_job_template"] == templates["DR - Execute failover"]["id"]

    # --- EDA controller ---
    (activation,) = fake_eda.objects("activations")
    assert activation["name"] == "ocpdr events" and activation["rulebook_name"] == "ocp_dr_events.yml"
    assert activation["is_enabled"] and activation["status"] == "running"
    assert activation["k8s_service_name"] == "ocpdr-events" and activation["restart_policy"] == "always"
    assert yaml.safe_load(activation["extra_var"]) == {
        "watched_namespaces": NAMESPACES, "aap_organization": "Default", "eda_webhook_port": 5000,
        "eda_webhook_token": "$encrypted$"}  # injected by the webhook credential, never in plain text
    assert names(activation["eda_credentials"]) == {"ocpdr controller", "ocpdr webhook token"}
    assert fake_eda.stored("eda-credentials", "ocpdr webhook token")["inputs"] == {"token": SECRETS["vault_eda_webhook_token"]}
    assert fake_eda.stored("eda-credentials", "ocpdr controller")["inputs"] == {
        "host": f"{fake_controller.url}/api/controller/", "oauth_token": SECRETS["vault_aap_eda_controller_token"],
        "verify_ssl": False}
    project = fake_eda.find("projects", "ocpdr")
    assert project["url"] == PROJECT_URL and project["import_state"] == "completed"
    assert activation["project_id"] == project["id"]
    (de,) = fake_eda.objects("decision-environments")
    assert de["image_url"].startswith("registry.redhat.io/ansible-automation-platform-25/de-supported")

    # --- second run: nothing to do, nothing written ---
    fake_controller.requests.clear()
    fake_eda.requests.clear()
    second = configure(fake_controller, fake_eda).assert_ok()
    assert recap(second)["changed"] == 0
    assert fake_controller.writes() == [] and fake_eda.writes() == []
    assert_no_secret(second)
    # ... and check mode agrees.
    check = configure(fake_controller, fake_eda, check=True).assert_ok()
    assert recap(check)["changed"] == 0 and "\"msg\": \"would" not in check.stdout


def test_check_mode_writes_nothing_and_says_what_it_would_do(fake_controller, fake_eda):
    check = configure(fake_controller, fake_eda, check=True).assert_ok()
    assert recap(check)["changed"] > 0
    assert fake_controller.writes() == [] and fake_eda.writes() == []
    assert fake_controller.objects("job_templates") == [] and fake_eda.objects("projects") == []
    assert "would create EDA projects ocpdr" in check.stdout
    assert "EDA - Sync PV to DR" in check.stdout.split("would create first", 1)[1]
    assert "would create the activation ocpdr events" in check.stdout
    assert_no_secret(check)


def test_tags_split_the_halves_and_a_changed_setting_updates_in_place(fake_controller, fake_eda):
    controller_only = configure(fake_controller, fake_eda, tags=["controller"]).assert_ok()
    assert fake_eda.requests == [] and len(fake_controller.objects("job_templates")) == 11
    fake_controller.requests.clear()
    eda_only = configure(fake_controller, fake_eda, tags=["eda"]).assert_ok()
    assert fake_controller.requests == [] and len(fake_eda.objects("activations")) == 1
    for run in (controller_only, eda_only):
        assert_no_secret(run)
    activation_id = fake_eda.objects("activations")[0]["id"]

    # New namespaces and a new decision environment image: check mode reports, a run updates.
    fake_controller.requests.clear()
    fake_eda.requests.clear()
    changed = {"target_namespaces": ["app-ns1", "app-ns3"], "aap_eda_decision_environment_image": "registry.example.com/de:2"}
    check = configure(fake_controller, fake_eda, check=True, **changed).assert_ok()
    assert fake_controller.writes() == [] and fake_eda.writes() == []
    assert "would update image_url of EDA decision-environments ocpdr" in check.stdout
    assert "would update extra_var of EDA activations ocpdr events" in check.stdout

    update = configure(fake_controller, fake_eda, **changed).assert_ok()
    assert recap(update)["changed"] > 0
    (activation,) = fake_eda.objects("activations")
    assert activation["id"] == activation_id and activation["is_enabled"] and activation["status"] == "running"
    assert yaml.safe_load(activation["extra_var"])["watched_namespaces"] == ["app-ns1", "app-ns3"]
    # EDA refuses to patch a running activation: it was disabled first, then patched (and started).
    calls = [(r.method, r.path) for r in fake_eda.writes()]
    disable = calls.index(("POST", f"/api/eda/v1/activations/{activation_id}/disable/"))
    assert calls.index(("PATCH", f"/api/eda/v1/activations/{activation_id}/")) > disable
    assert fake_eda.find("decision-environments", "ocpdr")["image_url"] == "registry.example.com/de:2"
    periodic = fake_controller.find("job_templates", "DR - Periodic sync")
    assert json.loads(periodic["extra_vars"]) == {"target_namespaces": ["app-ns1", "app-ns3"]}
    survey = fake_controller.survey("workflow_job_templates", "DR - One-click failover")
    assert next(q for q in survey["spec"] if q["variable"] == "namespace")["choices"] == ["app-ns1", "app-ns3"]
    assert len(fake_controller.objects("job_templates")) == 11 and len(fake_eda.objects("activations")) == 1


def test_a_wrong_eda_token_fails_clearly_without_showing_it(fake_controller, fake_eda):
    run = configure(fake_controller, fake_eda, tags=["eda"], vault_aap_eda_token="wrong-eda-token-6e0f")
    assert run.rc != 0
    assert f"EDA API GET {fake_eda.url}/api/eda/v1/organizations/?name=Default answered 401" in run.stdout
    assert "wrong-eda-token-6e0f" not in run.stdout + run.stderr
    assert fake_eda.writes() == []


def test_a_project_without_the_rulebook_fails_clearly(fake_controller, fake_eda):
    run = configure(fake_controller, fake_eda, tags=["eda"], aap_eda_project_url="https://git.test/other.git")
    assert run.rc != 0
    assert "EDA project ocpdr (https://git.test/other.git) did not import: failed Cannot clone" in run.stdout
    assert fake_eda.objects("activations") == []
