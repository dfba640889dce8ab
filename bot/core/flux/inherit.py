"""What a child Kustomization looks like after its parent's build: patches, namespace, variables.

Flux applies a parent Kustomization's ``spec.patches``, ``targetNamespace`` and ``postBuild``
substitution to the child Kustomization objects it deploys. Rendering the parent with kustomize
just to read those children would double the cost of a preview, so this module applies them in
Python: strategic-merge patches of a custom resource are JSON merge patches (RFC 7386), JSON6902
patches are RFC 6902 (``jsonpatch``). Anything else is reported in ``notes``.

    >>> merge_patch({"spec": {"a": 1, "b": [1]}}, {"spec": {"b": [2], "a": None}})
    {'spec': {'b': [2]}}
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping, Sequence
from typing import Any

import jsonpatch
import jsonpointer
import re2

from bot.core.errors import RenderError
from bot.core.flux._yaml import dump_yaml, load_rendered
from bot.core.flux.objects import FluxObjects, Kustomization, api_group
from bot.core.flux.substitute import collect_vars, envsubst, validate_names


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (a new value; inputs untouched)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json6902(doc: Any, ops: Sequence[Mapping[str, Any]]) -> Any:
    """RFC 6902 JSON patch (all six operations, via ``jsonpatch``) applied to a copy of ``doc``.

    A malformed patch or a failed ``test`` raises :class:`ValueError`, as kustomize refuses them.
    """
    patch: Any = [dict(op) for op in ops]  # checked by jsonpatch, not by the type system
    try:
        return jsonpatch.apply_patch(doc, patch, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


def _selector_matches(selector: str, labels: Mapping[str, Any]) -> bool | None:
    """Equality-based label selectors (``a=b,c!=d,e``); ``None`` when the form is unsupported."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = (x.strip() for x in term.split("!=", 1))
            if str(labels.get(k)) == v:
                return False
        elif "=" in term:
            k, v = (x.strip() for x in term.replace("==", "=").split("=", 1))
            if str(labels.get(k)) != v:
                return False
        elif " " in term or "(" in term:
            return None
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def target_matches(target: Mapping[str, Any] | None, doc: Mapping[str, Any]) -> bool | None:
    """Whether a kustomize patch ``target`` selects ``doc`` (``None``: cannot tell)."""
    if not target:
        return True
    meta = doc.get("metadata") or {}
    checks = {
        "group": api_group(str(doc.get("apiVersion") or "")),
        "version": str(doc.get("apiVersion") or "").rsplit("/", 1)[-1],
        "kind": str(doc.get("kind") or ""),
        "name": str(meta.get("name") or ""),
        "namespace": str(meta.get("namespace") or ""),
    }
    for field, value in checks.items():
        want = target.get(field)
        if want is None or want == "":
            continue
        if not re2.fullmatch(str(want), value):
            return False
    for field, source in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        if target.get(field):
            ok = _selector_matches(str(target[field]), meta.get(source) or {})
            if ok is not True:
                return ok
    return True


def apply_patches(
    doc: Mapping[str, Any], patches: Sequence[Any], load: Any
) -> tuple[dict[str, Any], list[str]]:
    """Apply Flux/kustomize inline ``patches`` to one object; unsupported ones become notes."""
    result: dict[str, Any] = copy.deepcopy(dict(doc))
    notes: list[str] = []
    for patch in patches:
        if not isinstance(patch, Mapping) or not isinstance(patch.get("patch"), str):
            notes.append("a parent patch given by path was not applied")
            continue
        matched = target_matches(patch.get("target"), result)
        body = load(patch["patch"], "patch")
        body = body[0] if body else None
        if matched is None:
            notes.append("a parent patch with a set-based selector was not applied")
            continue
        if isinstance(body, list):
            if matched:
                try:
                    result = json6902(result, body)
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    notes.append(f"a parent JSON patch could not be applied: {exc}")
            continue
        if not isinstance(body, Mapping):
            continue
        if not patch.get("target"):  # strategic merge without target: selected by its own id
            bmeta = body.get("metadata") or {}
            matched = body.get("kind") == result.get("kind") and bmeta.get("name") == (
                result.get("metadata") or {}
            ).get("name")
        if matched:
            body = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
            meta = dict(body.get("metadata") or {})
            meta.pop("name", None)
            meta.pop("namespace", None)
            body["metadata"] = meta
            result = merge_patch(result, body)
    return result, notes


def _decode(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return str(value)


def resolve_vars(
    ks: Mapping[str, Any], namespace: str, objects: FluxObjects
) -> tuple[dict[str, str], list[str]]:
    """The variables of a Kustomization's ``postBuild`` with ConfigMaps/Secrets from the repo.

    References the repository does not hold are reported as notes (the cluster may hold them).
    """
    post = (ks.get("spec") or {}).get("postBuild") or {}
    sources: list[Mapping[str, str]] = []
    notes: list[str] = []
    for ref in post.get("substituteFrom") or []:
        kind, name = ref.get("kind"), ref.get("name")
        found = [
            o.raw
            for o in objects.config
            if o.key.kind == kind and o.key.name == name and o.key.namespace in ("", namespace)
        ]
        if not found:
            if not ref.get("optional"):
                notes.append(f"substituteFrom {kind}/{name} is not in the repository")
            continue
        raw = found[-1]
        data: dict[str, str] = {}
        if kind == "Secret":
            data.update({k: _decode(v) for k, v in (raw.get("data") or {}).items()})
            data.update({k: str(v) for k, v in (raw.get("stringData") or {}).items()})
        else:
            data.update({k: str(v) for k, v in (raw.get("data") or {}).items()})
        sources.append(data)
    inline = {
        str(k): "" if v is None else str(v) for k, v in (post.get("substitute") or {}).items()
    }
    merged = collect_vars(sources, inline)
    validate_names(merged)
    return merged, notes


def substitute_object(obj: Mapping[str, Any], variables: Mapping[str, str]) -> Any:
    """One object through envsubst, as kustomize-controller does (via its serialised form)."""
    out = envsubst(dump_yaml(obj), variables)
    docs = load_rendered(out, "substitution")
    if len(docs) != 1:
        raise RenderError("variable substitution produced invalid output")
    return docs[0]


def effective_child(
    child: Kustomization, parent: Kustomization | None, objects: FluxObjects, load: Any
) -> tuple[dict[str, Any], list[str]]:
    """The child Kustomization object as the parent's build would produce it."""
    doc: dict[str, Any] = copy.deepcopy(dict(child.raw))
    meta = dict(doc.get("metadata") or {})
    if child.namespace and not meta.get("namespace"):
        meta["namespace"] = child.namespace
    doc["metadata"] = meta
    if parent is None:
        return doc, []
    pspec = parent.raw.get("spec") or {}
    notes: list[str] = []
    if pspec.get("targetNamespace"):
        meta["namespace"] = str(pspec["targetNamespace"])
    doc, patch_notes = apply_patches(doc, list(pspec.get("patches") or []), load)
    notes += patch_notes
    if "postBuild" in pspec:
        from bot.core.flux.substitute import disabled

        variables, var_notes = resolve_vars(parent.raw, parent.namespace, objects)
        notes += var_notes
        if variables and not disabled(doc):
            doc = substitute_object(doc, variables)
    return doc, notes
