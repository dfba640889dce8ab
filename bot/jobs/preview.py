"""Preview job: from the base and head trees of a change to the object diff and its comment.

Forge-agnostic: it takes two ``{path: text}`` trees (and optionally the changed paths), finds the
Kustomizations whose inputs changed on either side, renders only those on both sides, diffs the
objects and returns a :class:`~bot.core.flux.diff.PreviewDiff`; :func:`preview_comment` turns it
into
the sticky-comment markdown (``bot.core.render.preview.diff_comment``); :func:`post_preview` does
both for a PR
through any :class:`~bot.ports.Forge`. Secret values seen in either tree are scrubbed from
every diff, note and error.

    >>> result = run_preview(base_tree, head_tree)           # doctest: +SKIP
    >>> comment = preview_comment(result)
"""

from __future__ import annotations

import asyncio
import tempfile
import traceback
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.adapters.build.render import (
    Builder,
    RenderCache,
    RenderResult,
    RenderSettings,
    TreeRenderer,
)
from bot.app.log import get_logger
from bot.core.config import Config, load_config
from bot.core.dispatch import CONFIG_FILES
from bot.core.errors import BotError, ConfigError, RenderError
from bot.core.flux.diff import (
    DiffOptions,
    KustomizationDiff,
    PreviewDiff,
    diff_objects,
    image_changes,
    scrub,
    secret_values,
)
from bot.core.flux.graph import FluxGraph, Node
from bot.core.flux.mask import NoiseRules, generator_secret_values
from bot.core.flux.objects import Loader, caching_loader
from bot.core.flux.releases import touched_releases
from bot.core.render.preview import DIFF_MARKER, FULL_DIFF_HINT, diff_comment
from bot.ports import Forge

log = get_logger(__name__)


@dataclass(frozen=True)
class PreviewOptions:
    render: RenderSettings = field(default_factory=RenderSettings)
    diff: DiffOptions = field(default_factory=DiffOptions)
    repo_urls: tuple[str, ...] = ()
    render_all: bool = False  # every Kustomization, not just the affected ones (benchmarks)
    parallel: bool = True  # render base and head concurrently (builds are subprocesses)


def noise_rules(config: Config) -> NoiseRules:
    """``diff.noise`` of ``.fluxbot.yaml``: each list given replaces its default."""
    noise = config.diff.get("noise") or {}
    default = NoiseRules()
    return NoiseRules(
        annotations=tuple(noise.get("annotations", default.annotations)),
        labels=tuple(noise.get("labels", default.labels)),
    )


def configured(
    base: Mapping[str, str], options: PreviewOptions | None = None
) -> tuple[PreviewOptions, tuple[str, ...]]:
    """``options`` with the ``diff:`` settings of the *base* tree's ``.fluxbot.yaml``.

    The base side is the trusted one: a PR must not be able to hide its own changes by adding
    noise patterns. An invalid file leaves the defaults and is reported as a problem.
    """
    opts = options or PreviewOptions()
    name = next((n for n in CONFIG_FILES if n in base), None)
    if name is None:
        return opts, ()
    try:
        config = load_config(base[name], name)
    except ConfigError as exc:
        return opts, (f"{exc} (diff settings left at their defaults)",)
    return replace(opts, diff=replace(opts.diff, noise=noise_rules(config))), ()


def changed_between(base: Mapping[str, str], head: Mapping[str, str]) -> set[str]:
    """Paths added, removed or modified between two trees."""
    return {p for p in set(base) | set(head) if base.get(p) != head.get(p)}


def _affected(graph: FluxGraph, changed: set[str], render_all: bool) -> dict[str, Node]:
    if render_all:
        return {n.label: n for n in graph.nodes}
    return {n.label: n for n in graph.affected_nodes(changed)}


def _children_changed(
    base: TreeRenderer, head: TreeRenderer, base_nodes: dict[str, Node], head_nodes: dict[str, Node]
) -> None:
    """Add to the affected sets every child whose object its affected parent now builds
    differently (a parent's patch, replacement or variable changed it), to a fixed point."""
    checked: set[tuple[str, str]] = set()
    grew = True
    while grew:
        grew = False
        for side, other, nodes, other_nodes in (
            (base, head, base_nodes, head_nodes),
            (head, base, head_nodes, base_nodes),
        ):
            for parent in [n for n in side.graph.nodes if n.label in nodes]:
                for child in side.graph.children(parent):
                    if (parent.label, child.label) in checked:
                        continue
                    checked.add((parent.label, child.label))
                    twin = next((n for n in other.graph.nodes if n.label == child.label), None)
                    if twin is None or side.effective(child)[0] != other.effective(twin)[0]:
                        grew = grew or child.label not in nodes
                        nodes.setdefault(child.label, child)
                        if twin is not None:
                            grew = grew or twin.label not in other_nodes
                            other_nodes.setdefault(twin.label, twin)


