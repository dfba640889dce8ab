"""Planning: from a repository tree to update groups (scan → fetch tags → policy → edit → group).

Two kinds of references are planned side by side:

* **setter markers** (``{"$imagepolicy": "ns:name"}``): the marker's ImagePolicy spec and its
  ImageRepository (image, ``exclusionList``) found in the tree decide, with
  :func:`bot.core.policy.latest`, exactly as Flux would; :func:`bot.core.manifests.setters.apply`
  writes;
* **auto-detected references** (see :mod:`bot.jobs.sites`): a ``.fluxbot.yaml`` rule names a
  policy or preset for the image, else the current tag's shape decides
  (:func:`bot.core.policy.shape.select`).

Tags are fetched once per image repository, concurrently; a failing image (registry or policy
error) becomes a *problem* of the plan and never stops the others. Each file of a group is the
base text with only that group's edits, so groups never depend on each other.

    the_plan = await plan(tree, ctx)
    for group in the_plan.groups: ...
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.app.log import get_logger
from bot.core.config import Config, load_config
from bot.core.errors import BotError, ManifestError, PolicyError
from bot.core.flux.graph import FluxGraph
from bot.core.flux.objects import ImagePolicy, parse_tree
from bot.core.ignores import filter_tags
from bot.core.manifests import setters
from bot.core.model import Ignore, Update, UpdateGroup, slug
from bot.core.policy import exclude_tags
from bot.jobs.context import Context
from bot.jobs.markers import (
    Fetch,
    Progress,
    fetch_all,
    flux_policies,
    marker_policies,
    resolve_markers,
    tag_of,
)
from bot.jobs.sites import (
    Chooser,
    Site,
    apply_site_edits,
    auto_sites,
)

log = get_logger(__name__)

CONFIG_FILES = (".fluxbot.yaml", ".fluxbot.yml", ".github/fluxbot.yaml")
GROUPINGS = ("image", "kustomization", "all")


@dataclass(frozen=True)
class PrOptions:
    """The ``pr:`` part of the config as the update job needs it."""

    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    commit: str | None = None
    title: str | None = None
    max_open: int = 0  # 0: no limit
    max_per_hour: int = 0
    group: str = "image"


@dataclass(frozen=True)
class Plan:
    """What :func:`plan` proposes: groups (with new file texts), problems, references seen."""

    groups: list[UpdateGroup]
    problems: list[str]
    refs_seen: int
    failed_images: frozenset[str] = frozenset()
    config: Any = field(default=None, compare=False, repr=False)
    images_fetched: int = 0
    unresolved: list[str] = field(default_factory=list)

    @property
    def updates(self) -> list[Update]:
        return [u for g in self.groups for u in g.updates]

    def to_json(self) -> dict[str, Any]:
        return {
            "refs_seen": self.refs_seen,
            "images_fetched": self.images_fetched,
            "groups": [
                {
                    "name": g.name,
                    "branch": g.branch,
                    "files": sorted({u.path for u in g.updates}),
                    "updates": [u.to_json() for u in g.updates],
                }
                for g in self.groups
            ],
            "problems": list(self.problems),
            "unresolved": list(self.unresolved),
        }


def load_tree_config(tree: Mapping[str, str]) -> Config:
    """The repository's ``.fluxbot.yaml`` (the defaults when it has none); ConfigError if bad."""
    for name in CONFIG_FILES:
        if name in tree:
            return load_config(tree[name], name)
    return Config.default()


def pr_options(config: Any) -> PrOptions:
    """:class:`PrOptions` from a loaded config (no limits and defaults without one)."""
    pr = getattr(config, "pr", None)
    group = str(getattr(config, "group", None) or getattr(pr, "group", None) or "image")
    if pr is None:
        return PrOptions(group=group)
    return PrOptions(
        labels=tuple(getattr(pr, "labels", ()) or ()),
        reviewers=tuple(getattr(pr, "reviewers", ()) or ()),
        assignees=tuple(getattr(pr, "assignees", ()) or ()),
        commit=getattr(pr, "commit_message", None) or None,
        title=getattr(pr, "title", None) or None,
        max_open=int(getattr(pr, "max_open", 0) or 0),
        max_per_hour=int(getattr(pr, "max_per_hour", 0) or 0),
        group=group,
    )


@dataclass(frozen=True)
class _Planned:
    """One update and how to write it: a marker's policy, or a site edit."""

    update: Update
    path: str
    fetch: str
    marker: str | None = None
    edit: tuple[Site, str, str | None] | None = None


