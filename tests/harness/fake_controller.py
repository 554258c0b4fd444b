"""A fake automation controller (AWX / AAP controller API v2) for the AAP-as-code tests and for
ansible-rulebook's `run_job_template`.

It serves what `awx.awx` 24.6.1 modules and ansible-rulebook 1.3.2 call, with the payloads they
send and read (shapes from `awx.awx` `module_utils/controller_api.py` and the modules
`credential_type`, `credential`, `project`, `inventory`, `inventory_source`, `job_template`,
`schedule`, `workflow_job_template`; from `ansible_rulebook/job_template_runner.py`):

- list endpoints filter on exact field values (`?name=`, `?organization=`, `or__id`/`or__name`,
  `id__in`) and page like Django REST framework (`count`, `next`, `results`);
- objects carry `id`, `type`, `url`, `related`, `summary_fields.organization`; string fields the
  API never returns as null come back as `""`; secret credential inputs come back as
  `$encrypted$`, and `$encrypted$` sent back keeps the stored value;
- references are checked (`Invalid pk`), names are unique per organization, a template takes at
  most one credential per credential type, survey specs and schedule rrules are validated the way
  the controller rejects bad ones (`DTSTART` required, dateutil must parse it);
- a project create/update starts a project update that is already `successful`;
- `POST .../launch/` records the launch, keeps `extra_vars` only when the template prompts for
  them (`ask_variables_on_launch`) or they answer its survey, like the controller
  (`ignored_fields`), and the job goes pending -> running -> successful as it is polled.

Both API roots are served: `/api/v2/` (AWX, AAP 2.4) and `/api/controller/v2/` (AAP 2.5 gateway).
What it does not do: RBAC, real project checkouts (a template's playbook is not checked against
the repository), inventory imports, notifications.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass

from dateutil.rrule import rrulestr

from harness.fake_rest import FakeRestServer, HttpError, Request, Response, now, paginate

ENCRYPTED = "$encrypted$"
PREFIXES = ("/api/controller/v2/", "/api/v2/")
VERSION = "24.6.1"

# Fields each resource has, with the value the controller shows when they were never set.
DEFAULTS: dict[str, dict] = {
    "organizations": {"description": "", "max_hosts": 0, "default_environment": None},
    "credential_types": {"description": "", "kind": "cloud", "managed": False, "namespace": None,
                         "inputs": {}, "injectors": {}},
    "credentials": {"description": "", "organization": None, "credential_type": None, "inputs": {},
                    "managed": False, "kind": ""},
    "projects": {"description": "", "local_path": "", "scm_type": "", "scm_url": "", "scm_branch": "",
                 "scm_refspec": "", "scm_clean": False, "scm_track_submodules": False,
                 "scm_delete_on_update": False, "credential": None, "timeout": 0, "scm_revision": "",
                 "organization": None, "scm_update_on_launch": False, "scm_update_cache_timeout": 0,
                 "allow_override": False, "custom_virtualenv": None, "default_environment": None,
                 "signature_validation_credential": None, "status": "never updated"},
    "project_updates": {"status": "successful", "failed": False, "project": None},
    "inventories": {"description": "", "organization": None, "kind": "", "host_filter": None,
                    "variables": "", "prevent_instance_group_fallback": False},
    "inventory_sources": {"description": "", "source": "", "source_path": "", "source_vars": "",
                          "credential": None, "enabled_var": "", "enabled_value": "", "host_filter": "",
                          "overwrite": False, "overwrite_vars": False, "custom_virtualenv": None,
                          "timeout": 0, "verbosity": 1, "limit": "", "inventory": None,
                          "update_on_launch": False, "update_cache_timeout": 0, "source_project": None,
                          "scm_branch": "", "execution_environment": None},
    "job_templates": {"description": "", "job_type": "run", "inventory": None, "project": None,
                      "playbook": "", "scm_branch": "", "forks": 0, "limit": "", "verbosity": 0,
                      "extra_vars": "", "job_tags": "", "force_handlers": False, "skip_tags": "",
                      "start_at_task": "", "timeout": 0, "use_fact_cache": False, "organization": None,
                      "execution_environment": None, "host_config_key": "",
                      "ask_scm_branch_on_launch": False, "ask_diff_mode_on_launch": False,
                      "ask_variables_on_launch": False, "ask_limit_on_launch": False,
                      "ask_tags_on_launch": False, "ask_skip_tags_on_launch": False,
                      "ask_job_type_on_launch": False, "ask_verbosity_on_launch": False,
                      "ask_inventory_on_launch": False, "ask_credential_on_launch": False,
                      "ask_execution_environment_on_launch": False, "ask_labels_on_launch": False,
                      "ask_forks_on_launch": False, "ask_job_slice_count_on_launch": False,
                      "ask_timeout_on_launch": False, "ask_instance_groups_on_launch": False,
                      "survey_enabled": False, "become_enabled": False, "diff_mode": False,
                      "allow_simultaneous": False, "custom_virtualenv": None, "job_slice_count": 1,
                      "webhook_service": "", "webhook_credential": None,
                      "prevent_instance_group_fallback": False},
    "workflow_job_templates": {"description": "", "extra_vars": "", "organization": None,
                               "survey_enabled": False, "allow_simultaneous": False,
                               "ask_variables_on_launch": False, "inventory": None, "limit": None,
                               "scm_branch": None, "ask_inventory_on_launch": False,
                               "ask_scm_branch_on_launch": False, "ask_limit_on_launch": False,
                               "ask_labels_on_launch": False, "ask_skip_tags_on_launch": False,
                               "ask_tags_on_launch": False, "webhook_service": "",
                               "webhook_credential": None, "skip_tags": None, "job_tags": None},
    "workflow_job_template_nodes": {"workflow_job_template": None, "unified_job_template": None,
                                    "identifier": "", "extra_data": {}, "inventory": None,
                                    "scm_branch": None, "job_type": None, "job_tags": None,
                                    "skip_tags": None, "limit": None, "diff_mode": None,
                                    "verbosity": None, "execution_environment": None, "forks": None,
                                    "job_slice_count": None, "timeout": None,
                                    "all_parents_must_converge": False},
    "schedules": {"description": "", "rrule": "", "unified_job_template": None, "enabled": True,
                  "extra_data": {}, "inventory": None, "scm_branch": None, "job_type": None,
                  "job_tags": None, "skip_tags": None, "limit": None, "diff_mode": None,
                  "verbosity": None, "execution_environment": None, "forks": None,
                  "job_slice_count": None, "timeout": None},
    "labels": {"organization": None},
    "execution_environments": {"description": "", "image": "", "organization": None, "pull": ""},
    "instance_groups": {},
    "jobs": {},
    "workflow_jobs": {},
}
TYPE_NAMES = {
    "organizations": "organization", "credential_types": "credential_type", "credentials": "credential",
    "projects": "project", "project_updates": "project_update", "inventories": "inventory",
    "inventory_sources": "inventory_source", "job_templates": "job_template",
    "workflow_job_templates": "workflow_job_template",
    "workflow_job_template_nodes": "workflow_job_template_node", "schedules": "schedule",
    "labels": "label", "execution_environments": "execution_environment",
    "instance_groups": "instance_group", "jobs": "job", "workflow_jobs": "workflow_job",
}
# Fields that hold the id of another object, and where that object lives.
REFERENCES = {
    "organization": ("organizations",), "credential_type": ("credential_types",),
    "credential": ("credentials",), "inventory": ("inventories",), "project": ("projects",),
    "source_project": ("projects",), "execution_environment": ("execution_environments",),
    "default_environment": ("execution_environments",), "webhook_credential": ("credentials",),
    "workflow_job_template": ("workflow_job_templates",),
    "unified_job_template": ("job_templates", "workflow_job_templates", "projects", "inventory_sources"),
}
# Sub-lists a template associates with POST {"id": n} / {"id": n, "disassociate": true}.
ASSOCIATIONS = ("credentials", "labels", "instance_groups", "notification_templates_started",
                "notification_templates_success", "notification_templates_error",
                "notification_templates_approvals", "success_nodes", "failure_nodes", "always_nodes")
UNIFIED = ("job_templates", "workflow_job_templates", "projects", "inventory_sources")
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
TERMINAL = {"successful", "failed", "error", "canceled"}

# Managed credential types every controller has (ids as in a fresh AWX: 1 = Machine, 2 = Source Control).
MANAGED_CREDENTIAL_TYPES = [
    {"name": "Machine", "kind": "ssh", "namespace": "ssh", "inputs": {"fields": [
        {"id": "username", "label": "Username", "type": "string"},
        {"id": "password", "label": "Password", "type": "string", "secret": True, "ask_at_runtime": True},
        {"id": "ssh_key_data", "label": "SSH Private Key", "type": "string", "format": "ssh_private_key",
         "secret": True, "multiline": True},
        {"id": "ssh_public_key_data", "label": "Signed SSH Certificate", "type": "string", "multiline": True,
         "secret": True},
        {"id": "ssh_key_unlock", "label": "Private Key Passphrase", "type": "string", "secret": True,
         "ask_at_runtime": True},
        {"id": "become_method", "label": "Privilege Escalation Method", "type": "string"},
        {"id": "become_username", "label": "Privilege Escalation Username", "type": "string"},
        {"id": "become_password", "label": "Privilege Escalation Password", "type": "string", "secret": True,
         "ask_at_runtime": True}]}},
    {"name": "Source Control", "kind": "scm", "namespace": "scm", "inputs": {"fields": [
        {"id": "username", "label": "Username", "type": "string"},
        {"id": "password", "label": "Password", "type": "string", "secret": True},
        {"id": "ssh_key_data", "label": "SCM Private Key", "type": "string", "format": "ssh_private_key",
         "secret": True, "multiline": True},
        {"id": "ssh_key_unlock", "label": "Private Key Passphrase", "type": "string", "secret": True}]}},
]


@dataclass
class Launch:
    """One accepted launch: the template, what it received and what it ignored."""

    template: str
    kind: str
    extra_vars: dict
    ignored: dict
    limit: str | None
    job_id: int


class FakeController(FakeRestServer):
    """The fake controller, seeded with the organizations given (default: `Default`, id 1)."""

    response_headers = {"X-API-Product-Name": "AWX", "X-API-Product-Version": VERSION}

    def __init__(self, token: str, organizations: tuple[str, ...] = ("Default",)) -> None:
        super().__init__(token)
        self.organizations = organizations
        self.prefix = PREFIXES[1]
        self.reset()

    def reset(self) -> None:
        """Back to a fresh controller: only the organizations and managed credential types."""
        with self.lock:
            self._seed()

    def _seed(self) -> None:
        self.requests.clear()
        self.ids = itertools.count(1)
        self.store: dict[str, dict[int, dict]] = {resource: {} for resource in DEFAULTS}
        self.surveys: dict[tuple[str, int], dict] = {}
        self.associations: dict[tuple[str, int, str], list[int]] = {}
        self.secrets: dict[int, dict] = {}  # credential id -> its real inputs, never served
        self.launches: list[Launch] = []
        for name in self.organizations:
            self._insert("organizations", {"name": name})
        for ctype in MANAGED_CREDENTIAL_TYPES:
            self._insert("credential_types", {**ctype, "managed": True})

    # --- what tests read --------------------------------------------------------------------
    def objects(self, resource: str) -> list[dict]:
        """Every stored object of `resource` as the API shows it."""
        with self.lock:
            return [self._show(resource, obj) for obj in self.store[resource].values()]

    def find(self, resource: str, name: str) -> dict | None:
        return next((o for o in self.objects(resource) if o.get("name") == name), None)

    def survey(self, resource: str, name: str) -> dict:
        obj = self.find(resource, name)
        return self.surveys.get((resource, obj["id"]), {}) if obj else {}

    def associated(self, resource: str, name: str, association: str) -> list[dict]:
        """The objects associated with `name` under `association` (e.g. a template's credentials)."""
        obj = self.find(resource, name)
        target = "credentials" if association == "credentials" else association
        ids = self.associations.get((resource, obj["id"], association), [])
        return [self._show(target, self.store[target][i]) for i in ids]

    def credential_secret(self, name: str) -> dict:
        """The stored inputs of a credential, secrets included (what the API never returns)."""
        obj = self.find("credentials", name)
        return self.secrets[obj["id"]]

    # --- storage ------------------------------------------------------------------------------
    def _insert(self, resource: str, fields: dict) -> dict:
        oid = next(self.ids)
        obj = {**DEFAULTS[resource], **fields, "id": oid, "created": now(), "modified": now()}
        self.store[resource][oid] = obj
        return obj

    def _url(self, resource: str, oid: int) -> str:
        """URLs carry the API root the request came in on, as the controller renders them."""
        return f"{self.prefix}{resource}/{oid}/"

    def _show(self, resource: str, obj: dict) -> dict:
        shown = dict(obj)
        oid = obj["id"]
        shown["type"] = TYPE_NAMES[resource]
        shown["url"] = self._url(resource, oid)
        related = {name: f"{shown['url']}{name}/" for name in ASSOCIATIONS}
        related.update({"survey_spec": f"{shown['url']}survey_spec/", "launch": f"{shown['url']}launch/",
                        "update": f"{shown['url']}update/", "copy": f"{shown['url']}copy/"})
        summary: dict = {}
        org = self.store["organizations"].get(obj.get("organization") or 0)
        if org:
            summary["organization"] = {"id": org["id"], "name": org["name"], "description": org["description"]}
        if resource == "credentials":
            ctype = self.store["credential_types"][obj["credential_type"]]
            secret = {f["id"] for f in ctype["inputs"].get("fields", []) if f.get("secret")}
            shown["inputs"] = {k: (ENCRYPTED if k in secret and v else v) for k, v in obj["inputs"].items()}
            summary["credential_type"] = {"id": ctype["id"], "name": ctype["name"]}
        if resource == "projects" and obj.get("current_update"):
            update = self.store["project_updates"][obj["current_update"]]
            summary["current_update"] = {"id": update["id"], "status": update["status"], "failed": False}
            summary["last_update"] = summary["current_update"]
        shown.pop("current_update", None)
        if resource in ("job_templates", "workflow_job_templates"):
            creds = self.associations.get((resource, oid, "credentials"), [])
            summary["credentials"] = [
                {"id": c, "name": self.store["credentials"][c]["name"]} for c in creds
            ]
        if resource == "workflow_job_template_nodes" and obj.get("unified_job_template"):
            related["unified_job_template"] = self._ujt_url(obj["unified_job_template"])
        shown["related"] = related
        shown["summary_fields"] = summary
        return shown

    def _ujt_url(self, oid: int) -> str:
        for resource in UNIFIED:
            if oid in self.store[resource]:
                return self._url(resource, oid)
        return ""

    def _matches(self, resource: str, obj: dict, query: dict[str, str]) -> bool:
        shown = self._show(resource, obj)
        ors = {k[4:]: v for k, v in query.items() if k.startswith("or__")}
        if ors and not any(str(shown.get(k)) == v for k, v in ors.items()):
            return False
        for key, value in query.items():
            if key in ("page", "page_size", "order_by") or key.startswith("or__"):
                continue
            if key == "id__in":
                if str(obj["id"]) not in value.split(","):
                    return False
            elif key == "type":
                if shown["type"] != value:
                    return False
            elif key.endswith("__name"):
                ref = obj.get(key[: -len("__name")])
                names = [self.store[r][ref]["name"] for r in REFERENCES.get(key[:-6], ()) if ref in self.store[r]]
                if value not in names:
                    return False
            elif str(shown.get(key)) != value and not (shown.get(key) is None and value in ("", "None")):
                return False
        return True

    # --- validation ----------------------------------------------------------------------------
    def _check_references(self, fields: dict) -> None:
        for field, homes in REFERENCES.items():
            value = fields.get(field)
            if value in (None, ""):
                continue
            if not any(isinstance(value, int) and value in self.store[home] for home in homes):
                raise HttpError(400, {field: [f'Invalid pk "{value}" - object does not exist.']})

    def _identity(self, resource: str, obj: dict) -> tuple:
        if resource == "credentials":
            return (obj.get("name"), obj.get("organization"), obj.get("credential_type"))
        if resource == "inventory_sources":
            return (obj.get("name"), obj.get("inventory"))
        if resource == "schedules":
            return (obj.get("name"), obj.get("unified_job_template"))
        if resource == "workflow_job_template_nodes":
            return (obj.get("identifier"), obj.get("workflow_job_template"))
        return (obj.get("name"), obj.get("organization"))

    def _check_unique(self, resource: str, candidate: dict, oid: int | None = None) -> None:
        key = self._identity(resource, candidate)
        for other in self.store[resource].values():
            if other["id"] != oid and self._identity(resource, other) == key:
                raise HttpError(400, {"__all__": [f"{TYPE_NAMES[resource]} with this identity already exists."]})

    def _normalize(self, resource: str, fields: dict) -> dict:
        """Null sent for a string field the API never returns as null becomes `""`."""
        out = dict(fields)
        for key, value in fields.items():
            if value is None and DEFAULTS[resource].get(key) == "":
                out[key] = ""
        return out

    def _validate(self, resource: str, obj: dict, previous: dict | None) -> dict:
        if resource == "credential_types" and not obj.get("managed") and obj.get("kind") not in ("cloud", "net"):
            raise HttpError(400, {"kind": [f'"{obj.get("kind")}" is not a valid choice.']})
        if resource == "credentials":
            ctype = self.store["credential_types"][obj["credential_type"]]
            fields = {f["id"]: f for f in ctype["inputs"].get("fields", [])}
            inputs = dict(obj.get("inputs") or {})
            old = self.secrets.get(previous["id"], {}) if previous else {}
            for key, value in list(inputs.items()):
                if key not in fields:
                    raise HttpError(400, {"inputs": {key: [f"'{key}' is not a valid input for {ctype['name']}"]}})
                if value == ENCRYPTED:
                    inputs[key] = old.get(key, "")
            for key in ctype["inputs"].get("required", []):
                if not inputs.get(key):
                    raise HttpError(400, {"inputs": {key: ["required for " + ctype["name"]]}})
            obj["inputs"] = inputs
            obj["kind"] = ctype["kind"]
        if resource == "projects" and obj.get("scm_type") and not obj.get("scm_url"):
            raise HttpError(400, {"scm_url": ["SCM URL is required."]})
        if resource == "inventory_sources" and obj.get("source") == "scm" and not obj.get("source_project"):
            raise HttpError(400, {"source_project": ["Project required for scm type sources."]})
        if resource == "job_templates":
            if not obj.get("project"):
                raise HttpError(400, {"project": ["This field is required."]})
            if not obj.get("playbook"):
                raise HttpError(400, {"playbook": ["This field is required."]})
            if not obj.get("inventory") and not obj.get("ask_inventory_on_launch"):
                raise HttpError(400, {"inventory": ["Must either set a default value or ask to prompt on launch."]})
            if obj.get("extra_vars"):
                try:
                    json.loads(obj["extra_vars"])
                except ValueError:
                    raise HttpError(400, {"extra_vars": ["Cannot parse as JSON."]}) from None
        if resource == "schedules":
            if not obj.get("unified_job_template"):
                raise HttpError(400, {"unified_job_template": ["This field is required."]})
            rrule = obj.get("rrule") or ""
            if "DTSTART" not in rrule:
                raise HttpError(400, {"rrule": ["DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ"]})
            if "RRULE:" not in rrule:
                raise HttpError(400, {"rrule": ["RRULE required in rrule."]})
            if re.search(r"FREQ=SECONDLY|BYSECOND|BYWEEKNO|BYYEARDAY", rrule):
                raise HttpError(400, {"rrule": ["Unsupported rule part."]})
            try:
                rrulestr(rrule.replace(" RRULE:", "\nRRULE:"), forceset=True)
            except (ValueError, TypeError) as err:
                raise HttpError(400, {"rrule": [f"rrule parsing failed validation: {err}"]}) from None
        return obj

    @staticmethod
    def _validate_survey(spec: object) -> None:
        if not isinstance(spec, dict) or not isinstance(spec.get("spec"), list):
            raise HttpError(400, {"error": "'spec' must be a list of items."})
        for key in ("name", "description"):
            if key not in spec:
                raise HttpError(400, {"error": f"'{key}' missing from survey spec."})
        seen = set()
        for index, question in enumerate(spec["spec"]):
            for key in ("question_name", "variable", "type", "required"):
                if key not in question:
                    raise HttpError(400, {"error": f"'{key}' missing from survey question {index}."})
            if question["type"] not in SURVEY_TYPES:
                raise HttpError(400, {"error": f"'{question['type']}' in survey question {index} is not one of {sorted(SURVEY_TYPES)}."})
            if question["variable"] in seen:
                raise HttpError(400, {"error": f"'variable' '{question['variable']}' duplicated in survey question {index}."})
            seen.add(question["variable"])
            if question["type"] in ("multiplechoice", "multiselect"):
                choices = question.get("choices")
                if not choices:
                    raise HttpError(400, {"error": f"'choices' missing from survey question {index}."})
                default = question.get("default")
                if isinstance(choices, str):
                    choices = choices.split("\n")
                if default and question["type"] == "multiplechoice" and default not in choices:
                    raise HttpError(400, {"error": f"Default choice must be answered from the choices listed (question {index})."})

    # --- routing ---------------------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        path = request.path
        prefix = next((p for p in PREFIXES if path.startswith(p)), None)
        if prefix is None:
            raise HttpError(404, {"detail": "Not found."})
        self.prefix = prefix  # requests are handled one at a time (under self.lock)
        parts = [p for p in path[len(prefix):].split("/") if p]
        if parts == ["config"]:
            return Response(200, {"version": VERSION, "time_zone": "UTC", "license_info": {}})
        if parts == ["ping"]:
            return Response(200, {"version": VERSION, "ha": False})
        if not parts:
            return Response(200, {resource: f"{prefix}{resource}/" for resource in DEFAULTS})
        resource = parts[0]
        if resource == "unified_job_templates" and len(parts) == 1 and request.method == "GET":
            items = [self._show(r, o) for r in UNIFIED for o in self.store[r].values() if self._matches(r, o, request.query)]
            return Response(200, paginate(items, request.query, path))
        if resource not in DEFAULTS:
            raise HttpError(404, {"detail": "Not found."})
        if len(parts) == 1:
            return self._collection(resource, request, path)
        if not parts[1].isdigit():
            raise HttpError(404, {"detail": "Not found."})
        oid = int(parts[1])
        obj = self.store[resource].get(oid)
        if obj is None:
            raise HttpError(404, {"detail": "Not found."})
        if len(parts) == 2:
            return self._item(resource, obj, request)
        sub = parts[2]
        if sub == "survey_spec" and resource in ("job_templates", "workflow_job_templates"):
            return self._survey(resource, oid, request)
        if sub == "launch" and resource in ("job_templates", "workflow_job_templates"):
            return self._launch(resource, obj, request)
        if sub in ASSOCIATIONS:
            return self._association(resource, oid, sub, request, path)
        if sub == "update" and resource == "projects" and request.method == "POST":
            update = self._project_update(obj)
            return Response(202, {"id": update["id"], "project_update": update["id"]})
        raise HttpError(404, {"detail": "Not found."})

    def _collection(self, resource: str, request: Request, path: str) -> Response:
        if request.method == "GET":
            found = [o for o in self.store[resource].values() if self._matches(resource, o, request.query)]
            if resource in ("jobs", "workflow_jobs"):  # ansible-rulebook polls jobs/?id__in=<id>
                for job in found:
                    self._advance(job)
            items = [self._show(resource, o) for o in found]
            return Response(200, paginate(items, request.query, path))
        if request.method != "POST":
            raise HttpError(405, {"detail": f'Method "{request.method}" not allowed.'})
        fields = self._normalize(resource, request.body or {})
        self._check_references(fields)
        candidate = self._validate(resource, {**DEFAULTS[resource], **fields}, None)
        self._check_unique(resource, candidate)
        obj = self._insert(resource, {k: v for k, v in candidate.items() if k not in ("id", "created", "modified")})
        if resource == "credentials":
            self.secrets[obj["id"]] = dict(obj["inputs"])
        if resource == "projects" and obj.get("scm_type"):
            self._project_update(obj)
        return Response(201, self._show(resource, obj))

    def _item(self, resource: str, obj: dict, request: Request) -> Response:
        if request.method == "GET":
            if resource in ("jobs", "workflow_jobs"):
                self._advance(obj)
            return Response(200, self._show(resource, obj))
        if request.method == "DELETE":
            del self.store[resource][obj["id"]]
            return Response(204)
        if request.method not in ("PATCH", "PUT"):
            raise HttpError(405, {"detail": f'Method "{request.method}" not allowed.'})
        fields = self._normalize(resource, request.body or {})
        self._check_references(fields)
        candidate = self._validate(resource, {**obj, **fields}, obj)
        self._check_unique(resource, candidate, obj["id"])
        candidate["modified"] = now()
        self.store[resource][obj["id"]] = candidate
        if resource == "credentials":
            self.secrets[obj["id"]] = dict(candidate["inputs"])
        if resource == "projects" and candidate.get("scm_type"):
            self._project_update(candidate)
        return Response(200, self._show(resource, candidate))

    def _project_update(self, project: dict) -> dict:
        update = self._insert("project_updates", {"project": project["id"], "name": project["name"],
                                                  "finished": now(), "elapsed": 0.1})
        project["current_update"] = update["id"]
        project["status"] = "successful"
        project["scm_revision"] = "0" * 40
        return update

    def _survey(self, resource: str, oid: int, request: Request) -> Response:
        key = (resource, oid)
        if request.method == "GET":
            return Response(200, self.surveys.get(key, {}))
        if request.method == "DELETE":
            self.surveys.pop(key, None)
            return Response(200, {})
        if request.method == "POST":
            self._validate_survey(request.body)
            self.surveys[key] = request.body
            return Response(200, {})
        raise HttpError(405, {"detail": f'Method "{request.method}" not allowed.'})

    def _association(self, resource: str, oid: int, sub: str, request: Request, path: str) -> Response:
        key = (resource, oid, sub)
        target = "credentials" if sub == "credentials" else (
            "labels" if sub == "labels" else
            "instance_groups" if sub == "instance_groups" else
            "workflow_job_template_nodes" if sub.endswith("_nodes") else None
        )
        current = self.associations.setdefault(key, [])
        if request.method == "GET":
            items = [self._show(target, self.store[target][i]) for i in current if target and i in self.store[target]]
            return Response(200, paginate(items, request.query, path))
        if request.method != "POST":
            raise HttpError(405, {"detail": f'Method "{request.method}" not allowed.'})
        body = request.body or {}
        item = body.get("id")
        if target is None or item not in self.store[target]:
            raise HttpError(400, {"msg": f"Related object {item} does not exist."})
        if body.get("disassociate"):
            if item in current:
                current.remove(item)
            return Response(204)
        if sub == "credentials":
            ctype = self.store["credentials"][item]["credential_type"]
            if any(self.store["credentials"][c]["credential_type"] == ctype for c in current if c != item):
                name = self.store["credential_types"][ctype]["name"]
                raise HttpError(400, {"error": f"Cannot assign multiple {name} credentials."})
        if item not in current:
            current.append(item)
        return Response(204)

    # --- launching and jobs ---------------------------------------------------------------------
    def _launch(self, resource: str, template: dict, request: Request) -> Response:
        if request.method == "GET":
            return Response(200, {"ask_variables_on_launch": template.get("ask_variables_on_launch", False),
                                  "survey_enabled": template.get("survey_enabled", False),
                                  "can_start_without_user_input": True})
        body = request.body or {}
        extra = body.get("extra_vars") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        survey_vars = set()
        if template.get("survey_enabled"):
            survey_vars = {q["variable"] for q in self.surveys.get((resource, template["id"]), {}).get("spec", [])}
        if template.get("ask_variables_on_launch"):
            accepted, ignored = extra, {}
        else:
            accepted = {k: v for k, v in extra.items() if k in survey_vars}
            ignored = {k: v for k, v in extra.items() if k not in survey_vars}
        job_resource = "jobs" if resource == "job_templates" else "workflow_jobs"
        job = self._insert(job_resource, {"name": template["name"], "status": "pending", "failed": False,
                                          "extra_vars": json.dumps(accepted), "artifacts": {},
                                          "unified_job_template": template["id"]})
        self.launches.append(Launch(template["name"], TYPE_NAMES[resource], accepted, ignored,
                                    body.get("limit"), job["id"]))
        shown = self._show(job_resource, job)
        key = "job" if job_resource == "jobs" else "workflow_job"
        response = {**shown, key: job["id"]}
        if ignored:
            response["ignored_fields"] = {"extra_vars": ignored}
        return Response(201, response)

    def _advance(self, job: dict) -> None:
        """Each look at a job moves it one step: pending -> running -> successful."""
        if job["status"] in TERMINAL:
            return
        job["status"] = {"pending": "running", "running": "successful"}[job["status"]]
        if job["status"] == "successful":
            job["finished"] = now()
