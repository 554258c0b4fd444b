"""A fake EDA controller (eda-server REST API, `/api/eda/v1/`) for the AAP-as-code tests.

It serves the endpoints `playbooks/aap/configure_aap.yml` calls, with eda-server's payloads and
rules (from `ansible/eda-server` `src/aap_eda/api/serializers/` and `views/`, AAP 2.5 era):

- `organizations/`, `credential-types/` (managed "Red Hat Ansible Automation Platform" seeded),
  `eda-credentials/`, `decision-environments/`, `projects/` (+ `sync/`), `rulebooks/`,
  `activations/` (+ `enable/`, `disable/`), `config/`; DRF pagination; `?name=` and other
  exact-value filters;
- credential inputs are validated against their type (unknown field, missing required field:
  400) and secret inputs come back as `$encrypted$`;
- a project imports asynchronously: `import_state` is `pending` on create and `completed` on the
  next read, when the rulebooks found in the repository's `rulebooks/` directory appear under
  `rulebooks/?project_id=` (`repositories` maps a project URL to a local checkout);
- an activation needs an organization, an existing rulebook and decision environment and, when
  its rulebook runs job templates, exactly one "Red Hat Ansible Automation Platform" credential;
  credentials whose type injects `extra_vars` are merged into the activation's `extra_var`, with
  secret values vault-encrypted and shown as `$encrypted$`, as eda-server does;
- `PATCH activations/<id>/` answers 409 "Activation is not in disabled mode and in stopped status"
  while it is enabled; `disable/` stops it, and `is_enabled: true` in the PATCH starts it again.
What it does not do: RBAC, event streams, real containers (an enabled activation is `running`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path

import yaml

from harness.fake_rest import FakeRestServer, HttpError, Request, Response, now, paginate

PREFIX = "/api/eda/v1/"
ENCRYPTED = "$encrypted$"
AAP_CREDENTIAL_TYPE = "Red Hat Ansible Automation Platform"
RUNNING_STATES = {"starting", "stopping", "deleting", "running", "unresponsive", "workers offline"}
RFC_1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")

MANAGED_TYPES = [
    {"name": AAP_CREDENTIAL_TYPE, "kind": "cloud", "namespace": "controller",
     "inputs": {"fields": [
         {"id": "host", "label": "Red Hat Ansible Automation Platform", "type": "string",
          "help_text": "Red Hat Ansible Automation Platform base URL to authenticate with."},
         {"id": "username", "label": "Username", "type": "string"},
         {"id": "password", "label": "Password", "type": "string", "secret": True},
         {"id": "oauth_token", "label": "OAuth Token", "type": "string", "secret": True},
         {"id": "verify_ssl", "label": "Verify SSL", "type": "boolean", "secret": False}],
         "required": ["host"]},
     "injectors": {}},
    {"name": "Container Registry", "kind": "registry", "namespace": "registry",
     "inputs": {"fields": [
         {"id": "host", "label": "Authentication URL", "type": "string"},
         {"id": "username", "label": "Username", "type": "string"},
         {"id": "password", "label": "Password or Token", "type": "string", "secret": True},
         {"id": "verify_ssl", "label": "Verify SSL", "type": "boolean"}],
         "required": ["host"]},
     "injectors": {}},
]


class FakeEda(FakeRestServer):
    """The fake EDA controller. `repositories` maps a project URL to a directory whose
    `rulebooks/*.yml` the project import finds; other URLs fail to import."""

    def __init__(self, token: str, repositories: dict[str, Path], organizations: tuple[str, ...] = ("Default",)) -> None:
        super().__init__(token)
        self.repositories = repositories
        self.organizations = organizations
        self.reset()

    def reset(self) -> None:
        """Back to a fresh EDA controller: only the organizations and managed credential types."""
        with self.lock:
            self._seed()

    def _seed(self) -> None:
        self.requests.clear()
        self.ids = itertools.count(1)
        self.store: dict[str, dict[int, dict]] = {
            kind: {} for kind in ("organizations", "credential-types", "eda-credentials",
                                  "decision-environments", "projects", "rulebooks", "activations")
        }
        for name in self.organizations:
            self._insert("organizations", {"name": name, "description": ""})
        for ctype in MANAGED_TYPES:
            self._insert("credential-types", {**ctype, "description": "", "managed": True})

    # --- what tests read --------------------------------------------------------------------
    def objects(self, kind: str) -> list[dict]:
        with self.lock:
            return [self._show(kind, obj) for obj in self.store[kind].values()]

    def find(self, kind: str, name: str) -> dict | None:
        return next((o for o in self.objects(kind) if o["name"] == name), None)

    def stored(self, kind: str, name: str) -> dict:
        """The stored object, secrets included (what the API never returns)."""
        return next(o for o in self.store[kind].values() if o["name"] == name)

    # --- storage and views ----------------------------------------------------------------------
    def _insert(self, kind: str, fields: dict) -> dict:
        obj = {**fields, "id": next(self.ids), "created_at": now(), "modified_at": now()}
        self.store[kind][obj["id"]] = obj
        return obj

    def _ref(self, kind: str, oid: int | None) -> dict | None:
        obj = self.store[kind].get(oid or 0)
        return {"id": obj["id"], "name": obj["name"], "description": obj.get("description", "")} if obj else None

    def _credential_inputs(self, cred: dict) -> dict:
        ctype = self.store["credential-types"][cred["credential_type_id"]]
        secret = {f["id"] for f in ctype["inputs"].get("fields", []) if f.get("secret")}
        return {k: (ENCRYPTED if k in secret and v else v) for k, v in cred["inputs"].items()}

    def _show(self, kind: str, obj: dict) -> dict:
        if kind == "eda-credentials":
            ctype = self.store["credential-types"][obj["credential_type_id"]]
            return {"id": obj["id"], "name": obj["name"], "description": obj["description"],
                    "managed": False, "inputs": self._credential_inputs(obj),
                    "credential_type": {"id": ctype["id"], "name": ctype["name"], "namespace": ctype["namespace"],
                                        "kind": ctype["kind"]},
                    "organization": self._ref("organizations", obj["organization_id"]),
                    "references": None, "created_at": obj["created_at"], "modified_at": obj["modified_at"]}
        if kind == "projects":
            shown = {k: v for k, v in obj.items() if k not in ("eda_credential_id", "signature_validation_credential_id")}
            shown["eda_credential"] = self._ref("eda-credentials", obj.get("eda_credential_id"))
            shown["eda_credential_id"] = obj.get("eda_credential_id")
            shown["organization"] = self._ref("organizations", obj.get("organization_id"))
            return shown
        if kind == "activations":
            shown = dict(obj)
            shown.pop("rulebook_rulesets", None)
            shown["eda_credentials"] = [self._show("eda-credentials", self.store["eda-credentials"][c])
                                        for c in obj["eda_credentials"]]
            if obj.get("extra_var"):
                values = yaml.safe_load(obj["extra_var"])
                shown["extra_var"] = yaml.safe_dump({
                    k: (ENCRYPTED if isinstance(v, str) and "$ANSIBLE_VAULT" in v else v) for k, v in values.items()
                })
            return shown
        return dict(obj)

    def _matches(self, kind: str, obj: dict, query: dict[str, str]) -> bool:
        for key, value in query.items():
            if key in ("page", "page_size", "order_by"):
                continue
            if str(obj.get(key)) != value:
                return False
        return True

    # --- validation -------------------------------------------------------------------------------
    def _need(self, kind: str, oid: object, field: str) -> dict:
        obj = self.store[kind].get(oid) if isinstance(oid, int) else None
        if obj is None:
            raise HttpError(400, {field: [f"{kind} with id {oid} does not exist"]})
        return obj

    def _check_name(self, kind: str, name: object, oid: int | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise HttpError(400, {"name": ["This field is required."]})
        if any(o["name"] == name and o["id"] != oid for o in self.store[kind].values()):
            raise HttpError(400, {"name": [f"{kind} with this name already exists."]})

    def _validate_inputs(self, ctype: dict, inputs: dict, old: dict) -> dict:
        fields = {f["id"]: f for f in ctype["inputs"].get("fields", [])}
        merged = {}
        for key, value in inputs.items():
            if key not in fields:
                raise HttpError(400, {"inputs": {key: [f"Unknown field {key} for {ctype['name']}"]}})
            merged[key] = old.get(key) if value == ENCRYPTED else value
        for key in ctype["inputs"].get("required", []):
            if merged.get(key) in (None, ""):
                raise HttpError(400, {"inputs": {key: ["Cannot be blank"]}})
        return merged

    # --- routing ------------------------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        if not request.path.startswith(PREFIX):
            raise HttpError(404, {"detail": "Not found."})
        parts = [p for p in request.path[len(PREFIX):].split("/") if p]
        if parts == ["config"]:
            return Response(200, {"time_zone": "UTC", "version": "1.1.7", "deployment_type": "k8s"})
        if not parts or parts[0] not in self.store:
            raise HttpError(404, {"detail": "Not found."})
        kind = parts[0]
        if len(parts) == 1:
            if request.method == "GET":
                if kind == "projects":
                    for project in self.store["projects"].values():
                        self._finish_import(project)
                items = [self._show(kind, o) for o in self.store[kind].values() if self._matches(kind, o, request.query)]
                return Response(200, {**paginate(items, request.query, request.path),
                                      "page": int(request.query.get("page", 1)),
                                      "page_size": int(request.query.get("page_size", 25))})
            if request.method == "POST" and kind not in ("organizations", "rulebooks"):
                return Response(201, self._show(kind, self._create(kind, request.body or {})))
            raise HttpError(405, {"detail": f'Method "{request.method}" not allowed.'})
        if not parts[1].isdigit() or int(parts[1]) not in self.store[kind]:
            raise HttpError(404, {"detail": "Not found."})
        obj = self.store[kind][int(parts[1])]
        if len(parts) == 2:
            if request.method == "GET":
                if kind == "projects":
                    self._finish_import(obj)
                return Response(200, self._show(kind, obj))
            if request.method == "PATCH":
                return self._update(kind, obj, request.body or {})
            if request.method == "DELETE":
                del self.store[kind][obj["id"]]
                return Response(204)
            raise HttpError(405, {"detail": f'Method "{request.method}" not allowed.'})
        action = parts[2]
        if kind == "projects" and action == "sync" and request.method == "POST":
            obj["import_state"] = "pending"
            return Response(202, self._show(kind, obj))
        if kind == "activations" and action in ("enable", "disable") and request.method == "POST":
            return self._enable(obj) if action == "enable" else self._disable(obj)
        raise HttpError(404, {"detail": "Not found."})

    # --- per kind ---------------------------------------------------------------------------------
    def _create(self, kind: str, body: dict) -> dict:
        self._check_name(kind, body.get("name"))
        if kind == "credential-types":
            if not isinstance(body.get("inputs"), dict) or not isinstance(body.get("injectors", {}), dict):
                raise HttpError(400, {"inputs": ["inputs and injectors must be objects"]})
            return self._insert(kind, {"name": body["name"], "description": body.get("description", ""),
                                       "inputs": body["inputs"], "injectors": body.get("injectors", {}),
                                       "kind": "cloud", "namespace": None, "managed": False})
        if kind == "eda-credentials":
            ctype = self._need("credential-types", body.get("credential_type_id"), "credential_type_id")
            org = body.get("organization_id")
            if org is not None:
                self._need("organizations", org, "organization_id")
            inputs = self._validate_inputs(ctype, body.get("inputs") or {}, {})
            return self._insert(kind, {"name": body["name"], "description": body.get("description", ""),
                                       "credential_type_id": ctype["id"], "organization_id": org,
                                       "inputs": inputs})
        if kind == "decision-environments":
            self._need("organizations", body.get("organization_id"), "organization_id")
            if not body.get("image_url"):
                raise HttpError(400, {"image_url": ["This field is required."]})
            if body.get("eda_credential_id") is not None:
                self._need("eda-credentials", body["eda_credential_id"], "eda_credential_id")
            return self._insert(kind, {"name": body["name"], "description": body.get("description", ""),
                                       "image_url": body["image_url"], "organization_id": body["organization_id"],
                                       "eda_credential_id": body.get("eda_credential_id")})
        if kind == "projects":
            self._need("organizations", body.get("organization_id"), "organization_id")
            if not body.get("url"):
                raise HttpError(400, {"url": ["This field is required."]})
            if body.get("eda_credential_id") is not None:
                self._need("eda-credentials", body["eda_credential_id"], "eda_credential_id")
            return self._insert(kind, {"name": body["name"], "description": body.get("description", ""),
                                       "url": body["url"], "scm_type": "git", "scm_branch": body.get("scm_branch", ""),
                                       "scm_refspec": body.get("scm_refspec", ""), "proxy": body.get("proxy", ""),
                                       "verify_ssl": body.get("verify_ssl", True),
                                       "organization_id": body["organization_id"],
                                       "eda_credential_id": body.get("eda_credential_id"),
                                       "signature_validation_credential_id": None,
                                       "git_hash": "", "import_state": "pending", "import_error": None})
        if kind == "activations":
            fields = self._activation_fields(body, None)
            return self._insert(kind, fields)
        raise HttpError(405, {"detail": "Method \"POST\" not allowed."})

    def _update(self, kind: str, obj: dict, body: dict) -> Response:
        if "name" in body:
            self._check_name(kind, body["name"], obj["id"])
        if kind == "activations":
            if obj["is_enabled"] or obj["status"] in RUNNING_STATES:
                return Response(409, "Activation is not in disabled mode and in stopped status")
            user = self._user_extra_vars(obj, body.get("extra_var", obj.get("extra_var")))
            merged = {**{k: v for k, v in obj.items() if k not in ("extra_var",)}, **body, "extra_var": user}
            fields = self._activation_fields(merged, obj)
            obj.update(fields, modified_at=now(), edited_at=now())
            return Response(200, self._show(kind, obj))
        if kind == "eda-credentials":
            ctype = self.store["credential-types"][obj["credential_type_id"]]
            if "inputs" in body:
                obj["inputs"] = self._validate_inputs(ctype, body["inputs"], obj["inputs"])
            for key in ("name", "description"):
                if key in body:
                    obj[key] = body[key]
        else:
            allowed = {
                "credential-types": ("name", "description", "inputs", "injectors"),
                "decision-environments": ("name", "description", "image_url", "eda_credential_id", "organization_id"),
                "projects": ("name", "description", "url", "scm_branch", "scm_refspec", "proxy", "verify_ssl",
                             "eda_credential_id", "organization_id"),
            }[kind]
            for key in allowed:
                if key in body:
                    obj[key] = body[key]
        obj["modified_at"] = now()
        return Response(200, self._show(kind, obj))

    def _finish_import(self, project: dict) -> None:
        """The import a project create or sync started: done by the time anyone looks again."""
        if project["import_state"] != "pending":
            return
        checkout = self.repositories.get(project["url"])
        if checkout is None:
            project["import_state"] = "failed"
            project["import_error"] = f"Cannot clone {project['url']}"
            return
        for old in [r for r in self.store["rulebooks"].values() if r["project_id"] == project["id"]]:
            del self.store["rulebooks"][old["id"]]
        for path in sorted((Path(checkout) / "rulebooks").glob("*.y*ml")):
            self._insert("rulebooks", {"name": path.name, "description": "", "rulesets": path.read_text(),
                                       "project_id": project["id"],
                                       "organization_id": project["organization_id"]})
        project["git_hash"] = hashlib.sha1(project["url"].encode()).hexdigest()
        project["import_state"] = "completed"
        project["import_error"] = None

    def _injected_keys(self, credential_ids: list[int]) -> set[str]:
        keys: set[str] = set()
        for cid in credential_ids:
            ctype = self.store["credential-types"][self.store["eda-credentials"][cid]["credential_type_id"]]
            keys |= set((ctype.get("injectors") or {}).get("extra_vars", {}))
        return keys

    def _user_extra_vars(self, activation: dict, extra_var: str | None) -> str:
        """eda-server's `_get_user_extra_vars`: the activation's vars without credential injections."""
        if not extra_var:
            return ""
        values = yaml.safe_load(extra_var) or {}
        for key in self._injected_keys(activation["eda_credentials"]):
            values.pop(key, None)
        return yaml.dump(values)

    def _activation_fields(self, body: dict, existing: dict | None) -> dict:
        self._check_name("activations", body.get("name"), existing["id"] if existing else None)
        self._need("organizations", body.get("organization_id"), "organization_id")
        rulebook = self._need("rulebooks", body.get("rulebook_id"), "rulebook_id")
        self._need("decision-environments", body.get("decision_environment_id"), "decision_environment_id")
        credentials = body.get("eda_credentials") or []
        creds = [self._need("eda-credentials", c, "eda_credentials") for c in credentials]
        aap_type = next(t["id"] for t in self.store["credential-types"].values() if t["name"] == AAP_CREDENTIAL_TYPE)
        aap = [c for c in creds if c["credential_type_id"] == aap_type]
        if len(aap) > 1:
            raise HttpError(400, {"eda_credentials": ["Only one Red Hat Ansible Automation Platform credential is allowed."]})
        if re.search(r"\brun_(job|workflow)_template\b", rulebook["rulesets"]) and not aap:
            raise HttpError(400, {"field_errors": "The rulebook requires a Red Hat Ansible Automation Platform credential."})
        service = body.get("k8s_service_name") or re.sub(r"[^a-z0-9-]+", "-", body["name"].lower()).strip("-")
        if not RFC_1035.match(service):
            raise HttpError(400, {"k8s_service_name": [f"{service} must be a valid RFC 1035 label name"]})
        extra = body.get("extra_var") or ""
        values = yaml.safe_load(extra) if extra else {}
        if extra and not isinstance(values, dict):
            raise HttpError(400, {"extra_var": ["Extra var is not in object format"]})
        for cred in creds:
            ctype = self.store["credential-types"][cred["credential_type_id"]]
            injected = (ctype.get("injectors") or {}).get("extra_vars")
            if not injected or ctype["name"] == AAP_CREDENTIAL_TYPE:
                continue
            secret = {f["id"] for f in ctype["inputs"].get("fields", []) if f.get("secret")}
            for key, template in injected.items():
                match = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", str(template))
                source = match.group(1) if match else None
                value = cred["inputs"].get(source, template) if source else template
                if source in secret:
                    value = "$ANSIBLE_VAULT;1.2;AES256;EDA_SERVER\n" + hashlib.sha256(str(value).encode()).hexdigest()
                values[key] = value
        enabled = body.get("is_enabled", True)
        return {"name": body["name"], "description": body.get("description", ""), "is_enabled": enabled,
                "status": "running" if enabled else "stopped", "status_message": None,
                "decision_environment_id": body["decision_environment_id"], "rulebook_id": rulebook["id"],
                "rulebook_name": rulebook["name"], "rulebook_rulesets": rulebook["rulesets"],
                "project_id": rulebook["project_id"], "organization_id": body["organization_id"],
                "extra_var": yaml.dump(values) if values else None,
                "restart_policy": body.get("restart_policy", "on-failure"), "restart_count": 0,
                "log_level": body.get("log_level", "error"), "eda_credentials": list(credentials),
                "k8s_service_name": service, "awx_token_id": None, "event_streams": [],
                "source_mappings": body.get("source_mappings", ""), "skip_audit_events": False,
                "current_job_id": None, "edited_at": None}

    def _enable(self, activation: dict) -> Response:
        if activation["is_enabled"]:
            return Response(204)
        activation.update(is_enabled=True, status="running")
        return Response(204)

    def _disable(self, activation: dict) -> Response:
        activation.update(is_enabled=False, status="stopped")
        return Response(204)
