# Copyright: ocpdr maintainers. Apache-2.0.
"""Test-only callback plugin: appends every task result as one JSON line to $OCPDR_RECORD_FILE.

PRIVATE to the ocpdr test harness; lets Python tests assert on what modules returned.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: ocpdr_record
type: aggregate
short_description: record task results as JSON lines for the ocpdr tests
description: Appends each task result to the file named by the OCPDR_RECORD_FILE environment variable.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "ocpdr_record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get("OCPDR_RECORD_FILE")
        if not path:
            return
        line = {
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "status": status,
            "result": result._result,
        }
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