async def plan(
    tree: Mapping[str, str],
    ctx: Context,
    *,
    ignores: Sequence[Ignore] = (),
    progress: Progress | None = None,
    config: Any = None,
    links: bool = False,
    edits: bool = True,
) -> Plan:
    """Plan every image update of ``tree`` (see module docstring).

    ``links``: also look up each new image's OCI source annotation for the PR body's links.
    ``edits=False`` skips writing (and re-scanning) the new file texts: groups then carry the
    updates only (``fluxbot plan`` shows updates; ``run`` always edits).
    """
    if config is None:
        config = load_tree_config(tree)
    problems: list[str] = []
    objects = parse_tree(tree)
    problems.extend(str(p) for p in objects.problems)
    graph = FluxGraph(objects, tree.keys())
    mirrors = dict(getattr(ctx.settings, "registry_mirrors", ()) or ())
    mirrors.update(_config_mirrors(config))

    markers: dict[str, list[setters.Marker]] = {}
    for path, text in tree.items():
        if setters.TOKEN in text:
            try:
                found = setters.find_markers(text)
            except ManifestError as exc:
                problems.append(f"{path}: {exc}")
                continue
            if found:
                markers[path] = found
    wanted = {m.policy for ms in markers.values() for m in ms}
    policies = marker_policies(objects, wanted, mirrors, problems)
    in_tree = {f"{p.namespace}:{p.name}" for p in objects.of(ImagePolicy)}
    chooser = Chooser(config, flux_policies(objects))
    sites, site_problems, unresolved, refs_seen = auto_sites(tree, in_tree, mirrors, chooser)
    problems.extend(site_problems)

    images = sorted({p.fetch for p in policies.values()} | {s.fetch for s in sites})
    fetched = await fetch_all(ctx, images, progress)
    failed: set[str] = set()
    for f in fetched.values():
        if f.error is not None:
            problems.append(f"{f.image}: {f.error}")

    results, marker_why = await resolve_markers(ctx, policies, fetched, ignores, problems, failed)
    choices = await _resolve_sites(ctx, sites, fetched, ignores, chooser, problems, failed)

    updates: list[_Planned] = []
    for path, found in markers.items():
        for m in found:
            mp = policies.get(m.policy)
            res = results.get(m.policy)
            if mp is None or res is None:
                continue
            new = setters.setter_value(res, m.field)
            if new is None or new == m.value:
                continue
            policy, reason = marker_why[m.policy]
            upd = Update(
                path=path,
                line=m.line + 1,
                image=mp.image,
                old=tag_of(m.value, m.field),
                new=tag_of(new, m.field),
                policy=policy,
                reason=reason,
                site=f"setter:{m.field.value}",
                kustomization=graph.owner(path),
            )
            updates.append(_Planned(upd, path, mp.fetch, marker=m.policy))
    for site, (new_tag, new_digest, policy, reason) in choices.items():
        upd = Update(
            path=site.path,
            line=site.line + 1,
            image=site.image,
            old=site.tag,
            new=new_tag,
            old_digest=site.digest,
            new_digest=new_digest,
            policy=policy,
            reason=reason,
            site=site.kind,
            kustomization=graph.owner(site.path),
        )
        updates.append(_Planned(upd, site.path, site.fetch, edit=(site, new_tag, new_digest)))

    if links:  # PR bodies link to the source; a plain plan does not need the extra lookups
        updates = await _with_sources(ctx, updates)
    groups = _group(tree, updates, results, pr_options(config).group, problems, edits)
    all_failed = failed | {f.image for f in fetched.values() if f.error is not None}
    failed_names = {p.image for p in policies.values() if p.fetch in all_failed}
    failed_names |= {s.image for s in sites if s.fetch in all_failed} | failed
    return Plan(
        groups=groups,
        problems=list(dict.fromkeys(problems)),  # the Flux parse and the scan see the same file
        refs_seen=refs_seen,
        failed_images=frozenset(failed_names),
        config=config,
        images_fetched=len(images),
        unresolved=unresolved,
    )


def _config_mirrors(config: Any) -> dict[str, str]:
    registries = getattr(config, "registries", None)
    mirrors = getattr(registries, "mirrors", None) if registries is not None else None
    return dict(mirrors or {})


