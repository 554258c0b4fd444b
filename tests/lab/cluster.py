"""A small client for one lab cluster over the fake API server's HTTP API: discovery, creating
manifests (with the status a missing controller would set, through the status subresource),
listing one kind or everything. One request per object; no kubectl process per object."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from harness.apiserver import FakeApiServer


@dataclass(frozen=True)
class Resource:
    """One served resource type."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool
    listable: bool
    status: bool  # has a status subresource

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        scope = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return f"{base}{scope}/{self.plural}" + (f"/{name}" if name else "")


class ApiError(RuntimeError):
    """A request the server refused; the message has the method, path, status and answer."""


class Cluster:
    """The API of one running fake API server."""

    def __init__(self, server: FakeApiServer, name: str) -> None:
        self.server = server
        self.name = name
        self._resources: dict[tuple[str, str], Resource] | None = None

    def call(self, method: str, path: str, body=None, content_type: str = "application/json"):
        status, answer = self.server.request(method, path, body, content_type)
        if status >= 300:
            message = answer.get("message", answer) if isinstance(answer, dict) else answer
            raise ApiError(f"{self.name}: {method} {path} answered {status}: {message}")
        return answer

    def resources(self) -> dict[tuple[str, str], Resource]:
        """Every resource type the server serves, by (apiVersion, kind), from discovery."""
        if self._resources is None:
            versions = ["v1"] + [
                group["preferredVersion"]["groupVersion"] for group in self.call("GET", "/apis")["groups"]
            ]
            found = {}
            for version in versions:
                path = "/api/v1" if version == "v1" else f"/apis/{version}"
                listed = self.call("GET", path)["resources"]
                names = {r["name"] for r in listed}
                for r in listed:
                    if "/" in r["name"]:  # subresources such as pods/status
                        continue
                    found[(version, r["kind"])] = Resource(
                        version,
                        r["kind"],
                        r["name"],
                        r["namespaced"],
                        "list" in r.get("verbs", []),
                        f"{r['name']}/status" in names,
                    )
            self._resources = found
        return self._resources

    def resource(self, api_version: str, kind: str) -> Resource:
        try:
            return self.resources()[(api_version, kind)]
        except KeyError:
            raise ApiError(f"{self.name} serves no {kind} in {api_version}") from None

    def create(self, manifest: dict) -> dict:
        """Creates `manifest`; a `status` in it is then set through the status subresource, as
        the controller that owns the kind would (a kind without one keeps the status it was
        created with). Returns the object as the server holds it."""
        res = self.resource(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        live = self.call("POST", res.path(meta.get("namespace")), manifest)
        if manifest.get("status") and res.status:
            live = self.call(
                "PATCH",
                res.path(meta.get("namespace"), meta["name"]) + "/status",
                {"status": manifest["status"]},
                "application/merge-patch+json",
            )
        return live

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        return self.call("GET", self.resource(api_version, kind).path(namespace, name))

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict]:
        """The objects of one kind (in `namespace`, or everywhere), each with apiVersion/kind."""
        items = self.call("GET", self.resource(api_version, kind).path(namespace))["items"]
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def everything(self) -> list[dict]:
        """Every object of every listable type: the cluster as a backup tool sees it."""
        out = []
        for (api_version, kind), res in sorted(self.resources().items()):
            if res.listable:
                out.extend(self.list(api_version, kind))
        return out


def load(cluster: Cluster, manifests: list[dict]) -> list[dict]:
    """Creates `manifests` in order and returns the live objects. An ownerReference names its
    owner by kind and name; its uid is set to the uid the owner got on this server (owners come
    first in the list, as a DataVolume before its PVC)."""
    uids: dict[tuple[str, str, str], str] = {}
    created = []
    for manifest in manifests:
        manifest = copy.deepcopy(manifest)
        meta = manifest["metadata"]
        namespace = meta.get("namespace", "")
        for ref in meta.get("ownerReferences", []):
            owner = uids.get((ref["kind"], namespace, ref["name"]))
            if owner is None:
                raise ApiError(
                    f"{cluster.name}: owner {ref['kind']} {namespace}/{ref['name']} of "
                    f"{manifest['kind']} {meta['name']} is not created before it"
                )
            ref["uid"] = owner
        live = cluster.create(manifest)
        uids[(manifest["kind"], namespace, meta["name"])] = live["metadata"]["uid"]
        created.append(live)
    return created
