"""Which HelmReleases of a rendered Kustomization a change can affect (their charts are templated).

Templating a chart is the slowest part of a preview, and a chart whose release, sources, values
and chart files are all unchanged renders the same objects on both sides. :func:`touched_releases`
answers conservatively: ``None`` (every release) as soon as a changed input could act on all of
the Kustomization's objects (a ``kustomization.yaml``, a patch, a generator input, the Flux
Kustomization itself, a ``substituteFrom`` source); otherwise the releases whose own object, chart
source (HelmRepository/OCIRepository/HelmChart), ``valuesFrom`` objects or in-repo chart files are
in the changed files. The preview takes the union over both sides.

    >>> touched_releases(node, objects, tree, repo, {"apps/x/values.yaml"}, load)  # doctest: +SKIP
    frozenset({'web/x'})
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any

from bot.core.flux.graph import Node
from bot.core.flux.objects import (
    HELM_GROUP,
    KUSTOMIZATION_FILES,
    FluxObjects,
    api_group,
    clean_path,
)

Loader = Callable[[str, str], list[Any]]


def _names(docs: Iterable[Any]) -> set[tuple[str, str]]:
    """``(kind, metadata.name)`` of every document."""
    names: set[tuple[str, str]] = set()
    for doc in docs:
        meta = doc.get("metadata") if isinstance(doc, Mapping) else None
        if isinstance(meta, Mapping) and meta.get("name"):
            names.add((str(doc.get("kind") or ""), str(meta["name"])))
    return names


def _refs(hr: Mapping[str, Any], scope: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """``(kind, rendered name)`` the release depends on: itself, its chart source (and a
    HelmChart's HelmRepository), its ``valuesFrom`` objects."""
    spec = hr.get("spec") or {}
    refs = {("HelmRelease", str((hr.get("metadata") or {}).get("name") or ""))}
    chart_ref = spec.get("chartRef") or {}
    source = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
    for ref in (chart_ref, source, *(spec.get("valuesFrom") or [])):
        if isinstance(ref, Mapping) and ref.get("name"):
            refs.add((str(ref.get("kind") or ""), str(ref["name"])))
    for obj in scope:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "HelmChart" and ("HelmChart", meta.get("name")) in refs:
            src = (obj.get("spec") or {}).get("sourceRef") or {}
            if isinstance(src, Mapping) and src.get("name"):
                refs.add((str(src.get("kind") or ""), str(src["name"])))
    return {r for r in refs if r[1]}


def _chart_dir(hr: Mapping[str, Any], scope: Iterable[Mapping[str, Any]]) -> str | None:
    """A chart directory taken from a GitRepository: ``spec.chart`` directly or ``spec.chartRef``
    through a HelmChart of the scope (which GitRepository does not matter here: over-matching
    only templates one more release)."""
    spec = hr.get("spec") or {}
    cspec = (spec.get("chart") or {}).get("spec") or {}
    source = cspec.get("sourceRef") or {}
    if isinstance(source, Mapping) and source.get("kind") == "GitRepository" and cspec.get("chart"):
        return clean_path(str(cspec["chart"]))
    ref = spec.get("chartRef") or {}
    if isinstance(ref, Mapping) and ref.get("kind") == "HelmChart":
        for obj in scope:
            meta, ospec = obj.get("metadata") or {}, obj.get("spec") or {}
            src = ospec.get("sourceRef") or {}
            if (
                obj.get("kind") == "HelmChart"
                and meta.get("name") == ref.get("name")
                and isinstance(src, Mapping)
                and src.get("kind") == "GitRepository"
                and ospec.get("chart")
            ):
                return clean_path(str(ospec["chart"]))
    return None


def touched_releases(
    node: Node,
    objects: Iterable[Mapping[str, Any]],
    tree: Mapping[str, str],
    repo: FluxObjects,
    changed: Set[str],
    load: Loader,
) -> frozenset[str] | None:
    """``namespace/name`` of the rendered releases a change can affect; ``None``: all of them."""
    scope = [o for o in objects if isinstance(o, Mapping)]
    releases = [
        o
        for o in scope
        if api_group(str(o.get("apiVersion") or "")) == HELM_GROUP
        and o.get("kind") == "HelmRelease"
    ]
    chart_dirs = {d for hr in releases if (d := _chart_dir(hr, scope))}
    names: set[tuple[str, str]] = set()
    chart_changes: set[str] = set()
    for path in changed & node.inputs:
        if any(path.startswith(d + "/") for d in chart_dirs):
            chart_changes.add(path)
            continue
        plain = (
            path in node.deploys
            and path.endswith((".yaml", ".yml"))
            and posixpath.basename(path) not in KUSTOMIZATION_FILES
            and path not in repo.patch_files
            and path != node.ks.file
        )
        if not plain:
            return None  # acts on every object (or cannot tell): every release is touched
        if path in tree:
            try:
                names |= _names(load(tree[path], path))
            except Exception:  # an unreadable file fails the build anyway
                return None
    touched: set[str] = set()
    for hr in releases:
        meta = hr.get("metadata") or {}
        ident = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        refs = _refs(hr, scope)
        chart = _chart_dir(hr, scope)
        # a rendered name contains its source name (namePrefix/nameSuffix only add to it)
        by_name = any(k == rk and n in rn for k, n in names for rk, rn in refs)
        by_chart = chart is not None and any(p.startswith(chart + "/") for p in chart_changes)
        if by_name or by_chart:
            touched.add(ident)
    return frozenset(touched)
