"""A fake Kubernetes API server for Flux's GitRepository and Kustomization objects (aiohttp).

It serves what fluxbot uses — ``GET`` and ``PATCH`` of
``/apis/{group}/{version}/namespaces/{ns}/{plural}/{name}`` — and behaves like a real API server
where it matters:

* ``Authorization: Bearer <token>`` is required (401 ``Status`` otherwise);
* ``application/strategic-merge-patch+json`` on a custom resource → 415 ``UnsupportedMediaType``;
  ``application/json-patch+json`` needs a JSON array (400 otherwise);
  ``application/merge-patch+json`` is applied as RFC 7386;
* the patched object is validated against the CRD's ``openAPIV3Schema`` from
  ``shared/testdata/flux-crds`` (jsonschema) and ObjectMeta's rule that annotations are strings
  (422 ``Invalid`` otherwise).

Controllers are simulated: a ``reconcile.fluxcd.io/requestedAt`` change on a GitRepository makes
it fetch ``head`` (its artifact revision becomes ``<branch>@sha1:<head>``); a Kustomization whose
reconcile was requested (or whose source moved) reaches its :class:`Behaviour` outcome after
``after`` reads: ``ready`` (Ready=True, applied the source revision), ``failed`` (Ready=False with
a message) or ``stuck`` (Ready=Unknown, Progressing, forever).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web
from ruamel.yaml import YAML

from tests.support.paths import FLUX_CRDS

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
KINDS = {
    ("source.toolkit.fluxcd.io", "gitrepositories"): (
        "GitRepository",
        "source.toolkit.fluxcd.io_gitrepositories.yaml",
    ),
    ("kustomize.toolkit.fluxcd.io", "kustomizations"): (
        "Kustomization",
        "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
    ),
}
ACCEPTED = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"


@cache
def crd_schema(filename: str, version: str) -> dict[str, Any] | None:
    """The openAPIV3Schema of ``version`` in a CRD file (None when that version is not served)."""
    crd = YAML(typ="safe").load(Path(FLUX_CRDS, filename).read_text(encoding="utf-8"))
    for v in crd["spec"]["versions"]:
        if v["name"] == version and v.get("served", True):
            schema: dict[str, Any] = v["schema"]["openAPIV3Schema"]
            return schema
    return None


def validate_object(filename: str, version: str, obj: dict[str, Any]) -> list[str]:
    """Problems with ``obj`` by the CRD schema and ObjectMeta rules (empty: valid)."""
    schema = crd_schema(filename, version)
    if schema is None:
        return [f"version {version} not served"]
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    problems = [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(obj)
    ]
    meta = obj.get("metadata") or {}
    for key in ("annotations", "labels"):
        values = meta.get(key)
        if values is None:
            continue
        if not isinstance(values, dict):
            problems.append(f"metadata.{key}: must be a map of strings")
            continue
        for k, v in values.items():
            if not isinstance(v, str):
                problems.append(f"metadata.{key}.{k}: must be a string, got {type(v).__name__}")
    return problems


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def json_patch(target: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """RFC 6902 ``add``/``replace``/``remove``/``test`` on object paths (all fluxbot could send)."""
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ValueError("invalid JSON patch operation")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        if not parts:
            raise ValueError("empty path")
        parent = doc
        for part in parts[:-1]:
            if not isinstance(parent, dict) or part not in parent:
                raise ValueError(f"path {op['path']} does not exist")
            parent = parent[part]
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if op["op"] == "replace" and last not in parent:
                raise ValueError(f"path {op['path']} does not exist")
            parent[last] = op.get("value")
        elif op["op"] == "remove":
            if last not in parent:
                raise ValueError(f"path {op['path']} does not exist")
            del parent[last]
        elif op["op"] == "test":
            if parent.get(last) != op.get("value"):
                raise ValueError("test failed")
        else:
            raise ValueError(f"unsupported op {op['op']}")
    return doc


def status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)


@dataclass
class Behaviour:
    """How a Kustomization's (simulated) controller answers a reconcile."""

    outcome: str = "ready"  # ready | failed | stuck
    after: int = 1  # reads of the object before the outcome shows
    message: str = "kustomize build failed: accumulating resources: missing file"


