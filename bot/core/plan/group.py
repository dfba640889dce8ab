"""Steps 4 and 5, group and write: planned updates into branch-sized groups, then each group's
new file texts.

Each file of a group is the base text with only that group's edits (setter markers through
:func:`bot.core.manifests.setters.apply`, sites spliced and re-scanned), so groups never depend
on each other.

    groups, problems = group(planned, "image")
    written, failures = write(tree, groups, settled.results)
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from enum import StrEnum

from bot.core.errors import ManifestError
from bot.core.manifests import setters
from bot.core.model import Update, UpdateGroup, slug
from bot.core.plan.model import Planned, Problem
from bot.core.plan.sites import apply_site_edits


class Grouping(StrEnum):
    """The config's ``group:``: one PR per image, per owning Kustomization, or one for all."""

    IMAGE = "image"
    KUSTOMIZATION = "kustomization"
    ALL = "all"


GROUPINGS = tuple(g.value for g in Grouping)


def _key(update: Update, mode: Grouping) -> str:
    if mode is Grouping.ALL:
        return "all"
    if mode is Grouping.KUSTOMIZATION:
        return update.kustomization or "unowned"
    return update.image


def group_names(keys: set[str]) -> dict[str, str]:
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


def group(
    planned: Sequence[Planned], mode: str
) -> tuple[list[tuple[str, list[Planned]]], tuple[Problem, ...]]:
    """(name, updates sorted by file and line) per group, sorted by name."""
    problems: tuple[Problem, ...] = ()
    try:
        grouping = Grouping(mode)
    except ValueError:
        problems = (Problem(f"unknown grouping {mode!r}: grouping by image"),)
        grouping = Grouping.IMAGE
    by_key: dict[str, list[Planned]] = defaultdict(list)
    for item in planned:
        by_key[_key(item.update, grouping)].append(item)
    names = group_names(set(by_key))
    by_name = {names[key]: items for key, items in by_key.items()}
    out = [
        (name, sorted(by_name[name], key=lambda i: (i.update.path, i.update.line)))
        for name in sorted(by_name)
    ]
    return out, problems


def unwritten(groups: Sequence[tuple[str, list[Planned]]]) -> list[UpdateGroup]:
    """The groups with their updates only (``fluxbot plan`` shows updates, writes nothing)."""
    return [UpdateGroup(name, tuple(i.update for i in items)) for name, items in groups]


def write(
    tree: Mapping[str, str],
    groups: Sequence[tuple[str, list[Planned]]],
    results: Mapping[str, Mapping[str, str]],
) -> tuple[list[UpdateGroup], tuple[Problem, ...]]:
    """Each group with the new text of every file it changes; a group whose edits change
    nothing is dropped, a file whose edit fails is a problem (its updates are dropped)."""
    out: list[UpdateGroup] = []
    problems: list[Problem] = []
    for name, items in groups:
        files: dict[str, str] = {}
        for path in sorted({i.path for i in items}):
            here = [i for i in items if i.path == path]
            policies = {i.marker for i in here if i.marker is not None}
            site_edits = [i.edit for i in here if i.edit is not None]
            try:
                text = apply_site_edits(tree[path], site_edits)
                if policies:
                    text = setters.apply(text, {k: results[k] for k in policies})
            except ManifestError as exc:
                problems.append(Problem.at(path, f"edit failed: {exc}"))
                continue
            if text != tree[path]:
                files[path] = text
        kept = tuple(i.update for i in items if i.path in files)
        if kept:
            out.append(UpdateGroup(name, kept, tuple(sorted(files.items()))))
    return out, tuple(problems)


__all__ = ["GROUPINGS", "Grouping", "group", "group_names", "unwritten", "write"]
