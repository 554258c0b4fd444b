"""The comparison filters of configure_aap.yml (playbooks/aap/filter_plugins/aap_config.py) on the
EDA API's own representations: what counts as a difference decides whether a run writes."""

from __future__ import annotations

import importlib.util

from harness import paths

_spec = importlib.util.spec_from_file_location(
    "aap_config", paths.REPO / "playbooks" / "aap" / "filter_plugins" / "aap_config.py")  # fmt: skip
aap_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aap_config)
eda_differences = aap_config.eda_differences
aap_would_create = aap_config.aap_would_create

CREDENTIAL_VIEW = {
    "id": 5, "name": "hook", "description": "d", "managed": False, "inputs": {"token": "$encrypted$"},
    "credential_type": {"id": 4, "name": "ocpdr webhook token"}, "organization": {"id": 1, "name": "Default"},
}  # fmt: skip
CREDENTIAL_BODY = {"name": "hook", "description": "d", "credential_type_id": 4, "organization_id": 1,
                   "inputs": {"token": "s3cr3t"}}  # fmt: skip


def test_nested_references_and_hidden_secrets_are_no_difference():
    assert eda_differences(CREDENTIAL_VIEW, CREDENTIAL_BODY) == []


def test_secrets_are_pushed_only_when_asked_and_real_differences_always_count():
    assert eda_differences(CREDENTIAL_VIEW, CREDENTIAL_BODY, update_secrets=True) == ["inputs"]
    moved = {**CREDENTIAL_BODY, "organization_id": 2, "description": "new"}
    assert eda_differences(CREDENTIAL_VIEW, moved) == ["description", "organization_id"]


def test_a_missing_object_differs_in_every_field():
    assert eda_differences(None, CREDENTIAL_BODY) == sorted(CREDENTIAL_BODY)


def test_activation_extra_var_is_compared_as_data_without_injected_keys():
    view = {"extra_var": "eda_webhook_token: $encrypted$\nwatched_namespaces:\n- a\n- b\n",
            "eda_credentials": [{"id": 7, "name": "c"}, {"id": 3, "name": "h"}]}  # fmt: skip
    body = {"extra_var": "watched_namespaces: [a, b]\n", "eda_credentials": [3, 7]}
    assert eda_differences(view, body, injected_keys=["eda_webhook_token"]) == []
    assert eda_differences(view, {**body, "extra_var": "watched_namespaces: [a]\n"},
                           injected_keys=["eda_webhook_token"]) == ["extra_var"]  # fmt: skip
    assert eda_differences(view, {**body, "eda_credentials": [3]}, injected_keys=["eda_webhook_token"]) == ["eda_credentials"]


def test_would_create_lists_new_and_skipped_items_but_not_updates():
    loop = {"results": [
        {"changed": True, "item": {"name": "new"}},                 # to create: no id yet
        {"changed": True, "id": 4, "item": {"name": "updated"}},    # exists
        {"changed": False, "id": 5, "item": {"name": "same"}},
        {"skipped": True, "changed": False, "item": {"name": "blocked"}},
    ]}  # fmt: skip
    assert aap_would_create(loop) == ["new", "blocked"]
    assert aap_would_create({"changed": True}, "ocpdr") == ["ocpdr"]
    assert aap_would_create({"changed": False, "id": 1}, "ocpdr") == []
