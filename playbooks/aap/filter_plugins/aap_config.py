"""Filters for configure_aap.yml: compare an EDA API object with the desired payload, and list what
check mode found missing.

The EDA controller has no Ansible modules we can install offline, so configure_aap.yml talks to its
REST API with ansible.builtin.uri. To stay idempotent it must decide "same or different" the way
the ansible.eda modules do, on the API's own representation: references nested as objects
(`credential_type: {id: 3, ...}`) where the payload sends ids (`credential_type_id: 3`), secret
inputs shown as `$encrypted$`, and an activation's `extra_var` YAML holding the variables its
credentials inject next to the ones we sent.
"""

from __future__ import annotations

import yaml

ENCRYPTED = "$encrypted$"


def _could_be_same(current, desired, update_secrets):
    """Equal, or unknown because the API hides the stored value behind `$encrypted$`."""
    if isinstance(current, dict) and isinstance(desired, dict):
        return set(current) == set(desired) and all(
            _could_be_same(current[k], desired[k], update_secrets) for k in desired
        )
    if current == ENCRYPTED and not update_secrets:
        return True
    return current == desired


def _current_value(current, key):
    """The value of payload field `key` in the API object: `x_id` may be shown as `x: {id: ...}`,
    a list of ids as a list of objects."""
    if key in current:
        value = current[key]
    elif key.endswith("_id") and isinstance(current.get(key[:-3]), dict):
        value = current[key[:-3]]["id"]
    else:
        return None
    if isinstance(value, list) and all(isinstance(v, dict) and "id" in v for v in value):
        return sorted(v["id"] for v in value)
    return value


def eda_differences(current, desired, update_secrets=False, injected_keys=()):
    """Names of the payload fields of `desired` that the API object `current` does not have.

    `extra_var` is compared as YAML data, without the `injected_keys` (variables the activation's
    credentials inject); secret values shown as `$encrypted$` count as equal unless
    `update_secrets`. An absent object (`None`) differs in every field.
    """
    if not current:
        return sorted(desired)
    differences = []
    for key, wanted in desired.items():
        have = _current_value(current, key)
        if key == "extra_var":
            have = yaml.safe_load(have) if have else {}
            have = {k: v for k, v in (have or {}).items() if k not in injected_keys}
            wanted = yaml.safe_load(wanted) if wanted else {}
        elif isinstance(wanted, list) and all(isinstance(v, int) for v in wanted):
            wanted = sorted(wanted)
        if not _could_be_same(have, wanted, update_secrets):
            differences.append(key)
    return sorted(differences)


def aap_would_create(result, names=None):
    """Names of the objects a check-mode awx.awx task (or loop) reported as to be created, or
    skipped because something they need would be created first: `changed` without an `id`
    (awx.awx sets `id` only for objects that exist), or `skipped`. For a loop the name is the
    item's `name`; for a single task, `names` (a string or list)."""
    results = result.get("results") if isinstance(result, dict) and "results" in result else [result]
    missing = []
    for one in results:
        if not isinstance(one, dict):
            continue
        if one.get("skipped") or (one.get("changed") and "id" not in one):
            item = one.get("item")
            if isinstance(item, dict) and "name" in item:
                missing.append(item["name"])
            elif names is not None:
                missing.extend([names] if isinstance(names, str) else names)
    return missing


class FilterModule:
    """configure_aap.yml's comparison helpers."""

    def filters(self):
        return {"eda_differences": eda_differences, "aap_would_create": aap_would_create}
