"""Flux source kinds: GitRepository, OCIRepository, HelmRepository, HelmChart, ExternalArtifact
(``source.toolkit.fluxcd.io``) and ArtifactGenerator (``source.extensions.fluxcd.io``).

    >>> GitRepository.parse({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
    ...     "metadata": {"name": "r"}, "spec": {"url": "https://x/y"}}).url
    'https://x/y'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bot.core.flux.base import (
    SOURCE_EXT_GROUP,
    SOURCE_GROUP,
    FluxObject,
    SourceRef,
    _base,
    _list,
    _map,
    _spec,
    _str,
)


@dataclass(frozen=True)
class GitRepository(FluxObject):
    GROUP: ClassVar[str] = SOURCE_GROUP
    KIND: ClassVar[str] = "GitRepository"
    url: str = ""
    ref: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def parse(cls, doc: Any, path: str = "", index: int = 0, namespace: str = "") -> GitRepository:
        base = _base(cls, doc, path, index, namespace)
        spec = _spec(doc)
        return cls(**base, url=_str(spec, "url", required=True), ref=_map(spec, "ref"))


@dataclass(frozen=True)
class OCIRepository(FluxObject):
    GROUP: ClassVar[str] = SOURCE_GROUP
    KIND: ClassVar[str] = "OCIRepository"
    url: str = ""
    ref: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def parse(cls, doc: Any, path: str = "", index: int = 0, namespace: str = "") -> OCIRepository:
        base = _base(cls, doc, path, index, namespace)
        spec = _spec(doc)
        return cls(**base, url=_str(spec, "url", required=True), ref=_map(spec, "ref"))


@dataclass(frozen=True)
class HelmRepository(FluxObject):
    GROUP: ClassVar[str] = SOURCE_GROUP
    KIND: ClassVar[str] = "HelmRepository"
    url: str = ""
    type: str = "default"

    @classmethod
    def parse(cls, doc: Any, path: str = "", index: int = 0, namespace: str = "") -> HelmRepository:
        base = _base(cls, doc, path, index, namespace)
        spec = _spec(doc)
        return cls(**base, url=_str(spec, "url"), type=_str(spec, "type") or "default")


@dataclass(frozen=True)
class HelmChart(FluxObject):
    GROUP: ClassVar[str] = SOURCE_GROUP
    KIND: ClassVar[str] = "HelmChart"
    chart: str = ""
    version: str = ""
    source_ref: SourceRef = field(default_factory=lambda: SourceRef("", "", ""))

    @classmethod
    def parse(cls, doc: Any, path: str = "", index: int = 0, namespace: str = "") -> HelmChart:
        base = _base(cls, doc, path, index, namespace)
        spec = _spec(doc)
        return cls(
            **base,
            chart=_str(spec, "chart", required=True),
            version=_str(spec, "version"),
            source_ref=SourceRef.parse(spec.get("sourceRef"), base["key"].namespace),
        )


@dataclass(frozen=True)
class ExternalArtifact(FluxObject):
    GROUP: ClassVar[str] = SOURCE_GROUP
    KIND: ClassVar[str] = "ExternalArtifact"
    source_ref: SourceRef | None = None

    @classmethod
    def parse(
        cls, doc: Any, path: str = "", index: int = 0, namespace: str = ""
    ) -> ExternalArtifact:
        base = _base(cls, doc, path, index, namespace)
        raw = _spec(doc).get("sourceRef")
        ref = SourceRef.parse(raw, base["key"].namespace) if raw else None
        return cls(**base, source_ref=ref)


@dataclass(frozen=True)
class CopyRule:
    """One ArtifactGenerator copy operation: ``@alias/glob`` → ``@artifact/dest``."""

    source: str
    pattern: str
    to: str
    exclude: tuple[str, ...] = ()
    strategy: str = "Overwrite"


@dataclass(frozen=True)
class OutputArtifact:
    name: str
    copy: tuple[CopyRule, ...]


@dataclass(frozen=True)
class ArtifactGenerator(FluxObject):
    GROUP: ClassVar[str] = SOURCE_EXT_GROUP
    KIND: ClassVar[str] = "ArtifactGenerator"
    sources: Mapping[str, SourceRef] = field(default_factory=dict, compare=False, hash=False)
    artifacts: tuple[OutputArtifact, ...] = ()

    @classmethod
    def parse(
        cls, doc: Any, path: str = "", index: int = 0, namespace: str = ""
    ) -> ArtifactGenerator:
        base = _base(cls, doc, path, index, namespace)
        ns = base["key"].namespace
        spec = _spec(doc)
        sources: dict[str, SourceRef] = {}
        for src in _list(spec, "sources"):
            if not isinstance(src, Mapping) or not src.get("alias"):
                raise ValueError("spec.sources items need an alias")
            sources[str(src["alias"])] = SourceRef.parse(src, ns, "spec.sources[]")
        artifacts = []
        for art in _list(spec, "artifacts"):
            if not isinstance(art, Mapping) or not art.get("name"):
                raise ValueError("spec.artifacts items need a name")
            rules = []
            for rule in art.get("copy") or []:
                if not isinstance(rule, Mapping):
                    raise ValueError("spec.artifacts[].copy items must be mappings")
                src, to = str(rule.get("from") or ""), str(rule.get("to") or "")
                if not src.startswith("@") or "/" not in src or not to.startswith("@artifact"):
                    raise ValueError(f"bad copy rule from={src!r} to={to!r}")
                alias, pattern = src[1:].split("/", 1)
                rules.append(
                    CopyRule(
                        alias,
                        pattern,
                        to[len("@artifact") :].lstrip("/") if to != "@artifact" else "",
                        tuple(str(x) for x in rule.get("exclude") or ()),
                        str(rule.get("strategy") or "Overwrite"),
                    )
                )
            artifacts.append(OutputArtifact(str(art["name"]), tuple(rules)))
        return cls(**base, sources=sources, artifacts=tuple(artifacts))
