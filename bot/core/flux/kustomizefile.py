"""What a ``kustomization.yaml`` reads: resources, components, patch and generator files.

>>> KustomizeFile.parse({"resources": ["../base"]}, "apps/kustomization.yaml").resources
('../base',)
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# what kustomize would fetch over the network: URLs (its loader reads http(s) files for any
# path field) and remote git bases
_REMOTE = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|git@|(?:github|gitlab|bitbucket)\.(?:com|org)/)"
)
_TRANSFORMS = (
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "replacements",
    "transformers",
    "namePrefix",
    "nameSuffix",
)
_RESOURCE_LISTS = ("resources", "bases", "generators", "transformers", "validators")
_PATH_LISTS = (*_RESOURCE_LISTS, "components", "crds", "configurations", "patchesStrategicMerge")


def path_entries(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every path-valued entry of a kustomization as ``(field, value)``, in file order.

    Fields: the resource-like lists (``resources``, ``bases``, ``components``, ``generators``,
    ``transformers``, ``validators``: a file or a directory), file lists (``crds``,
    ``configurations``, ``patchesStrategicMerge`` given by path), ``patches[].path``,
    ``patchesJson6902[].path``, ``replacements[].path``, ``openapi.path`` and generator
    ``files``/``envs``/``env`` (``key=path`` gives ``path``). Inline strings are skipped.
    """
    found: list[tuple[str, str]] = []

    def add(name: str, value: Any) -> None:
        if isinstance(value, str) and value.strip() and "\n" not in value:
            found.append((name, value.strip()))

    def items(name: str, source: Mapping[str, Any] = doc) -> list[Any]:
        value = source.get(name)
        return value if isinstance(value, list) else []

    for name in _PATH_LISTS:
        for value in items(name):
            add(name, value)
    for name in ("patches", "patchesJson6902", "replacements"):
        for entry in items(name):
            if isinstance(entry, Mapping):
                add(name, entry.get("path"))
    openapi = doc.get("openapi")
    if isinstance(openapi, Mapping):
        add("openapi", openapi.get("path"))
    for name in ("configMapGenerator", "secretGenerator"):
        for gen in items(name):
            if isinstance(gen, Mapping):
                for item in items("files", gen) + items("envs", gen) + [gen.get("env")]:
                    add(name, item.split("=", 1)[-1] if isinstance(item, str) else item)
    return found


def remote_references(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """Every entry of a kustomization that names something to download instead of a file."""
    return tuple(v for _, v in path_entries(doc) if _REMOTE.match(v))


def outside_references(doc: Mapping[str, Any], directory: str) -> tuple[str, ...]:
    """Local entries that leave the repository root from ``directory`` (or are absolute).

    kustomize-controller builds with ``LoadRestrictionsNone`` on a filesystem rooted at the
    source artifact: ``../`` may leave the kustomization's directory, never the artifact.
    """
    return tuple(
        v
        for _, v in path_entries(doc)
        if not _REMOTE.match(v)
        and (v.startswith("/") or KustomizeFile.resolve(directory, v) is None)
    )


@dataclass(frozen=True)
class KustomizeFile:
    """The parts of a ``kustomization.yaml`` that say which files it reads."""

    dir: str
    path: str
    namespace: str = ""
    resources: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    patch_files: tuple[str, ...] = ()
    other_files: tuple[str, ...] = ()
    remote: tuple[str, ...] = ()  # URLs and remote bases (refused when rendering)
    outside: tuple[str, ...] = ()  # entries leaving the repository root (refused too)
    # patches, replacements, transformers or name changes: may rewrite the objects it builds
    transforms: bool = False

    @classmethod
    def parse(cls, doc: Any, path: str) -> KustomizeFile:
        """Entries stay relative to the file's directory (resolve with :meth:`resolve`)."""
        if not isinstance(doc, Mapping):
            raise ValueError("not a mapping")

        def strings(name: str) -> list[str]:
            value = doc.get(name) or []
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        entries = path_entries(doc)
        patches = [v for f, v in entries if f in ("patches", "patchesJson6902")]
        patches += [p for p in strings("patchesStrategicMerge") if "\n" not in p]
        others = [
            v
            for f, v in entries
            if f in ("crds", "configurations", "replacements", "openapi") or f.endswith("Generator")
        ]
        base = posixpath.dirname(path)
        return cls(
            dir="" if base == "." else base,
            path=path,
            namespace=str(doc.get("namespace") or ""),
            resources=tuple(v for f in _RESOURCE_LISTS for v in strings(f)),
            components=tuple(strings("components")),
            patch_files=tuple(patches),
            other_files=tuple(others),
            remote=remote_references(doc),
            outside=outside_references(doc, "" if base == "." else base),
            transforms=any(doc.get(name) for name in _TRANSFORMS),
        )

    @staticmethod
    def resolve(directory: str, entry: str) -> str | None:
        """``entry`` relative to ``directory``; ``None`` for URLs and paths leaving the root."""
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            return None
        joined = posixpath.normpath(posixpath.join(directory or ".", entry))
        if joined.startswith("../") or joined == "..":
            return None
        return "" if joined == "." else joined


def _dir_of(path: str) -> str:
    d = posixpath.dirname(path)
    return "" if d == "." else d


def inferred_namespace(path: str, kustomize: Mapping[str, KustomizeFile]) -> str:
    """The ``namespace:`` of the nearest enclosing kustomization that sets one, or ``""``."""
    d = _dir_of(path)
    while True:
        kf = kustomize.get(d)
        if kf is not None and kf.namespace:
            return kf.namespace
        if not d:
            return ""
        d = _dir_of(d)