@dataclass
class _Pending:
    requested_at: str | None
    reads: int = 0


@dataclass
class KubeFake:
    """State of the fake cluster; ``app()`` serves it."""

    token: str = "kube-test-token"
    head: str = "0" * 40
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    behaviour: dict[tuple[str, str], Behaviour] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    pending: dict[tuple[str, str], _Pending] = field(default_factory=dict)
    url: str = ""

    # ------------------------------------------------------------ setup

    def add_gitrepository(
        self, namespace: str = "flux-system", name: str = "flux-system", branch: str = "main"
    ) -> None:
        rev = f"{branch}@sha1:{self.head}"
        self.objects[("gitrepositories", namespace, name)] = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace, "generation": 1},
            "spec": {
                "interval": "10m",
                "url": "https://example.invalid/o/r",
                "ref": {"branch": branch},
            },
            "status": {
                "observedGeneration": 1,
                "artifact": _artifact(rev),
                "conditions": [_cond("True", "Succeeded", f"stored artifact for revision '{rev}'")],
            },
        }

    def add_kustomization(
        self,
        namespace: str,
        name: str,
        behaviour: Behaviour | None = None,
        source: tuple[str, str] = ("flux-system", "flux-system"),
    ) -> None:
        rev = self._source_revision(source)
        self.behaviour[(namespace, name)] = behaviour or Behaviour()
        self.objects[("kustomizations", namespace, name)] = {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace, "generation": 1},
            "spec": {
                "interval": "10m",
                "path": f"./{name}",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": source[1], "namespace": source[0]},
            },
            "status": {
                "observedGeneration": 1,
                "lastAppliedRevision": rev,
                "lastAttemptedRevision": rev,
                "conditions": [
                    _cond("True", "ReconciliationSucceeded", f"Applied revision: {rev}")
                ],
            },
        }

    def push(self, sha: str) -> None:
        """A new commit on the followed branch (Flux sees it once the source reconciles)."""
        self.head = sha

    def patches(self) -> list[tuple[str, str]]:
        """(path, content type) of every PATCH received."""
        return [(path, ct) for method, path, ct in self.requests if method == "PATCH"]

    # ------------------------------------------------------------ simulation

    def _source_revision(self, source: tuple[str, str]) -> str:
        repo = self.objects.get(("gitrepositories", source[0], source[1]))
        return str(repo["status"]["artifact"]["revision"]) if repo else f"main@sha1:{self.head}"

    def _reconcile_source(self, obj: dict[str, Any], at: str) -> None:
        branch = obj["spec"].get("ref", {}).get("branch", "main")
        rev = f"{branch}@sha1:{self.head}"
        st = obj.setdefault("status", {})
        moved = st.get("artifact", {}).get("revision") != rev
        st["lastHandledReconcileAt"] = at
        st["artifact"] = _artifact(rev)
        st["conditions"] = [_cond("True", "Succeeded", f"stored artifact for revision '{rev}'")]
        if moved:  # kustomize-controller reacts to a new source artifact
            meta = obj["metadata"]
            for (plural, ns, name), ks in self.objects.items():
                ref = ks.get("spec", {}).get("sourceRef", {})
                if plural == "kustomizations" and (
                    ref.get("name"),
                    ref.get("namespace", ns),
                ) == (meta["name"], meta["namespace"]):
                    self.pending.setdefault((ns, name), _Pending(None))

    def _progress(self, ns: str, name: str, obj: dict[str, Any]) -> None:
        pending = self.pending.get((ns, name))
        if pending is None:
            return
        pending.reads += 1
        beh = self.behaviour.get((ns, name), Behaviour())
        st = obj.setdefault("status", {})
        if beh.outcome == "stuck" or pending.reads < beh.after:
            st["conditions"] = [_cond("Unknown", "Progressing", "Reconciliation in progress")]
            return
        ref = obj["spec"]["sourceRef"]
        rev = self._source_revision((ref.get("namespace", ns), ref["name"]))
        if pending.requested_at is not None:
            st["lastHandledReconcileAt"] = pending.requested_at
        st["lastAttemptedRevision"] = rev
        if beh.outcome == "failed":
            st["conditions"] = [_cond("False", "BuildFailed", beh.message)]
        else:
            st["lastAppliedRevision"] = rev
            st["conditions"] = [
                _cond("True", "ReconciliationSucceeded", f"Applied revision: {rev}")
            ]
        del self.pending[(ns, name)]

    # ------------------------------------------------------------ HTTP

    def app(self) -> web.Application:
        app = web.Application()
        route = "/apis/{group}/{version}/namespaces/{ns}/{plural}/{name}"
        app.router.add_get(route, self._get)
        app.router.add_patch(route, self._patch)
        return app

    def _check(self, request: web.Request) -> tuple[Any, ...] | web.Response:
        self.requests.append(
            (request.method, request.path, request.headers.get("Content-Type", ""))
        )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return status(401, "Unauthorized", "Unauthorized")
        m = request.match_info
        kind = KINDS.get((m["group"], m["plural"]))
        if kind is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        key = (m["plural"], m["ns"], m["name"])
        if key not in self.objects:
            return status(404, "NotFound", f'{m["plural"]}.{m["group"]} "{m["name"]}" not found')
        return key, kind, m["version"]

    async def _get(self, request: web.Request) -> web.Response:
        checked = self._check(request)
        if isinstance(checked, web.Response):
            return checked
        key, _kind, _version = checked
        obj = self.objects[key]
        if key[0] == "kustomizations":
            self._progress(key[1], key[2], obj)
        return web.json_response(obj)

    async def _patch(self, request: web.Request) -> web.Response:
        checked = self._check(request)
        if isinstance(checked, web.Response):
            return checked
        key, (kind, crd_file), version = checked
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            body = json.loads(await request.read())
        except ValueError:
            return status(400, "BadRequest", "error decoding patch: invalid JSON")
        obj = self.objects[key]
        if ctype == "application/merge-patch+json":
            if not isinstance(body, dict):
                return status(400, "BadRequest", "merge patch must be a JSON object")
            new = merge_patch(obj, body)
        elif ctype == "application/json-patch+json":
            if not isinstance(body, list):
                return status(
                    400,
                    "BadRequest",
                    "json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp",
                )
            try:
                new = json_patch(obj, body)
            except ValueError as exc:
                return status(422, "Invalid", str(exc))
        else:
            return status(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {ACCEPTED}",
            )
        problems = validate_object(crd_file, version, new)
        meta = new.get("metadata") or {}
        if (meta.get("name"), meta.get("namespace")) != (key[2], key[1]):
            problems.append("metadata.name/namespace: field is immutable")
        if problems:
            return status(422, "Invalid", f"{kind} {key[2]!r} is invalid: " + "; ".join(problems))
        old_at = (obj.get("metadata", {}).get("annotations") or {}).get(REQUESTED_AT)
        new_at = (meta.get("annotations") or {}).get(REQUESTED_AT)
        self.objects[key] = new
        if new_at and new_at != old_at:
            if key[0] == "gitrepositories":
                self._reconcile_source(new, new_at)
            else:
                self.pending[(key[1], key[2])] = _Pending(new_at)
        return web.json_response(new)

    def kubeconfig(self, path: Path) -> Path:
        """Write a kubeconfig for this server (bearer token, plain HTTP on loopback)."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fluxbot", "user": {"token": self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fluxbot"}}],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config), encoding="utf-8")
        return path


def _cond(state: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": state,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 1,
    }


def _artifact(rev: str) -> dict[str, Any]:
    return {
        "revision": rev,
        "digest": "sha256:" + "a" * 64,
        "path": "gitrepository/flux-system/flux-system/artifact.tar.gz",
        "url": "http://source-controller.flux-system.svc/artifact.tar.gz",
        "lastUpdateTime": "2026-01-01T00:00:00Z",
    }