async def _resolve_sites(
    ctx: Context,
    sites: Sequence[Site],
    fetched: Mapping[str, Fetch],
    ignores: Sequence[Ignore],
    chooser: Chooser,
    problems: list[str],
    failed: set[str],
) -> dict[Site, tuple[str, str | None, str, str]]:
    out: dict[Site, tuple[str, str | None, str, str]] = {}
    digests: dict[str, Awaitable[str]] = {}
    pending: list[tuple[Site, str, str, str]] = []
    # many references share an image and a current tag: decide each combination once
    paths = chooser.path_sensitive
    decided: dict[tuple[str, str, str, str], tuple[str, str, str] | PolicyError] = {}
    listed: dict[str, list[str]] = {}  # the exclusion list applied once per repository
    for site in sites:
        tags = fetched[site.fetch].tags
        if tags is None:
            continue
        key = (site.fetch, site.image, site.tag, site.path if paths else "")
        if key not in decided:
            try:
                if site.fetch not in listed:
                    listed[site.fetch] = exclude_tags(tags, chooser.exclusion)
                kept = filter_tags(site.image, listed[site.fetch], ignores)
                decided[key] = chooser.choose(site, kept)
            except PolicyError as exc:
                decided[key] = exc
        try:
            outcome = decided[key]
            if isinstance(outcome, PolicyError):
                raise outcome
            new, policy, reason = outcome
        except PolicyError as exc:
            problems.append(f"{site.path}:{site.line + 1}: {site.image}: {exc}")
            failed.add(site.image)
            continue
        if new == site.tag and site.digest is None:
            continue
        if site.digest is not None:
            ref = f"{site.fetch}:{new}"
            if ref not in digests:
                digests[ref] = asyncio.ensure_future(ctx.registry.digest(ref))
        pending.append((site, new, policy, reason))
    for site, new, policy, reason in pending:
        new_digest: str | None = None
        if site.digest is not None:
            try:
                new_digest = await digests[f"{site.fetch}:{new}"]
            except BotError as exc:
                problems.append(f"{site.image}:{new}: digest: {exc}")
                failed.add(site.image)
                continue
            if new == site.tag and new_digest == site.digest:
                continue
        out[site] = (new, new_digest, policy, reason)
    return out


async def _with_sources(ctx: Context, planned: list[_Planned]) -> list[_Planned]:
    """Fill each update's ``source_url`` from its new image's OCI source annotation, when the
    registry client can inspect images (one lookup per new image; failures just mean no link)."""
    inspect = getattr(ctx.registry, "inspect", None)
    if inspect is None or not planned:
        return planned
    wanted = sorted({(p.fetch, p.update.new) for p in planned})

    async def one(fetch: str, tag: str) -> str | None:
        try:
            info = await inspect(f"{fetch}:{tag}")
        except BotError:
            return None
        source = getattr(info, "source", None)
        return str(source) if source else None

    found = await asyncio.gather(*(one(f, t) for f, t in wanted))
    sources = dict(zip(wanted, found, strict=True))
    return [
        replace(p, update=replace(p.update, source_url=sources.get((p.fetch, p.update.new))))
        for p in planned
    ]


def _group_key(update: Update, mode: str) -> str:
    if mode == "all":
        return "all"
    if mode == "kustomization":
        return update.kustomization or "unowned"
    return update.image


def _group_names(keys: set[str]) -> dict[str, str]:
    """Branch-safe, collision-free names: ``slug(key)``, and when two keys slug alike (``a/b-c``
    and ``a-b/c``, or names cut at 100 characters) each of them gets a short hash of its key."""
    by_slug: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        by_slug[slug(key)].append(key)
    names: dict[str, str] = {}
    for base, same in by_slug.items():
        for key in same:
            if len(same) == 1:
                names[key] = base
            else:
                digest = hashlib.sha256(key.encode()).hexdigest()[:8]
                names[key] = f"{base[:91]}-{digest}"
    return names


def _group(
    tree: Mapping[str, str],
    updates: Sequence[_Planned],
    results: Mapping[str, Mapping[str, str]],
    mode: str,
    problems: list[str],
    edits: bool = True,
) -> list[UpdateGroup]:
    if mode not in GROUPINGS:
        problems.append(f"unknown grouping {mode!r}: grouping by image")
        mode = "image"
    by_key: dict[str, list[_Planned]] = defaultdict(list)
    for item in updates:
        by_key[_group_key(item.update, mode)].append(item)
    names = _group_names(set(by_key))
    by_group = {names[key]: items for key, items in by_key.items()}
    groups: list[UpdateGroup] = []
    for name in sorted(by_group):
        items = sorted(by_group[name], key=lambda i: (i.update.path, i.update.line))
        if not edits:
            groups.append(UpdateGroup(name, tuple(i.update for i in items)))
            continue
        files: dict[str, str] = {}
        for path in sorted({i.path for i in items}):
            here = [i for i in items if i.path == path]
            policies = {i.marker for i in here if i.marker is not None}
            site_edits = [i.edit for i in here if i.edit is not None]
            try:
                text = apply_site_edits(tree[path], path, site_edits)
                if policies:
                    text = setters.apply(text, {k: results[k] for k in policies})
            except ManifestError as exc:
                problems.append(f"{path}: edit failed: {exc}")
                continue
            if text != tree[path]:
                files[path] = text
        kept = tuple(i.update for i in items if i.path in files)
        if kept:
            groups.append(UpdateGroup(name, kept, tuple(sorted(files.items()))))
    return groups


__all__ = ["Plan", "PrOptions", "load_tree_config", "plan", "pr_options"]
