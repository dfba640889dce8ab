"""Object-level diff of two renders: created, deleted and changed objects with unified YAML diffs.

Objects are matched by ``(apiVersion group, kind, namespace, name)``; each side is noise-stripped
and masked (:mod:`bot.core.flux.mask`) before it is serialised with sorted keys, so the diff shows
what
a reviewer should see and never a secret value. Known secret strings (values of Secrets and
SOPS-decrypted variables) are also scrubbed from every line as a last guard.

    >>> changes = diff_objects([deploy_v1], [deploy_v2])      # doctest: +SKIP
    >>> changes[0].action, changes[0].key.kind
    ('changed', 'Deployment')
"""

from __future__ import annotations

import base64
import difflib
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.flux._yaml import dump_yaml
from bot.core.flux.mask import (
    MASK,
    NoiseRules,
    is_secret,
    mask_secret_pair,
    mask_sops,
    secret_pieces,
    strip_noise,
)
from bot.core.flux.objects import FluxObjects, ObjectKey, object_key

MAX_OBJECT_DIFF = 20_000
MIN_SECRET_LEN = 4


class Action(enum.StrEnum):
    CREATED = "created"
    DELETED = "deleted"
    CHANGED = "changed"


@dataclass(frozen=True)
class ObjectChange:
    key: ObjectKey
    action: Action
    diff: str
    renamed_from: ObjectKey | None = None  # a generated ConfigMap/Secret's previous hash name


_HASHED = re.compile(r"^(?P<stem>.+)-[a-z0-9]{10}\Z")
GENERATED_KINDS = ("ConfigMap", "Secret")


def generated_pairs(
    old: Mapping[ObjectKey, Any], new: Mapping[ObjectKey, Any]
) -> dict[ObjectKey, ObjectKey]:
    """Generated ConfigMaps/Secrets whose hash suffix changed, paired by generator name.

    kustomize names a generated object ``<name>-<10-character hash>``; an edit changes the
    hash, which would read as one delete and one create of the whole object. An unmatched
    object on each side with the same kind, namespace and stem is one object changed.
    """

    def stems(
        keys: Mapping[ObjectKey, Any], other: Mapping[ObjectKey, Any]
    ) -> dict[Any, list[ObjectKey]]:
        found: dict[Any, list[ObjectKey]] = {}
        for key in keys:
            if key in other or key.group != "" or key.kind not in GENERATED_KINDS:
                continue
            match = _HASHED.match(key.name)
            if match:
                found.setdefault((key.kind, key.namespace, match["stem"]), []).append(key)
        return found

    before, after = stems(old, new), stems(new, old)
    return {
        after[stem][0]: keys[0]
        for stem, keys in before.items()
        if len(keys) == 1 and len(after.get(stem, [])) == 1
    }


@dataclass(frozen=True)
class DiffOptions:
    noise: NoiseRules = field(default_factory=NoiseRules)
    context: int = 3
    max_object_diff: int = MAX_OBJECT_DIFF
    secrets: frozenset[str] = frozenset()


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret string in ``text`` with the mask (longest first)."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= MIN_SECRET_LEN and value in text:
            text = text.replace(value, MASK)
    return text


def secret_values(objects: FluxObjects) -> frozenset[str]:
    """Values of every Secret in a tree (raw and base64-decoded), for :func:`scrub`."""
    found: set[str] = set()
    for obj in objects.config:
        if obj.key.kind != "Secret":
            continue
        for name in ("data", "stringData"):
            section = obj.raw.get(name)
            if not isinstance(section, Mapping):
                continue
            for value in section.values():
                text = str(value)
                found |= secret_pieces(text)
                if name == "data":
                    try:
                        decoded = base64.b64decode(text, validate=True).decode("utf-8")
                    except (ValueError, UnicodeDecodeError):
                        continue
                    found |= secret_pieces(decoded)
    return frozenset(v for v in found if len(v) >= MIN_SECRET_LEN)


def index(objects: Iterable[Mapping[str, Any]]) -> dict[ObjectKey, Mapping[str, Any]]:
    """Objects by identity (a later duplicate wins, as an apply would)."""
    return {object_key(o): o for o in objects if isinstance(o, Mapping)}


def _text(obj: Mapping[str, Any] | None, opts: DiffOptions) -> list[str]:
    if obj is None:
        return []
    return scrub(dump_yaml(obj), opts.secrets).splitlines(keepends=True)


def _prepare(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, opts: DiffOptions
) -> tuple[Any, Any]:
    old = strip_noise(old, opts.noise) if old is not None else None
    new = strip_noise(new, opts.noise) if new is not None else None
    if is_secret(old) or is_secret(new):
        return mask_secret_pair(old, new)
    return (
        mask_sops(old) if old is not None else None,
        mask_sops(new) if new is not None else None,
    )


