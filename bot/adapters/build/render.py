"""Build Flux Kustomizations from a tree the way kustomize-controller does.

For one side of a change (a ``{path: text}`` tree) :class:`TreeRenderer` writes each source view
(the repository, or an ArtifactGenerator's artifact) to a private temporary directory once, then
for every Kustomization asked for: merges the Flux fields into the ``kustomization.yaml`` at
``spec.path`` (generating one when missing, as the controller does), runs kustomize through
:mod:`bot.adapters.proc` (loads anywhere inside the repository, never outside it, no plugins,
no network, timeout and output cap), applies
``commonMetadata`` and ``postBuild`` substitution, and returns the objects. HelmReleases are kept
as objects, with a note that their chart was not rendered. A failing build becomes an error
string on the result, never an exception.

    >>> with TreeRenderer(tree, graph) as side:      # doctest: +SKIP
    ...     result = side.render(graph.nodes[0])
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import json
import os
import posixpath
import tempfile
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.adapters.build.helm import HelmSettings, merge_values, template_release
from bot.adapters.proc import DEFAULT_MAX_OUTPUT, DEFAULT_TIMEOUT, build_kustomization, materialise
from bot.app.log import get_logger
from bot.core.errors import BotError, RenderError
from bot.core.flux._yaml import dump_yaml, load_rendered
from bot.core.flux.graph import FluxGraph, Node
from bot.core.flux.inherit import effective_child, resolve_vars, substitute_object
from bot.core.flux.objects import (
    HELM_GROUP,
    KUSTOMIZATION_FILES,
    KUSTOMIZE_GROUP,
    ObjectKey,
    api_group,
)
from bot.core.flux.substitute import disabled

log = get_logger(__name__)

Builder = Callable[[Path], str]


@dataclass(frozen=True)
class RenderSettings:
    timeout: float = DEFAULT_TIMEOUT
    max_output: int = DEFAULT_MAX_OUTPUT
    helm: HelmSettings = field(default_factory=HelmSettings)


@dataclass(frozen=True)
class RenderResult:
    """The objects one Kustomization produces on one side, or why it could not be built."""

    label: str
    key: ObjectKey
    objects: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    error: str | None = None
    notes: tuple[str, ...] = ()
    # chart objects per HelmRelease ("namespace/name"), and releases whose chart failed
    charts: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict, compare=False)
    chart_failures: frozenset[str] = frozenset()


def _load(text: str, what: str) -> list[Any]:
    return load_rendered(text, what)


class RenderCache:
    """Kustomize results by content, shared by both sides of a preview.

    A parent Kustomization whose files did not change renders once per preview, not once per
    side; a second thread asking for a key being built waits for it instead of building too.
    """

    def __init__(self) -> None:
        self._results: dict[str, RenderResult] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.builds = 0

    def get(self, key: str, build: Callable[[], RenderResult]) -> RenderResult:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._results:
                self._results[key] = build()
                self.builds += 1
            return self._results[key]


def _needs_parent(node: Node, parent: Node) -> bool:
    """Whether the parent's build can change which files ``node`` reads: ``${...}`` in its spec
    (``path: ./apps/${CLUSTER}``), or a parent whose patches or variables apply to it (a
    ``substituteFrom`` added by a patch makes that ConfigMap an input of the child)."""
    spec = parent.ks.raw.get("spec") or {}
    own = json.dumps(node.ks.raw.get("spec") or {}, sort_keys=True, default=str)
    return "${" in own or bool(spec.get("patches")) or "postBuild" in spec


class TreeRenderer:
    """Renders the Kustomizations of one tree; a context manager owning its temporary directory."""

    def __init__(
        self,
        tree: Mapping[str, str],
        graph: FluxGraph | None = None,
        settings: RenderSettings | None = None,
        builder: Builder | None = None,
        cache: RenderCache | None = None,
    ) -> None:
        self.tree = tree
        self.graph = graph or FluxGraph.from_tree(tree)
        self.settings = settings or RenderSettings()
        self._builder = builder
        self.cache = cache or RenderCache()
        self._effective: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {}
        self._resolving: set[str] = set()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._views: dict[str, Path] = {}
        self._written: dict[str, set[str]] = {}
        self._sorted: dict[str, list[str]] = {}

    def __enter__(self) -> TreeRenderer:
        self._tmp = tempfile.TemporaryDirectory(prefix="fluxbot-render-")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- source views -------------------------------------------------------------------------

    def _root(self, node: Node) -> Path:
        """The node's source view on disk, holding every file below its closure's directories.

        Only what the build can read is written (not the whole repository): all files under
        each directory that holds a file of the Kustomization's closure.
        """
        if self._tmp is None:
            raise RuntimeError("TreeRenderer used outside its with-block")
        if node.view is None:
            name, files = "repo", self.tree
            wanted = set(node.deploys)
        else:
            key = json.dumps([sorted(node.view.items()), sorted(node.merges.items())])
            name = "artifact-" + hashlib.sha256(key.encode()).hexdigest()[:16]
            files = {dest: self.tree[src] for dest, src in node.view.items() if src in self.tree}
            for dest, sources in node.merges.items():
                files[dest] = self._merged(sources)
            wanted = {dest for dest, src in node.view.items() if src in node.deploys}
        if name not in self._views:
            root = Path(self._tmp.name) / name
            root.mkdir()
            self._views[name] = root
            self._written[name] = set()
            self._sorted[name] = sorted(files)
        root, written, paths = self._views[name], self._written[name], self._sorted[name]
        dirs = {posixpath.dirname(p) for p in wanted} | {node.ks.path}
        todo: dict[str, str] = {}
        for directory in dirs:
            lo = bisect.bisect_left(paths, directory + "/") if directory else 0
            hi = bisect.bisect_left(paths, directory + "0") if directory else len(paths)
            for path in paths[lo:hi]:
                if path not in written:
                    todo[path] = files[path]
        materialise(todo, root)
        written.update(todo)
        return root

    def _merged(self, sources: tuple[str, ...]) -> str:
        """YAML files merged in order the way source-watcher's ``strategy: Merge`` does (Helm's
        values merge: maps merge key by key, anything else, lists too, is replaced)."""
        merged: dict[str, Any] = {}
        for src in sources:
            docs = load_rendered(self.tree.get(src, ""), src)
            if docs and isinstance(docs[0], Mapping):
                merged = merge_values(merged, docs[0])
            elif docs:
                raise RenderError(f"{src}: strategy Merge needs a YAML mapping")
        return dump_yaml(merged)

    # -- building -----------------------------------------------------------------------------

    def effective(self, node: Node) -> tuple[dict[str, Any], list[str]]:
        """The Kustomization object as its parent's build applied it, and notes.

        Parents before children, as Flux: the parent is rendered (once per content, see
        :class:`RenderCache`) and the child is taken from its output, with the parent's
        patches, replacements, ``targetNamespace`` and ``postBuild`` substitution applied.
        When the parent fails, the child file with the parent's own patches and variables
        applied in Python stands in, with a note saying so.
        """
        if node.label in self._effective:
            cached, kept = self._effective[node.label]
            return copy.deepcopy(cached), list(kept)
        parent = self.graph.parent(node)
        result = self._parent_doc(node, parent) if parent is not None else None
        if result is None:
            doc, notes = effective_child(
                node.ks, parent.ks if parent else None, self.graph.objects, _load
            )
        else:
            doc, notes = result
        self._effective[node.label] = (doc, tuple(notes))
        return copy.deepcopy(doc), list(notes)

    def _parent_doc(self, node: Node, parent: Node) -> tuple[dict[str, Any], list[str]] | None:
        """``node`` from its parent's output; ``None`` to fall back to the file.

        The parent is built only when its build can differ from the file with the parent's
        Flux fields applied in Python (:func:`effective_child`, exact for those): ``${...}``
        in the child's spec, or a kustomization of the parent's build that patches, replaces
        or renames. Otherwise building it would only cost time.
        """
        if parent.label in self._resolving:  # a cycle: the files deploy each other
            return None
        if not self._parent_transforms(node, parent):
            return None
        self._resolving.add(parent.label)
        try:
            built = self.render(parent, charts=False)
        finally:
            self._resolving.discard(parent.label)
        if built.error is not None:
            why = built.error.strip().splitlines()[0] if built.error.strip() else "failed"
            doc, notes = effective_child(node.ks, parent.ks, self.graph.objects, _load)
            notes.append(
                f"parent {parent.label} failed to render ({why}): this Kustomization is read "
                "from its file with the parent's patches and variables applied"
            )
            return doc, notes
        found = _match(node, built.objects)
        return None if found is None else (copy.deepcopy(dict(found)), [])

    def _parent_transforms(self, node: Node, parent: Node) -> bool:
        if "${" in json.dumps(node.ks.raw.get("spec") or {}, default=str):
            return True
        kustomize = self.graph.objects.kustomize
        return any(
            (kf := kustomize.get(posixpath.dirname(path))) is not None and kf.transforms
            for path in parent.deploys
            if posixpath.basename(path) in KUSTOMIZATION_FILES
        )

    def resolve_graph(self) -> list[str]:
        """Re-read from its parent's build every Kustomization the parent can change
        (:func:`_needs_parent`), parents first; returns notes on what could not be."""
        notes: list[str] = []
        done: set[str] = set()
        for _ in range(len(self.graph.nodes)):
            todo = [
                n
                for n in self.graph.nodes
                if n.label not in done
                and (parent := self.graph.parent(n)) is not None
                and _needs_parent(n, parent)
            ]
            # parents first: a node whose own parent still waits is left for the next pass
            ready = [n for n in todo if self.graph.parent(n) not in todo]
            if not ready:
                break
            for node in ready:
                done.add(node.label)
                doc, _ = self.effective(node)
                try:
                    self.graph.resolve(node, doc)
                except ValueError as exc:
                    notes.append(f"Kustomization {node.label} as its parent builds it: {exc}")
        return notes

    def render(self, node: Node, charts: bool = True) -> RenderResult:
        """Build ``node``; with ``charts``, template its HelmReleases too (:meth:`add_charts`)."""
        result = self.cache.get(self._content_key(node), lambda: self._render(node))
        return self.add_charts(node, result) if charts else result

    def _content_key(self, node: Node) -> str:
        """What a build of ``node`` depends on: its effective object and its input files."""
        doc, notes = self.effective(node)
        digest = hashlib.sha256()
        digest.update(json.dumps([node.label, doc, notes], sort_keys=True, default=str).encode())
        for path in sorted(node.inputs):
            digest.update(b"\0" + path.encode() + b"\0" + self.tree.get(path, "\0").encode())
        if node.view is not None:
            digest.update(json.dumps(sorted(node.view.items())).encode())
        return digest.hexdigest()

    def _render(self, node: Node) -> RenderResult:
        notes: list[str] = list(node.notes)
        try:
            doc, parent_notes = self.effective(node)
            notes += parent_notes
            objects = self._build(node, doc, notes)
        except BotError as exc:
            # the error text may quote manifests: the job logs it after scrubbing secrets
            log.info("render failed", kustomization=node.label)
            return RenderResult(node.label, node.key, (), str(exc), tuple(notes))
        return RenderResult(node.label, node.key, tuple(objects), None, tuple(notes))

    def add_charts(
        self, node: Node, result: RenderResult, only: Collection[str] | None = None
    ) -> RenderResult:
        """``result`` with the charts of its HelmReleases (of those in ``only``, when given)."""
        if result.error is not None:
            return result
        notes = list(result.notes)
        try:
            charts, failures = self._charts(node, [dict(o) for o in result.objects], notes, only)
        except BotError as exc:
            log.info("render failed", kustomization=node.label)
            return RenderResult(node.label, node.key, (), str(exc), tuple(notes))
        return replace(result, notes=tuple(notes), charts=charts, chart_failures=failures)

    def _build(self, node: Node, doc: Mapping[str, Any], notes: list[str]) -> list[dict[str, Any]]:
        spec = doc.get("spec") or {}
        root = self._root(node)
        directory = root / node.ks.path if node.ks.path else root
        if not directory.is_dir():
            raise RenderError(f"spec.path {node.ks.path or './'} does not exist in the source")
        self._refuse_remote(node)
        restore = _write_overlay(directory, spec)
        try:
            if self._builder is not None:
                text = self._builder(directory)
            else:
                text = build_kustomization(
                    directory, timeout=self.settings.timeout, max_output=self.settings.max_output
                )
        finally:
            restore()
        objects = [d for d in _load(text, node.label) if isinstance(d, dict)]
        common = spec.get("commonMetadata") or {}
        for obj in objects:
            meta = obj.setdefault("metadata", {})
            for field_name in ("labels", "annotations"):
                if common.get(field_name):
                    meta[field_name] = {**(meta.get(field_name) or {}), **common[field_name]}
        if "postBuild" in spec:
            namespace = str((doc.get("metadata") or {}).get("namespace") or node.key.namespace)
            variables, var_notes = resolve_vars(doc, namespace, self.graph.objects)
            notes.extend(var_notes)
            if variables:
                objects = [o if disabled(o) else substitute_object(o, variables) for o in objects]
        return objects

    def _refuse_remote(self, node: Node) -> None:
        """Previews build offline and inside the repository: a kustomization of the build naming
        a URL, a remote base, an absolute path or a path leaving the repository root fails the
        build before kustomize runs (its loader would fetch or read it: kustomize-controller
        builds with ``LoadRestrictionsNone`` on a filesystem rooted at the source artifact)."""
        for path in sorted(node.deploys):
            if posixpath.basename(path) not in KUSTOMIZATION_FILES:
                continue
            kf = self.graph.objects.kustomize.get(posixpath.dirname(path))
            if kf is not None and kf.remote:
                raise RenderError(
                    f"{path}: remote reference {kf.remote[0]} refused (previews are built "
                    "offline; only files of the repository are read)"
                )
            if kf is not None and kf.outside:
                raise RenderError(
                    f"{path}: {kf.outside[0]} is outside the repository (Flux loads files "
                    "only from inside the source artifact)"
                )

    def _charts(
        self,
        node: Node,
        objects: list[dict[str, Any]],
        notes: list[str],
        only: Collection[str] | None = None,
    ) -> tuple[dict[str, tuple[Mapping[str, Any], ...]], frozenset[str]]:
        """Template the HelmReleases' charts (when enabled); note the ones that cannot be."""
        charts: dict[str, tuple[Mapping[str, Any], ...]] = {}
        failures: set[str] = set()
        releases = [
            o
            for o in objects
            if api_group(str(o.get("apiVersion") or "")) == HELM_GROUP
            and o.get("kind") == "HelmRelease"
        ]
        for index, hr in enumerate(releases):
            meta = hr.get("metadata") or {}
            ident = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
            if not self.settings.helm.enabled:
                notes.append(
                    f"HelmRelease {ident}: chart not rendered (helm templating is not enabled); "
                    "showing the HelmRelease object"
                )
                continue
            if only is not None and ident not in only:
                continue  # nothing it depends on changed: the same chart objects on both sides
            if self._tmp is None:
                raise RuntimeError("TreeRenderer used outside its with-block")
            digest = hashlib.sha1(node.label.encode()).hexdigest()[:10]
            workdir = Path(self._tmp.name) / "helm" / f"{digest}-{index}"
            chart_objects, helm_notes = template_release(
                hr,
                objects,
                self.graph.objects,
                self.settings.helm,
                workdir,
                self.tree,
                {(s.namespace, s.name) for s in self.graph.self_sources},
            )
            notes.extend(helm_notes)
            if chart_objects is None:
                failures.add(ident)
            else:
                charts[ident] = tuple(chart_objects)
        return charts, frozenset(failures)


