"""Which Flux Kustomization deploys which file of the repository, and what a change affects.

A Kustomization belongs to this repository when its ``sourceRef`` is the repository's own
GitRepository (``flux-system/flux-system`` by Flux bootstrap convention, or one whose URL is
given) or an ExternalArtifact that an ArtifactGenerator assembles from it by copy rules. Each such
Kustomization is a :class:`Node` with a *view* (artifact path → repository path) and the set of
repository files it reads, found by following ``kustomization.yaml`` files as kustomize does.

    >>> graph = FluxGraph.from_tree(tree)          # tree: {path: text}
    >>> graph.owner("kubernetes/apps/default/atuin/app/helmrelease.yaml")
    'default/atuin'
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wcmatch import glob

from bot.core.flux.objects import (
    KUSTOMIZATION_FILES,
    ArtifactGenerator,
    CopyRule,
    FluxObjects,
    GitRepository,
    HelmChart,
    HelmRelease,
    Kustomization,
    KustomizeFile,
    Loader,
    ObjectKey,
    SourceRef,
    clean_path,
    parse_tree,
)

SELF_SOURCE = SourceRef("GitRepository", "flux-system", "flux-system")


# bmatcuk/doublestar v4 (source-watcher's copy rules): ``**`` alone in a segment crosses ``/``,
# elsewhere it is ``*``; ``{a,b}``, ``[ab]``, ``[!ab]``, ``\\`` escapes; dot files are not special.
_DOUBLESTAR = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB | glob.NOUNIQUE


def glob_matcher(pattern: str) -> glob.WcMatcher[str]:
    """A doublestar glob over ``/``-separated paths; ``.match(path)`` tests a whole path."""
    return glob.compile(pattern, flags=_DOUBLESTAR)


def _glob_prefix(pattern: str) -> str:
    parts = pattern.split("/")
    fixed: list[str] = []
    for part in parts:
        if any(c in part for c in "*?[{"):
            break
        fixed.append(part)
    if len(fixed) == len(parts):  # no glob: a single file or directory
        return "/".join(fixed[:-1])
    return "/".join(fixed)


@dataclass(frozen=True)
class CopyPlan:
    """What ArtifactGenerator copy rules make of the repository's files.

    ``view`` maps each artifact path to the repository file it holds (for a merged file, the
    last one merged); ``merges`` lists, for artifact files built with ``strategy: Merge``, every
    repository YAML file merged into it, in order (the first is the base); ``notes`` tells what
    could not be reproduced (``strategy: Extract`` of tarballs).
    """

    view: dict[str, str]
    merges: dict[str, tuple[str, ...]]
    notes: tuple[str, ...] = ()


def copy_plan(rules: Iterable[CopyRule], files: Iterable[str]) -> CopyPlan:
    """Apply copy rules in order with ``cp``-like semantics, as source-watcher does."""
    files = sorted(files)
    view: dict[str, str] = {}
    merges: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    for rule in rules:
        pattern = rule.pattern.strip("/")
        prefix = _glob_prefix(pattern)
        is_glob = any(c in pattern for c in "*?[{")
        regex = glob_matcher(pattern)
        excludes = [glob_matcher(x if "/" in x else "**/" + x) for x in rule.exclude]
        if rule.strategy == "Extract":
            notes.append(
                f"copy @{rule.source}/{rule.pattern} uses strategy Extract (tarballs): "
                "their contents are not rendered"
            )
            continue
        for path in files:
            if is_glob:
                if not regex.match(path):
                    continue
            elif not (path == pattern or path.startswith(pattern + "/")):
                continue
            rel = path[len(prefix) + 1 :] if prefix else path
            if any(x.match(rel) for x in excludes):
                continue
            if not is_glob and path == pattern and rule.to and not rule.to.endswith("/"):
                dest = rule.to
            else:
                dest = posixpath.join(rule.to, rel) if rule.to else rel
            dest = posixpath.normpath(dest)
            if rule.strategy == "Merge" and dest in view and path.endswith((".yaml", ".yml")):
                merges[dest] = (*merges.get(dest, (view[dest],)), path)
            else:
                merges.pop(dest, None)  # overwritten: earlier merges are gone
            view[dest] = path
    return CopyPlan(view, merges, tuple(notes))


def copy_view(rules: Iterable[CopyRule], files: Iterable[str]) -> dict[str, str]:
    """Artifact path → repository path of :func:`copy_plan` (merged files: the last source)."""
    return copy_plan(rules, files).view


@dataclass(frozen=True)
class Node:
    """A Kustomization of this repository: where its files come from and which it reads."""

    ks: Kustomization
    label: str
    view: Mapping[str, str] | None = field(compare=False, hash=False, repr=False)
    deploys: frozenset[str] = field(default=frozenset(), compare=False, hash=False, repr=False)
    inputs: frozenset[str] = field(default=frozenset(), compare=False, hash=False, repr=False)
    # artifact files merged from several repository files (ArtifactGenerator strategy: Merge)
    merges: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    notes: tuple[str, ...] = field(default=(), compare=False, hash=False, repr=False)

    @property
    def key(self) -> ObjectKey:
        return self.ks.key

    def repo_path(self, view_path: str) -> str | None:
        """The repository file behind a path of this Kustomization's source."""
        return view_path if self.view is None else self.view.get(view_path)


