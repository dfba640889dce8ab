"""Identity and the common shape of Flux objects: keys, source references, the base model.

Shared by :mod:`bot.core.flux.objects` (kinds and the tree scan) and :mod:`bot.core.flux.sources`.

    >>> object_key({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}})
    ObjectKey(group='apps', kind='Deployment', namespace='', name='a')
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

IMAGE_GROUP = "image.toolkit.fluxcd.io"
KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
HELM_GROUP = "helm.toolkit.fluxcd.io"
SOURCE_GROUP = "source.toolkit.fluxcd.io"
SOURCE_EXT_GROUP = "source.extensions.fluxcd.io"


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Identity of a Kubernetes object: ``(group, kind, namespace, name)``; core group is ``""``."""

    group: str
    kind: str
    namespace: str
    name: str

    @property
    def ref(self) -> str:
        """``namespace/name`` (just ``name`` for cluster-scoped objects)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return f"{self.kind}/{self.ref}"


KustomizationKey = ObjectKey


def api_group(api_version: str) -> str:
    """``apps/v1`` → ``apps``; ``v1`` → ``""``."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def object_key(doc: Mapping[str, Any], default_namespace: str = "") -> ObjectKey:
    """The identity of any Kubernetes object document."""
    meta = doc.get("metadata") or {}
    return ObjectKey(
        api_group(str(doc.get("apiVersion") or "")),
        str(doc.get("kind") or ""),
        str(meta.get("namespace") or default_namespace) if isinstance(meta, Mapping) else "",
        str(meta.get("name") or "") if isinstance(meta, Mapping) else "",
    )


@dataclass(frozen=True)
class SourceRef:
    """A ``sourceRef``/``chartRef``: kind, name and namespace (defaulted to the referrer's)."""

    kind: str
    name: str
    namespace: str

    @classmethod
    def parse(cls, raw: Any, default_namespace: str, what: str = "sourceRef") -> SourceRef:
        if not isinstance(raw, Mapping) or not raw.get("kind") or not raw.get("name"):
            raise ValueError(f"{what} must be a mapping with kind and name")
        return cls(
            str(raw["kind"]), str(raw["name"]), str(raw.get("namespace") or default_namespace)
        )


@dataclass(frozen=True)
class FluxObject:
    """Fields common to every Flux kind; ``raw`` is the document as loaded."""

    GROUP: ClassVar[str] = ""
    KIND: ClassVar[str] = ""

    key: ObjectKey
    file: str
    index: int
    raw: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def namespace(self) -> str:
        return self.key.namespace

    @property
    def spec(self) -> Mapping[str, Any]:
        spec = self.raw.get("spec")
        return spec if isinstance(spec, Mapping) else {}

    @property
    def where(self) -> str:
        return f"{self.file} (document {self.index + 1})"


_T = TypeVar("_T", bound=FluxObject)


def _base(cls: type[_T], doc: Any, path: str, index: int, namespace: str) -> dict[str, Any]:
    if not isinstance(doc, Mapping):
        raise ValueError("document is not a mapping")
    if api_group(str(doc.get("apiVersion") or "")) != cls.GROUP or doc.get("kind") != cls.KIND:
        raise ValueError(f"not a {cls.GROUP} {cls.KIND}")
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping) or not meta.get("name"):
        raise ValueError("metadata.name is missing")
    spec = doc.get("spec")
    if spec is not None and not isinstance(spec, Mapping):
        raise ValueError("spec must be a mapping")
    key = object_key(doc, namespace)
    return {"key": key, "file": path, "index": index, "raw": doc}


def _str(spec: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = spec.get(name)
    if value is None:
        if required:
            raise ValueError(f"spec.{name} is required")
        return ""
    if not isinstance(value, str | int | float | bool):
        raise ValueError(f"spec.{name} must be a string")
    return str(value)


def _map(spec: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = spec.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"spec.{name} must be a mapping")
    return value


def _list(spec: Mapping[str, Any], name: str) -> tuple[Any, ...]:
    value = spec.get(name)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"spec.{name} must be a list")
    return tuple(value)


def _spec(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = doc.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def clean_path(path: str) -> str:
    """Normalise a Flux ``spec.path`` (``./apps/`` → ``apps``; root → ``""``)."""
    norm = posixpath.normpath("/" + (path or "").strip()).lstrip("/")
    return "" if norm in (".", "") else norm