def run_preview(
    base: Mapping[str, str],
    head: Mapping[str, str],
    changed: Iterable[str] | None = None,
    options: PreviewOptions | None = None,
    builder: Builder | None = None,
) -> PreviewDiff:
    """Render the affected Kustomizations on both sides and diff their objects.

    Failures of single renders are part of the result. Anything unexpected becomes a
    :class:`~bot.core.errors.RenderError` naming only the exception type and where it was raised:
    its message, and the locals a traceback formatter might print, can hold PR content and
    secret values.
    """
    try:
        return _run_preview(base, head, changed, options, builder)
    except BotError:
        raise
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        log.error("preview crashed", error_type=type(exc).__name__, where=where)
        raise RenderError(
            f"preview failed unexpectedly ({type(exc).__name__} at {where})"
        ) from None


def _run_preview(
    base: Mapping[str, str],
    head: Mapping[str, str],
    changed: Iterable[str] | None,
    options: PreviewOptions | None,
    builder: Builder | None,
) -> PreviewDiff:
    opts = options or PreviewOptions()
    changed_set = set(changed) if changed is not None else changed_between(base, head)
    load = caching_loader({})  # both sides share the parse of every unchanged file
    base_graph = FluxGraph.from_tree(base, opts.repo_urls, load)
    head_graph = FluxGraph.from_tree(head, opts.repo_urls, load)
    secrets = (
        secret_values(base_graph.objects)
        | secret_values(head_graph.objects)
        | generator_secret_values(base, load)
        | generator_secret_values(head, load)
    )
    diff_opts = DiffOptions(
        noise=opts.diff.noise,
        context=opts.diff.context,
        max_object_diff=opts.diff.max_object_diff,
        secrets=opts.diff.secrets | secrets,
    )
    problems = sorted({scrub(str(p), secrets) for p in (*head_graph.objects.problems,)})
    render_settings = opts.render
    cache = RenderCache()  # a parent unchanged by the PR is built once, not once per side
    with (
        tempfile.TemporaryDirectory(prefix="fluxbot-helm-") as helm_cache,
        TreeRenderer(
            base, base_graph, _shared_cache(render_settings, helm_cache), builder, cache
        ) as base_side,
        TreeRenderer(
            head, head_graph, _shared_cache(render_settings, helm_cache), builder, cache
        ) as head_side,
        ThreadPoolExecutor(max_workers=2 if opts.parallel else 1) as pool,
    ):
        # parents before children: ${VAR} in a child's spec is resolved from its parent's build
        for note in (*base_side.resolve_graph(), *head_side.resolve_graph()):
            problems.append(scrub(note, secrets))
        base_nodes = _affected(base_graph, changed_set, opts.render_all)
        head_nodes = _affected(head_graph, changed_set, opts.render_all)
        if not opts.render_all:
            _children_changed(base_side, head_side, base_nodes, head_nodes)
        labels = sorted(set(base_nodes) | set(head_nodes))
        # affected on one side is rendered on both (its inputs may change on one side only)
        for graph, nodes in ((base_graph, base_nodes), (head_graph, head_nodes)):
            nodes.update({n.label: n for n in graph.nodes if n.label in labels})
        log.info("preview", changed=len(changed_set), affected=len(labels))
        # one worker per side: each side renders in its own directory, one build at a time;
        # kustomize first, then only the charts of releases the change can affect (either side)
        base_job = pool.submit(_render_side, base_side, base_nodes)
        head_job = pool.submit(_render_side, head_side, head_nodes)
        old_results, new_results = base_job.result(), head_job.result()
        only = _releases_to_template(
            labels, (base_side, base_nodes, old_results), (head_side, head_nodes, new_results),
            None if opts.render_all else frozenset(changed_set), load,
        )  # fmt: skip
        base_job = pool.submit(_chart_side, base_side, base_nodes, old_results, only)
        head_job = pool.submit(_chart_side, head_side, head_nodes, new_results, only)
        old_results, new_results = base_job.result(), head_job.result()
    results: list[KustomizationDiff] = []
    for label in labels:
        entry = _diff_one(label, old_results.get(label), new_results.get(label), diff_opts)
        if entry.base_error or entry.head_error:
            log.info(
                "render failed",
                kustomization=label,
                base_error=entry.base_error,
                head_error=entry.head_error,
            )
        if not entry.empty:
            results.append(entry)
    return PreviewDiff(
        tuple(results),
        len(labels),
        tuple(problems),
        _unreconciled(changed_set, (base, base_graph), (head, head_graph), load),
    )


def _unreconciled(
    changed: set[str],
    base: tuple[Mapping[str, str], FluxGraph],
    head: tuple[Mapping[str, str], FluxGraph],
    load: Loader,
) -> tuple[str, ...]:
    """Changed Kubernetes manifests (YAML with ``apiVersion`` and ``kind``) that no
    Kustomization of either side reads: a placeholder ``flux-system``, a bootstrap file."""
    read = {p for _, graph in (base, head) for n in graph.nodes for p in n.inputs}
    found: list[str] = []
    for path in sorted(changed - read):
        if not path.endswith((".yaml", ".yml")) or path.startswith(".github/"):
            continue
        for tree, _ in (head, base):
            if path not in tree:
                continue
            try:
                docs = load(tree[path], path)
            except BotError:
                docs = []
            if any(isinstance(d, Mapping) and d.get("apiVersion") and d.get("kind") for d in docs):
                found.append(path)
                break
    return tuple(found)


