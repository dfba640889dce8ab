"""Typed models of the Flux objects found in a repository, and the scan that collects them.

One frozen dataclass per kind, each built by ``Kind.parse(doc, path=..., index=...)``, which checks
the API *group* (never the exact version) and the fields fluxbot relies on. :func:`parse_tree`
walks a whole tree (``{path: text}``) and never fails as a whole: a malformed object becomes a
:class:`ParseProblem` naming the file and the document.

    >>> objs = parse_tree({"ks.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\\n"
    ...     "kind: Kustomization\\nmetadata: {name: apps, namespace: flux-system}\\n"
    ...     "spec: {path: ./apps, sourceRef: {kind: GitRepository, name: flux-system}}\\n"})
    >>> objs.kustomizations[0].path
    'apps'
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bot.core.errors import ManifestError
from bot.core.flux.base import (
    _T,
    HELM_GROUP,
    IMAGE_GROUP,
    KUSTOMIZE_GROUP,
    SOURCE_EXT_GROUP,
    SOURCE_GROUP,
    FluxObject,
    KustomizationKey,
    ObjectKey,
    SourceRef,
    _base,
    _list,
    _map,
    _spec,
    _str,
    api_group,
    clean_path,
    object_key,
)
from bot.core.flux.kustomizefile import KUSTOMIZATION_FILES, KustomizeFile, inferred_namespace
from bot.core.flux.sources import (
    ArtifactGenerator,
    CopyRule,
    ExternalArtifact,
    GitRepository,
    HelmChart,
    HelmRepository,
    OCIRepository,
    OutputArtifact,
)

__all__ = [
    "HELM_GROUP",
    "IMAGE_GROUP",
    "KINDS",
    "KUSTOMIZATION_FILES",
    "KUSTOMIZE_GROUP",
    "SOURCE_EXT_GROUP",
    "SOURCE_GROUP",
    "ArtifactGenerator",
    "CopyRule",
    "ExternalArtifact",
    "FluxObject",
    "FluxObjects",
    "GitRepository",
    "HelmChart",
    "HelmRelease",
    "HelmRepository",
    "ImagePolicy",
    "ImageRepository",
    "ImageUpdateAutomation",
    "Kustomization",
    "KustomizationKey",
    "KustomizeFile",
    "Loader",
    "OCIRepository",
    "ObjectKey",
    "OutputArtifact",
    "ParseProblem",
    "PlainObject",
    "SourceRef",
    "SubstituteRef",
    "api_group",
    "caching_loader",
    "clean_path",
    "inferred_namespace",
    "object_key",
    "parse_document",
    "parse_tree",
]


@dataclass(frozen=True)
class ImageRepository(FluxObject):
    GROUP: ClassVar[str] = IMAGE_GROUP
    KIND: ClassVar[str] = "ImageRepository"
    image: str = ""
    exclusion_list: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, doc: Any, path: str = "", index: int = 0, namespace: str = ""
    ) -> ImageRepository:
        base = _base(cls, doc, path, index, namespace)
        spec = _spec(doc)
        return cls(
            **base,
            image=_str(spec, "image", required=True),
            exclusion_list=tuple(str(x) for x in _list(spec, "exclusionList")),
        )


@dataclass(frozen=True)
class ImagePolicy(FluxObject):
    GROUP: ClassVar[str] = IMAGE_GROUP
    KIND: ClassVar[str] = "ImagePolicy"
    image_repository: SourceRef = field(default_factory=lambda: SourceRef("", "", ""))
    policy: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    filter_tags: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def parse(cls, doc: Any, path: str = "", index: int = 0, namespace: str = "") -> ImagePolicy:
        base = _base(cls, doc, path, index, namespace)
        spec = _spec(doc)
        ref = spec.get("imageRepositoryRef")
        if not isinstance(ref, Mapping) or not ref.get("name"):
            raise ValueError("spec.imageRepositoryRef.name is required")
        policy = _map(spec, "policy")
        if not policy:
            raise ValueError("spec.policy is required")
        return cls(
            **base,
            image_repository=SourceRef(
                "ImageRepository",
                str(ref["name"]),
                str(ref.get("namespace") or base["key"].namespace),
            ),
            policy=policy,
            filter_tags=_map(spec, "filterTags"),
        )


@dataclass(frozen=True)
class ImageUpdateAutomation(FluxObject):
    GROUP: ClassVar[str] = IMAGE_GROUP
    KIND: ClassVar[str] = "ImageUpdateAutomation"
    source_ref: SourceRef = field(default_factory=lambda: SourceRef("", "", ""))
    update_path: str = ""
    strategy: str = "Setters"

    @classmethod
    def parse(
        cls, doc: Any, path: str = "", index: int = 0, namespace: str = ""
    ) -> ImageUpdateAutomation:
        base = _base(cls, doc, path, index, namespace)
        spec = _spec(doc)
        update = _map(spec, "update")
        return cls(
            **base,
            source_ref=SourceRef.parse(spec.get("sourceRef"), base["key"].namespace),
            update_path=clean_path(str(update.get("path") or "")),
            strategy=str(update.get("strategy") or "Setters"),
        )


@dataclass(frozen=True)
class SubstituteRef:
    """One ``postBuild.substituteFrom`` entry."""

    kind: str
    name: str
    optional: bool = False


@dataclass(frozen=True)
class Kustomization(FluxObject):
    GROUP: ClassVar[str] = KUSTOMIZE_GROUP
    KIND: ClassVar[str] = "Kustomization"
    source_ref: SourceRef = field(default_factory=lambda: SourceRef("", "", ""))
    path: str = ""
    target_namespace: str = ""
    components: tuple[str, ...] = ()
    substitute: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    substitute_from: tuple[SubstituteRef, ...] = ()
    has_post_build: bool = False
    suspend: bool = False

    @classmethod
    def parse(cls, doc: Any, path: str = "", index: int = 0, namespace: str = "") -> Kustomization:
        base = _base(cls, doc, path, index, namespace)
        spec = _spec(doc)
        post = _map(spec, "postBuild")
        subst = post.get("substitute") or {}
        if not isinstance(subst, Mapping):
            raise ValueError("spec.postBuild.substitute must be a mapping")
        refs = []
        for item in post.get("substituteFrom") or []:
            if not isinstance(item, Mapping) or item.get("kind") not in ("ConfigMap", "Secret"):
                raise ValueError("spec.postBuild.substituteFrom items need kind ConfigMap|Secret")
            refs.append(
                SubstituteRef(
                    str(item["kind"]),
                    str(item.get("name") or ""),
                    bool(item.get("optional", False)),
                )
            )
        for name in ("patches", "images", "components"):
            _list(spec, name)
        _map(spec, "commonMetadata")
        return cls(
            **base,
            source_ref=SourceRef.parse(spec.get("sourceRef"), base["key"].namespace),
            path=clean_path(_str(spec, "path")),
            target_namespace=_str(spec, "targetNamespace"),
            components=tuple(str(c) for c in _list(spec, "components")),
            substitute={str(k): "" if v is None else str(v) for k, v in subst.items()},
            substitute_from=tuple(refs),
            has_post_build="postBuild" in spec,
            suspend=bool(spec.get("suspend", False)),
        )


@dataclass(frozen=True)
class HelmRelease(FluxObject):
    GROUP: ClassVar[str] = HELM_GROUP
    KIND: ClassVar[str] = "HelmRelease"
    chart: str = ""
    version: str = ""
    chart_source: SourceRef | None = None
    chart_ref: SourceRef | None = None
    release_name: str = ""
    target_namespace: str = ""
    values_from: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, hash=False)

    @property
    def values(self) -> Mapping[str, Any]:
        return _map(self.spec, "values")

    @classmethod
    def parse(cls, doc: Any, path: str = "", index: int = 0, namespace: str = "") -> HelmRelease:
        base = _base(cls, doc, path, index, namespace)
        ns = base["key"].namespace
        spec = _spec(doc)
        chart_spec = _map(_map(spec, "chart"), "spec")
        chart_ref = spec.get("chartRef")
        if not chart_spec and not chart_ref:
            raise ValueError("one of spec.chart.spec or spec.chartRef is required")
        _map(spec, "values")
        values_from = _list(spec, "valuesFrom")
        if any(not isinstance(v, Mapping) for v in values_from):
            raise ValueError("spec.valuesFrom items must be mappings")
        return cls(
            **base,
            chart=_str(chart_spec, "chart"),
            version=_str(chart_spec, "version"),
            chart_source=SourceRef.parse(chart_spec["sourceRef"], ns, "spec.chart.spec.sourceRef")
            if chart_spec
            else None,
            chart_ref=SourceRef.parse(chart_ref, ns, "spec.chartRef") if chart_ref else None,
            release_name=_str(spec, "releaseName"),
            target_namespace=_str(spec, "targetNamespace"),
            values_from=values_from,
        )


KINDS: tuple[type[FluxObject], ...] = (
    ImageRepository,
    ImagePolicy,
    ImageUpdateAutomation,
    Kustomization,
    HelmRelease,
    GitRepository,
    OCIRepository,
    HelmRepository,
    HelmChart,
    ExternalArtifact,
    ArtifactGenerator,
)
_BY_KIND: dict[tuple[str, str], type[FluxObject]] = {(k.GROUP, k.KIND): k for k in KINDS}


@dataclass(frozen=True)
class ParseProblem:
    """A file or document that could not be read as what it claims to be."""

    file: str
    index: int | None
    message: str

    def __str__(self) -> str:
        if self.message.startswith(self.file):
            return self.message
        where = self.file if self.index is None else f"{self.file} (document {self.index + 1})"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class PlainObject:
    """A non-Flux document kept for ``substituteFrom``: a ConfigMap or Secret."""

    key: ObjectKey
    file: str
    index: int
    raw: Mapping[str, Any] = field(compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class FluxObjects:
    """Everything :func:`parse_tree` found, in file order.

    ``kustomize`` maps a directory to its parsed ``kustomization.yaml``; ``patch_files`` are the
    files such kustomizations use as patches (partial documents, not objects of their own).
    """

    objects: tuple[FluxObject, ...] = ()
    config: tuple[PlainObject, ...] = ()
    problems: tuple[ParseProblem, ...] = ()
    kustomize: Mapping[str, KustomizeFile] = field(default_factory=dict, compare=False)
    patch_files: frozenset[str] = frozenset()

    def of(self, kind: type[_T]) -> list[_T]:
        return [o for o in self.objects if isinstance(o, kind)]

    @property
    def kustomizations(self) -> list[Kustomization]:
        return self.of(Kustomization)

    def __iter__(self) -> Iterator[FluxObject]:
        return iter(self.objects)


Loader = Callable[[str, str], list[Any]]


def parse_document(
    doc: Any, path: str = "", index: int = 0, namespace: str = ""
) -> FluxObject | None:
    """The typed model of one document; ``None`` if it is not a Flux kind we model.

    Raises :class:`ManifestError` (naming file and document) when it is one but is malformed.
    """
    if not isinstance(doc, Mapping):
        return None
    kind = _BY_KIND.get((api_group(str(doc.get("apiVersion") or "")), str(doc.get("kind") or "")))
    if kind is None:
        return None
    try:
        return kind.parse(doc, path, index, namespace)  # type: ignore[attr-defined,no-any-return]
    except (ValueError, TypeError, KeyError) as exc:
        raise ManifestError(f"{path} (document {index + 1}): invalid {kind.KIND}: {exc}") from None


_MARKERS = ("fluxcd.io", "ConfigMap", "Secret")


def _kustomize_files(
    tree: Mapping[str, str], loader: Loader, problems: list[ParseProblem]
) -> dict[str, KustomizeFile]:
    found: dict[str, KustomizeFile] = {}
    for path in sorted(tree):
        if posixpath.basename(path) not in KUSTOMIZATION_FILES:
            continue
        try:
            docs = loader(tree[path], path)
            kf = KustomizeFile.parse(docs[0] if docs else {}, path)
        except ManifestError as exc:
            problems.append(ParseProblem(path, None, str(exc)))
            continue
        except Exception as exc:
            problems.append(ParseProblem(path, 0, f"invalid kustomization: {type(exc).__name__}"))
            continue
        found.setdefault(kf.dir, kf)
    return found


def parse_tree(tree: Mapping[str, str], load: Loader | None = None) -> FluxObjects:
    """Collect the Flux objects (plus ConfigMaps/Secrets) of every YAML file in ``tree``.

    An object without ``metadata.namespace`` gets the namespace of the nearest enclosing
    kustomization.yaml that sets one (as ``kustomize build`` would), else ``""``. Documents in
    files used as kustomize patches are partial and are skipped.
    """
    loader = load or _default_loader()
    objects: list[FluxObject] = []
    config: list[PlainObject] = []
    problems: list[ParseProblem] = []
    kustomize = _kustomize_files(tree, loader, problems)
    patch_files = frozenset(
        r for kf in kustomize.values() for p in kf.patch_files if (r := kf.resolve(kf.dir, p))
    )
    for path in sorted(tree):
        if not path.endswith((".yaml", ".yml")) or path in patch_files:
            continue
        if posixpath.basename(path) in KUSTOMIZATION_FILES:
            continue
        text = tree[path]
        if not any(m in text for m in _MARKERS):
            continue
        try:
            docs = loader(text, path)
        except ManifestError as exc:
            problems.append(ParseProblem(path, None, str(exc)))
            continue
        except Exception as exc:  # a YAML library error must not stop the scan
            problems.append(ParseProblem(path, None, f"cannot parse YAML: {type(exc).__name__}"))
            continue
        ns = inferred_namespace(path, kustomize)
        for index, doc in enumerate(docs):
            try:
                obj = parse_document(doc, path, index, ns)
            except ManifestError as exc:
                problems.append(ParseProblem(path, index, str(exc).split(": ", 1)[-1]))
                continue
            if obj is not None:
                objects.append(obj)
            elif (
                isinstance(doc, Mapping)
                and doc.get("kind") in ("ConfigMap", "Secret")
                and str(doc.get("apiVersion")) == "v1"
            ):
                config.append(PlainObject(object_key(doc, ns), path, index, doc))
    return FluxObjects(tuple(objects), tuple(config), tuple(problems), kustomize, patch_files)


def caching_loader(cache: dict[tuple[str, str], list[Any]], load: Loader | None = None) -> Loader:
    """A loader that parses each ``(text, path)`` once; for reading two similar trees."""
    inner = load or _default_loader()

    def cached(text: str, path: str) -> list[Any]:
        key = (path, text)
        if key not in cache:
            cache[key] = inner(text, path)
        return cache[key]

    return cached


def _default_loader() -> Loader:
    from bot.core.manifests.yamlload import load_documents

    return load_documents
