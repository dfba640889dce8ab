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
_PATH_LISTS = (
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "patchesStrategicMerge",
)


def remote_references(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """Every entry of a kustomization that names something to download instead of a file."""
    found: list[str] = []

    def check(value: Any) -> None:
        if isinstance(value, str) and "\n" not in value and _REMOTE.match(value.strip()):
            found.append(value.strip())

    def items(name: str, source: Mapping[str, Any] = doc) -> list[Any]:
        value = source.get(name)
        return value if isinstance(value, list) else []

    for name in _PATH_LISTS:
        for value in items(name):
            check(value)
    for name in ("patches", "patchesJson6902", "replacements"):
        for entry in items(name):
            if isinstance(entry, Mapping):
                check(entry.get("path"))
    openapi = doc.get("openapi")
    if isinstance(openapi, Mapping):
        check(openapi.get("path"))
    for name in ("configMapGenerator", "secretGenerator"):
        for gen in items(name):
            if isinstance(gen, Mapping):
                for item in items("files", gen) + items("envs", gen) + [gen.get("env")]:
                    check(item.split("=", 1)[-1] if isinstance(item, str) else item)
    return tuple(found)


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

    @classmethod
    def parse(cls, doc: Any, path: str) -> KustomizeFile:
        """Entries stay relative to the file's directory (resolve with :meth:`resolve`)."""
        if not isinstance(doc, Mapping):
            raise ValueError("not a mapping")

        def strings(name: str) -> list[str]:
            value = doc.get(name) or []
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        patches = [
            str(p["path"])
            for name in ("patches", "patchesJson6902")
            for p in doc.get(name) or []
            if isinstance(p, Mapping) and isinstance(p.get("path"), str)
        ]
        patches += [p for p in strings("patchesStrategicMerge") if "\n" not in p]
        others = strings("crds") + strings("configurations")
        for gen in list(doc.get("configMapGenerator") or []) + list(
            doc.get("secretGenerator") or []
        ):
            if not isinstance(gen, Mapping):
                continue
            for item in list(gen.get("files") or []) + list(gen.get("envs") or []):
                others.append(str(item).split("=", 1)[-1])
            if isinstance(gen.get("env"), str):
                others.append(gen["env"])
        base = posixpath.dirname(path)
        return cls(
            dir="" if base == "." else base,
            path=path,
            namespace=str(doc.get("namespace") or ""),
            resources=tuple(strings("resources") + strings("bases")),
            components=tuple(strings("components")),
            patch_files=tuple(patches),
            other_files=tuple(others),
            remote=remote_references(doc),
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