def _shared_cache(settings: RenderSettings, cache: str) -> RenderSettings:
    """Both sides pull charts into one helm cache (a chart is fetched once per preview)."""
    if not settings.helm.enabled or settings.helm.cache_dir:
        return settings
    return replace(settings, helm=replace(settings.helm, cache_dir=cache))


def _render_side(side: TreeRenderer, nodes: Mapping[str, Node]) -> dict[str, RenderResult]:
    return {label: side.render(node, charts=False) for label, node in sorted(nodes.items())}


Side = tuple[TreeRenderer, Mapping[str, Node], Mapping[str, RenderResult]]


def _releases_to_template(
    labels: Iterable[str], base: Side, head: Side, changed: frozenset[str] | None, load: Loader
) -> dict[str, frozenset[str] | None]:
    """Per Kustomization, the releases whose charts to template: those either side's change can
    affect (``None``: all of them; also when rendering everything)."""
    only: dict[str, frozenset[str] | None] = {}
    for label in labels:
        found: set[str] = set()
        for side, nodes, results in (base, head):
            node, result = nodes.get(label), results.get(label)
            if changed is None or node is None or result is None or result.error is not None:
                continue
            touched = touched_releases(
                node, result.objects, side.tree, side.graph.objects, changed, load
            )
            if touched is None:
                break
            found |= touched
        else:
            only[label] = None if changed is None else frozenset(found)
            continue
        only[label] = None
    return only


def _chart_side(
    side: TreeRenderer,
    nodes: Mapping[str, Node],
    results: Mapping[str, RenderResult],
    only: Mapping[str, frozenset[str] | None],
) -> dict[str, RenderResult]:
    return {
        label: side.add_charts(nodes[label], result, only.get(label))
        for label, result in sorted(results.items())
    }


def _diff_one(
    label: str, old: RenderResult | None, new: RenderResult | None, opts: DiffOptions
) -> KustomizationDiff:
    key = (new or old).key  # type: ignore[union-attr]
    # a chart that failed on either side is left out on both (no phantom creates/deletes)
    skip = (old.chart_failures if old else frozenset()) | (
        new.chart_failures if new else frozenset()
    )
    old_objs = _with_charts(old, skip)
    new_objs = _with_charts(new, skip)
    failed = (old is not None and old.error is not None) or (
        new is not None and new.error is not None
    )
    changes = () if failed else tuple(diff_objects(old_objs, new_objs, opts))
    notes = dict.fromkeys(scrub(n, opts.secrets) for r in (old, new) if r for n in r.notes)
    return KustomizationDiff(
        label=label,
        key=key,
        changes=changes,
        images=() if failed else tuple(image_changes(old_objs, new_objs)),
        base_error=scrub(old.error, opts.secrets) if old is not None and old.error else None,
        head_error=scrub(new.error, opts.secrets) if new is not None and new.error else None,
        notes=tuple(notes) if changes or failed else (),
    )


def _with_charts(
    result: RenderResult | None, skip: frozenset[str]
) -> tuple[Mapping[str, Any], ...]:
    if result is None or result.error is not None:
        return ()
    charts = [o for name, objs in sorted(result.charts.items()) if name not in skip for o in objs]
    return (*result.objects, *charts)


def preview_comment(
    result: PreviewDiff, max_chars: int | None = None, full_diff: str = FULL_DIFF_HINT
) -> str:
    """The sticky-comment markdown for a preview (capped, with the hidden marker); ``full_diff``
    says in the truncation note where the whole diff is (e.g. "see the job summary")."""
    if max_chars is None:
        return diff_comment(result, full_diff=full_diff)
    return diff_comment(result, max_chars=max_chars, full_diff=full_diff)


def render_input(path: str) -> bool:
    """Files a render may read: every file but VCS metadata (kustomize generators read any)."""
    return not path.startswith(".git/")


async def post_preview(
    forge: Forge,
    number: int,
    base_ref: str,
    head_ref: str,
    options: PreviewOptions | None = None,
    full_diff: str = FULL_DIFF_HINT,
) -> PreviewDiff:
    """Render a PR's preview and ensure its one sticky comment (found by :data:`DIFF_MARKER`).

    Both trees are read with every file a build may need (:func:`render_input`, not only YAML:
    chart helpers, generator inputs); the ``diff:`` settings come from the base tree's
    ``.fluxbot.yaml`` (:func:`configured`). The renders run in a worker thread, so the event loop
    stays free while kustomize runs.
    """
    base, head = await asyncio.gather(
        forge.read_tree(base_ref, render_input), forge.read_tree(head_ref, render_input)
    )
    opts, problems = configured(base, options)
    result = await asyncio.to_thread(run_preview, base, head, None, opts)
    if problems:
        result = replace(result, problems=(*problems, *result.problems))
    await forge.ensure_comment(number, DIFF_MARKER, preview_comment(result, full_diff=full_diff))
    return result
