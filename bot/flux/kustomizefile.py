"""What a ``kustomization.yaml`` reads: resources, components, patch and generator files.

>>> KustomizeFile.parse({"resources": ["../base"]}, "apps/kustomization.yaml").resources
('../base',)
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


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