class _Files:
    """A sorted list of paths (in one source view) with directory queries."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = sorted(paths)
        self.set = frozenset(self.paths)

    def under(self, directory: str) -> list[str]:
        if not directory:
            return self.paths
        lo = bisect.bisect_left(self.paths, directory + "/")
        hi = bisect.bisect_left(self.paths, directory + "0")  # "0" sorts right after "/"
        return self.paths[lo:hi]

    def kustomization(self, directory: str) -> str | None:
        for name in KUSTOMIZATION_FILES:
            cand = posixpath.join(directory, name) if directory else name
            if cand in self.set:
                return cand
        return None


def _closure(
    root: str,
    extra_components: Iterable[str],
    files: _Files,
    kustomize: Mapping[str, KustomizeFile],
    to_repo: Mapping[str, str] | None,
) -> set[str]:
    """Every view path a kustomize build of ``root`` reads (as kustomize-controller builds it)."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = [root] + [
        d for c in extra_components if (d := KustomizeFile.resolve(root, c)) is not None
    ]
    while todo:
        directory = todo.pop()
        if directory in seen:
            continue
        seen.add(directory)
        kpath = files.kustomization(directory)
        if kpath is None:
            # kustomize-controller generates a kustomization listing every manifest below the
            # dir; a sub-directory with its own kustomization file is one resource, not walked
            below = files.under(directory)
            kdirs = sorted(
                {
                    posixpath.dirname(p)
                    for p in below
                    if posixpath.basename(p) in KUSTOMIZATION_FILES
                }
            )
            nested: list[str] = []
            for kdir in kdirs:  # sorted: an ancestor comes before its descendants
                if not any(kdir.startswith(n + "/") for n in nested):
                    nested.append(kdir)
                    todo.append(kdir)
            for path in below:
                if path.endswith((".yaml", ".yml")) and not any(
                    path.startswith(n + "/") for n in nested
                ):
                    found.add(path)
            continue
        found.add(kpath)
        repo_kpath = kpath if to_repo is None else to_repo.get(kpath, "")
        kf = kustomize.get(posixpath.dirname(repo_kpath))
        if kf is None:
            continue
        for entry in kf.resources + kf.components:
            target = KustomizeFile.resolve(directory, entry)
            if target is None:
                continue
            if target in files.set:
                found.add(target)
            else:
                todo.append(target)
        for entry in kf.patch_files + kf.other_files:
            target = KustomizeFile.resolve(directory, entry)
            if target is not None and target in files.set:
                found.add(target)
    return found


def _common_prefix(a: str, b: str) -> int:
    return len(posixpath.commonpath([a, b])) if a and b else 0


