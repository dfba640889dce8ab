"""Planning a tree: the pure steps of :mod:`bot.core.plan` in one line, and the lookups between.

Two kinds of references are planned side by side:

* **setter markers** (``{"$imagepolicy": "ns:name"}``): the marker's ImagePolicy spec and its
  ImageRepository (image, ``exclusionList``) found in the tree decide, with
  :func:`bot.core.policy.latest`, exactly as Flux would; :func:`bot.core.manifests.setters.apply`
  writes;
* **auto-detected references** (see :mod:`bot.core.plan.sites`): a ``.fluxbot.yaml`` rule names a
  policy or preset for the image, else the current tag's shape decides
  (:func:`bot.core.policy.shape.select`).

Tags are fetched once per image repository, concurrently; a failing image (registry or policy
error) becomes a *problem* of the plan and never stops the others.

    the_plan = await plan(tree, ctx)
    for group in the_plan.groups: ...
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.config import Config, load_config
from bot.core.errors import BotError
from bot.core.lookups import LookupFailure
from bot.core.model import Ignore
from bot.core.plan.decide import decide, failed_images, settle
from bot.core.plan.extract import Extracted, extract
from bot.core.plan.group import group, unwritten, write
from bot.core.plan.model import Digest, Plan, Planned, Problem, Tags
from bot.jobs.context import Context, TagSource

CONFIG_FILES = (".fluxbot.yaml", ".fluxbot.yml", ".github/fluxbot.yaml")

Progress = Callable[[int, int], None]


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


def load_tree_config(tree: Mapping[str, str]) -> Config:
    """The repository's ``.fluxbot.yaml`` (the defaults when it has none); ConfigError if bad."""
    for name in CONFIG_FILES:
        if name in tree:
            return load_config(tree[name], name)
    return Config.default()


def pr_options(config: Config) -> PrOptions:
    """:class:`PrOptions` from a loaded config."""
    pr = config.pr
    return PrOptions(
        labels=pr.labels,
        reviewers=pr.reviewers,
        assignees=pr.assignees,
        commit=pr.commit_message or None,
        title=pr.title or None,
        max_open=pr.max_open,
        max_per_hour=pr.max_per_hour,
        group=config.group or "image",
    )


async def plan(
    tree: Mapping[str, str],
    ctx: Context,
    *,
    ignores: Sequence[Ignore] = (),
    progress: Progress | None = None,
    config: Config | None = None,
    links: bool = False,
    edits: bool = True,
) -> Plan:
    """Plan every image update of ``tree`` (see module docstring).

    ``links``: also look up each new image's OCI source annotation for the PR body's links.
    ``edits=False`` skips writing (and re-scanning) the new file texts: groups then carry the
    updates only (``fluxbot plan`` shows updates; ``run`` always edits).
    """
    config = load_tree_config(tree) if config is None else config
    found = extract(tree, config, dict(ctx.settings.registry_mirrors))
    tags = await lookup_tags(ctx.registry, found.images, progress)
    decided = decide(found, tags, ignores)
    digests = await lookup_digests(ctx.registry, decided.digest_refs)
    settled = settle(found, decided, digests)
    planned = await with_sources(ctx.registry, settled.planned) if links else settled.planned
    groups, group_problems = group(planned, config.group or "image")
    written, write_problems = (
        write(tree, groups, settled.results) if edits else (unwritten(groups), ())
    )
    tag_problems = tuple(Problem.at(image, t.error) for image, t in tags.items() if t.error)
    problems = (*found.problems, *tag_problems, *settled.problems, *group_problems, *write_problems)
    return Plan(
        groups=tuple(written),
        problems=tuple(dict.fromkeys(problems)),  # the Flux parse and the scan see the same file
        refs_seen=found.refs_seen,
        failed_images=failed_images(found, tags, problems),
        images_fetched=len(found.images),
        unresolved=found.unresolved,
        failures=lookup_failures(found, tags),
    )


def lookup_failures(found: Extracted, tags: Mapping[str, Tags]) -> tuple[LookupFailure, ...]:
    """One failure per repository whose tags could not be read, with the name as written and
    every ``path:line`` that references it (sites and setter markers)."""
    names: dict[str, set[str]] = {}
    refs: dict[str, set[str]] = {}
    for site in found.sites:
        names.setdefault(site.fetch, set()).add(site.image)
        refs.setdefault(site.fetch, set()).add(f"{site.path}:{site.line + 1}")
    for key, mp in found.policies.items():
        names.setdefault(mp.fetch, set()).add(mp.image)
        for path, markers in found.markers.items():
            for m in markers:
                if m.policy == key:
                    refs.setdefault(mp.fetch, set()).add(f"{path}:{m.line + 1}")
    return tuple(
        LookupFailure.of(
            min(names.get(fetch, {fetch})),
            fetch,
            t.error_type or "BotError",
            t.error,
            refs.get(fetch, ()),
        )
        for fetch, t in sorted(tags.items())
        if t.error is not None
    )


async def lookup_tags(
    registry: TagSource, images: Sequence[str], progress: Progress | None = None
) -> dict[str, Tags]:
    """Every tag of each repository, concurrently; a failure is recorded, never raised."""
    done = 0

    async def one(image: str) -> Tags:
        nonlocal done
        try:
            # every tag: the planner applies each ImageRepository's own exclusionList (which
            # replaces Flux's default), so the client must not drop .sig tags first
            return Tags(tuple(await registry.tags(image)))
        except BotError as exc:
            return Tags(error=str(exc), error_type=type(exc).__name__)
        finally:
            done += 1
            if progress is not None:
                progress(done, len(images))

    found = await asyncio.gather(*(one(image) for image in images))
    return dict(zip(images, found, strict=True))


async def lookup_digests(registry: TagSource, refs: Sequence[str]) -> dict[str, Digest]:
    """The digest of each ``repository:tag``, concurrently; failures recorded, never raised."""

    async def one(ref: str) -> Digest:
        try:
            return Digest(await registry.digest(ref))
        except BotError as exc:
            return Digest(error=str(exc))

    found = await asyncio.gather(*(one(ref) for ref in refs))
    return dict(zip(refs, found, strict=True))


async def with_sources(registry: TagSource, planned: Sequence[Planned]) -> tuple[Planned, ...]:
    """Each update with ``source_url`` from its new image's OCI source annotation (one lookup
    per new image; a failure just means no link)."""
    wanted = sorted({(p.fetch, p.update.new) for p in planned})

    async def one(fetch: str, tag: str) -> str | None:
        try:
            return await registry.source(f"{fetch}:{tag}")
        except BotError:
            return None

    found = await asyncio.gather(*(one(f, t) for f, t in wanted))
    sources = dict(zip(wanted, found, strict=True))
    return tuple(
        replace(p, update=replace(p.update, source_url=sources.get((p.fetch, p.update.new))))
        for p in planned
    )


__all__ = [
    "CONFIG_FILES",
    "Plan",
    "PrOptions",
    "load_tree_config",
    "lookup_digests",
    "lookup_tags",
    "plan",
    "pr_options",
    "with_sources",
]