def _match(node: Node, objects: Collection[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """``node``'s Kustomization among its parent's output: same namespace and name, else the
    only one with its name (the parent's ``targetNamespace`` may have moved it)."""
    found = [
        o
        for o in objects
        if o.get("kind") == "Kustomization"
        and api_group(str(o.get("apiVersion") or "")) == KUSTOMIZE_GROUP
        and (o.get("metadata") or {}).get("name") == node.key.name
    ]
    exact = [o for o in found if (o.get("metadata") or {}).get("namespace") == node.key.namespace]
    if len(exact) == 1:
        return exact[0]
    return found[0] if len(found) == 1 else None


def _write_overlay(directory: Path, spec: Mapping[str, Any]) -> Callable[[], None]:
    """Merge the Flux fields into ``kustomization.yaml`` in place; return the undo function."""
    existing = next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)
    if existing is not None:
        original = existing.read_text(encoding="utf-8")
        docs = load_rendered(original, str(existing.name))
        kus: dict[str, Any] = dict(docs[0]) if docs and isinstance(docs[0], dict) else {}
        target = existing
    else:
        original = None
        kus = {"resources": _generated_resources(directory)}
        target = directory / "kustomization.yaml"
    kus.setdefault("apiVersion", "kustomize.config.k8s.io/v1beta1")
    kus.setdefault("kind", "Kustomization")
    if spec.get("targetNamespace"):
        kus["namespace"] = spec["targetNamespace"]
    for name in ("namePrefix", "nameSuffix"):
        if spec.get(name):
            kus[name] = spec[name]
    for patch in spec.get("patches") or []:
        entry = {"patch": patch.get("patch")}
        if patch.get("target"):
            entry["target"] = patch["target"]
        kus.setdefault("patches", []).append(entry)
    for image in spec.get("images") or []:
        images = kus.setdefault("images", [])
        new = {k: image[k] for k in ("name", "newName", "newTag", "digest") if image.get(k)}
        idx = next((i for i, im in enumerate(images) if im.get("name") == image.get("name")), None)
        if idx is None:
            images.append(new)
        else:
            images[idx] = new
    for component in spec.get("components") or []:
        kus.setdefault("components", []).append(component)
    target.write_text(json.dumps(kus, indent=1), encoding="utf-8")

    def restore() -> None:
        if original is None:
            target.unlink(missing_ok=True)
        else:
            target.write_text(original, encoding="utf-8")

    return restore


def _generated_resources(directory: Path) -> list[str]:
    """What kustomize-controller lists when a path has no kustomization: manifests and sub-bases
    (a sub-directory with its own kustomization is one entry, not walked)."""
    found: list[str] = []
    for current, dirs, files in os.walk(directory):
        here = Path(current)
        dirs.sort()
        if here != directory and any((here / n).is_file() for n in KUSTOMIZATION_FILES):
            found.append(posixpath.join(".", str(here.relative_to(directory))))
            dirs.clear()
            continue
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                found.append(posixpath.join(".", str((here / name).relative_to(directory))))
    return sorted(found)