class FluxGraph:
    """The Kustomizations of one tree and the files each reads."""

    def __init__(
        self, objects: FluxObjects, files: Iterable[str], repo_urls: Iterable[str] = ()
    ) -> None:
        self.objects = objects
        self.files = _Files(files)
        urls = {_norm_url(u) for u in repo_urls}
        self.self_sources = {SELF_SOURCE} | {
            SourceRef("GitRepository", g.name, g.namespace)
            for g in objects.of(GitRepository)
            if _norm_url(g.url) in urls
        }
        self.nodes: list[Node] = []
        keys = [k.key for k in objects.kustomizations]
        for ks in objects.kustomizations:
            source = self._source(ks)
            if source is None:
                continue
            label = ks.key.ref
            if keys.count(ks.key) > 1:
                label += f" ({posixpath.dirname(ks.file) or '.'})"
            self.nodes.append(self._node(ks, label, *source))

    @classmethod
    def from_tree(
        cls, tree: Mapping[str, str], repo_urls: Iterable[str] = (), load: Loader | None = None
    ) -> FluxGraph:
        return cls(parse_tree(tree, load), tree.keys(), repo_urls)

    def _source(self, ks: Kustomization) -> tuple[CopyPlan | None, str | None] | None:
        """``(copy plan, generator file)``: no plan for the repository itself, a copy plan for
        an artifact of this repository; ``None`` when the source is not this repository."""
        ref = ks.source_ref
        if ref.kind == "GitRepository":
            return (None, None) if ref in self.self_sources else None
        if ref.kind != "ExternalArtifact":
            return None
        best: tuple[int, ArtifactGenerator, int] | None = None
        for gen in self.objects.of(ArtifactGenerator):
            if gen.namespace != ref.namespace:
                continue
            for i, art in enumerate(gen.artifacts):
                if art.name == ref.name:
                    score = _common_prefix(posixpath.dirname(gen.file), posixpath.dirname(ks.file))
                    if best is None or score > best[0]:
                        best = (score, gen, i)
        if best is None:
            return None
        gen, art = best[1], best[1].artifacts[best[2]]
        rules = [r for r in art.copy if gen.sources.get(r.source) in self.self_sources]
        if not rules:
            return None
        return copy_plan(rules, self.files.paths), gen.file

    def _node(
        self, ks: Kustomization, label: str, plan: CopyPlan | None, generator: str | None
    ) -> Node:
        view = plan.view if plan is not None else None
        merges = plan.merges if plan is not None else {}
        vfiles = self.files if view is None else _Files(view)
        found = _closure(ks.path, ks.components, vfiles, self.objects.kustomize, view)
        deploys = frozenset(p for f in found if (p := f if view is None else view.get(f)))
        deploys |= {src for f in found if f in merges for src in merges[f]}
        inputs = set(deploys) | {ks.file} | ({generator} if generator else set())
        for ref in ks.substitute_from:
            for obj in self.objects.config:
                if (
                    obj.key.kind == ref.kind
                    and obj.key.name == ref.name
                    and (obj.key.namespace in ("", ks.namespace))
                ):
                    inputs.add(obj.file)
        for hr in self.objects.of(HelmRelease):  # in-repo charts are inputs of their release
            if hr.file in deploys and (chart_dir := self.chart_dir(hr)) is not None:
                inputs.update(self.files.under(chart_dir))
        return Node(
            ks,
            label,
            view,
            deploys,
            frozenset(inputs),
            {f: m for f, m in merges.items() if f in found},
            plan.notes if plan is not None else (),
        )

    def chart_dir(self, hr: HelmRelease) -> str | None:
        """The directory of ``hr``'s chart when it lives in this repository: ``spec.chart`` from
        this repository's GitRepository, or ``spec.chartRef`` to a HelmChart that takes it from
        there."""
        if hr.chart_source is not None and hr.chart_source in self.self_sources and hr.chart:
            return clean_path(hr.chart)
        ref = hr.chart_ref
        if ref is not None and ref.kind == "HelmChart":
            for chart in self.objects.of(HelmChart):
                if (chart.name, chart.namespace) == (ref.name, ref.namespace) and (
                    chart.source_ref in self.self_sources
                ):
                    return clean_path(chart.chart)
        return None

    def owner_node(self, path: str) -> Node | None:
        """The most specific Kustomization that deploys ``path`` (deepest ``spec.path``)."""
        best: Node | None = None
        for node in self.nodes:
            if path in node.deploys and (
                best is None or node.ks.path.count("/") > best.ks.path.count("/")
            ):
                best = node
        return best

    def owner(self, path: str) -> str | None:
        """``namespace/name`` of the Kustomization that deploys ``path``, or ``None``."""
        node = self.owner_node(path)
        return node.key.ref if node is not None else None

    def parent(self, node: Node) -> Node | None:
        """The Kustomization whose build contains ``node``'s own definition."""
        owner = self.owner_node(node.ks.file)
        return owner if owner is not None and owner is not node else None

    def children(self, node: Node) -> list[Node]:
        """The Kustomizations whose definition ``node``'s build deploys."""
        return [n for n in self.nodes if n is not node and self.parent(n) is node]

    def resolve(self, node: Node, doc: Mapping[str, Any]) -> Node | None:
        """Put in ``node``'s place the Kustomization as its parent's build produced it (``doc``).

        Flux reconciles the object the parent applied, not the file: ``spec.path``,
        ``components`` and ``sourceRef`` are read after the parent's patches, replacements and
        ``postBuild`` substitution, and the files the node reads are followed again from there.
        ``None`` (and the node is dropped) when that object's source is not this repository.
        Raises ``ValueError`` when ``doc`` is not a valid Kustomization.
        """
        ks = Kustomization.parse(doc, node.ks.file, node.ks.index, node.ks.namespace)
        source = self._source(ks)
        index = self.nodes.index(node)
        if source is None:
            del self.nodes[index]
            return None
        new = self._node(ks, node.label, *source)
        self.nodes[index] = new
        return new

    def affected_nodes(self, changed_paths: Iterable[str]) -> list[Node]:
        """Kustomizations that read any changed file, in graph order."""
        changed = set(changed_paths)
        return [n for n in self.nodes if n.inputs & changed]

    def affected(self, changed_paths: Iterable[str]) -> set[ObjectKey]:
        return {n.key for n in self.affected_nodes(changed_paths)}


def _norm_url(url: str) -> str:
    url = url.strip().removesuffix("/").removesuffix(".git")
    url = re.sub(r"^(ssh://)?git@([^:/]+)[:/]", r"https://\2/", url)
    return url.lower()
