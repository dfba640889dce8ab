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
from typing import Any, ClassVar, TypeVar

from bot.errors import ManifestError

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
    from bot.manifests.yamlload import load_documents

    return load_documents
