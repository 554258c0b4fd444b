"""Start-up of the real ocpdr-forwarder binary: an invalid configuration stops it at once with a
message naming the variable (never echoing a secret); --help lists every variable and flag."""

from __future__ import annotations

import pytest

from harness.forwarder import run_once

GOOD = {"WEBHOOK_URL": "http://127.0.0.1:9/ocpdr", "CLUSTER_NAME": "primary"}


@pytest.mark.parametrize(
    ("env", "named", "expected"),
    [
        ({"CLUSTER_NAME": "primary"}, "WEBHOOK_URL", "required"),
        ({**GOOD, "WEBHOOK_URL": "eda.example.com:5000"}, "WEBHOOK_URL", "http:// or https:// URL"),
        ({"WEBHOOK_URL": GOOD["WEBHOOK_URL"]}, "CLUSTER_NAME", "required"),
        ({**GOOD, "WATCH_KINDS": "pv,pods"}, "WATCH_KINDS", 'unknown kind "pods"'),
        ({**GOOD, "WATCH_NAMESPACES": "App_NS"}, "WATCH_NAMESPACES", "not a namespace name"),
        ({**GOOD, "QUEUE_CAPACITY": "0"}, "QUEUE_CAPACITY", "whole number from 1"),
        ({**GOOD, "COALESCE": "sometimes"}, "COALESCE", "true or false"),
        ({**GOOD, "STATE_CONFIGMAP": "fwd-state"}, "STATE_CONFIGMAP", "POD_NAMESPACE"),
        ({**GOOD, "WEBHOOK_CA_BUNDLE": "/nonexistent/ca.pem"}, "WEBHOOK_CA_BUNDLE", "cannot read"),
    ],
)
def test_invalid_configuration_names_the_variable(env, named, expected):
    run = run_once(env)
    assert run.returncode == 2, run
    assert run.stdout == ""
    message = run.stderr.strip()
    assert message.startswith(f"ocpdr-forwarder: invalid configuration: {named}: "), message
    assert expected in message, message


def test_a_bad_token_is_refused_without_showing_it():
    run = run_once({**GOOD, "WEBHOOK_TOKEN": "s3cr3t token"})
    assert run.returncode == 2
    assert "WEBHOOK_TOKEN" in run.stderr
    assert "s3cr3t" not in run.stderr + run.stdout


def test_flags_carry_the_variable_names():
    run = run_once({}, ["--webhook-url", "http://127.0.0.1:9/", "--cluster-name=dr", "--watch-kinds", "pods"])
    assert run.returncode == 2
    assert "WATCH_KINDS" in run.stderr
    help_text = run_once({}, ["--help"])
    assert help_text.returncode == 0
    for var in ["WEBHOOK_URL", "WEBHOOK_TOKEN", "STATE_CONFIGMAP", "SHUTDOWN_GRACE_S", "COALESCE"]:
        assert var in help_text.stdout
        assert "--" + var.lower().replace("_", "-") in help_text.stdout