def diff_objects(
    base: Iterable[Mapping[str, Any]],
    head: Iterable[Mapping[str, Any]],
    options: DiffOptions | None = None,
) -> list[ObjectChange]:
    """Created, deleted and changed objects, sorted by identity."""
    opts = options or DiffOptions()
    old_index, new_index = index(base), index(head)
    renamed = generated_pairs(old_index, new_index)  # new key -> old key
    paired_old = set(renamed.values())
    changes: list[ObjectChange] = []
    for key in sorted((set(old_index) - paired_old) | set(new_index)):
        old_key = renamed.get(key, key)
        old, new = _prepare(old_index.get(old_key), new_index.get(key), opts)
        if old == new:
            continue
        action = (
            Action.CREATED if old is None else Action.DELETED if new is None else Action.CHANGED
        )
        lines = difflib.unified_diff(
            _text(old, opts), _text(new, opts), f"a/{old_key}", f"b/{key}", n=opts.context
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        if action is Action.CHANGED and not text:
            continue  # differences only in masked values that compare equal once masked
        if action is not Action.CHANGED and len(text) > opts.max_object_diff:
            # a created or deleted body is cut; a change's hunks never are
            cut = text.rfind("\n", 0, opts.max_object_diff) + 1
            text = text[:cut] + f"... body of {key} cut ({len(text)} characters)\n"
        changes.append(ObjectChange(key, action, text, old_key if old_key != key else None))
    return changes


def _images(obj: Any, found: set[str]) -> None:
    if isinstance(obj, Mapping):
        image = obj.get("image")
        if isinstance(image, str) and image:
            found.add(image)
        repo, tag = obj.get("repository"), obj.get("tag")
        if isinstance(repo, str) and isinstance(tag, str | int | float) and repo:
            found.add(f"{repo}:{tag}")
        for value in obj.values():
            _images(value, found)
    elif isinstance(obj, list):
        for value in obj:
            _images(value, found)


def _split(image: str) -> tuple[str, str]:
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :] + ("@" + digest if digest else "")
    return name, "@" + digest if digest else ""


def image_changes(
    base: Iterable[Mapping[str, Any]], head: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """Images that differ: ``(old, new)`` pairs matched by repository; ``""`` when none."""
    old: set[str] = set()
    new: set[str] = set()
    for obj in base:
        _images(obj, old)
    for obj in head:
        _images(obj, new)
    removed, added = sorted(old - new), sorted(new - old)
    pairs: list[tuple[str, str]] = []
    for image in removed:
        repo = _split(image)[0]
        match = next((a for a in added if _split(a)[0] == repo), None)
        if match is not None:
            added.remove(match)
        pairs.append((image, match or ""))
    pairs.extend(("", image) for image in added)
    return pairs


@dataclass(frozen=True)
class KustomizationDiff:
    """What one Kustomization's objects do between base and head."""

    label: str
    key: ObjectKey
    changes: tuple[ObjectChange, ...] = ()
    images: tuple[tuple[str, str], ...] = ()
    base_error: str | None = None
    head_error: str | None = None
    notes: tuple[str, ...] = ()

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    @property
    def empty(self) -> bool:
        return not self.changes and not self.base_error and not self.head_error


@dataclass(frozen=True)
class PreviewDiff:
    """The whole preview: one entry per affected Kustomization that changed or failed."""

    kustomizations: tuple[KustomizationDiff, ...] = ()
    affected: int = 0
    problems: tuple[str, ...] = ()
    # changed manifests that no Kustomization of the repository reconciles (not rendered)
    unreconciled: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return all(k.empty for k in self.kustomizations)

    @property
    def failed(self) -> tuple[KustomizationDiff, ...]:
        """The Kustomizations that could not be rendered on a side."""
        return tuple(k for k in self.kustomizations if k.base_error or k.head_error)

    def as_dict(self) -> dict[str, Any]:
        return {
            "affected": self.affected,
            "problems": list(self.problems),
            "unreconciled": list(self.unreconciled),
            "render_failed": [k.label for k in self.failed],
            "kustomizations": [
                {
                    "kustomization": k.label,
                    "key": {
                        "group": k.key.group,
                        "kind": k.key.kind,
                        "namespace": k.key.namespace,
                        "name": k.key.name,
                    },
                    "created": k.count(Action.CREATED),
                    "changed": k.count(Action.CHANGED),
                    "deleted": k.count(Action.DELETED),
                    "images": [{"from": a, "to": b} for a, b in k.images],
                    "base_error": k.base_error,
                    "head_error": k.head_error,
                    "notes": list(k.notes),
                    "objects": [
                        {
                            "action": str(c.action),
                            "kind": c.key.kind,
                            "group": c.key.group,
                            "namespace": c.key.namespace,
                            "name": c.key.name,
                            "diff": c.diff,
                        }
                        for c in k.changes
                    ],
                }
                for k in self.kustomizations
            ],
        }
