"""Flux-exact image policies: which tag an ImagePolicy selects (pure core, no I/O).

    >>> latest({"policy": {"semver": {"range": ">=1.0.0 <2"}}}, ["1.0.0", "1.4.2", "2.0.0", "junk"])
    '1.4.2'

* :func:`latest` is the DESIGN.md §3 contract: a Flux ImagePolicy ``spec`` and tags in, the
  selected original tag out, :class:`bot.core.errors.PolicyError` when the policy is invalid or no
  tag
  qualifies (the message names the rule and the input).
* :func:`explain` gives the same selection with a per-tag kept/dropped reason (``--explain``).
* :func:`exclude_tags` applies an ImageRepository ``exclusionList`` (default ``^.*\\.sig$``; a
  user list replaces the default, an explicit empty list excludes nothing).
* :mod:`bot.core.policy.semver` holds the Masterminds range engine, :mod:`bot.core.policy.presets`
the
  built-in named policies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.core.errors import PolicyError
from bot.core.policy import gosyntax
from bot.core.policy.select import Decision, Explanation, Policy

__all__ = [
    "DEFAULT_EXCLUSION_LIST",
    "Decision",
    "Explanation",
    "Policy",
    "exclude_tags",
    "excluded_by",
    "explain",
    "latest",
]

DEFAULT_EXCLUSION_LIST: tuple[str, ...] = (r"^.*\.sig$",)


def latest(spec: Mapping[str, Any], tags: Iterable[str]) -> str:
    """The tag Flux's image-reflector-controller v1 selects for ImagePolicy ``spec``."""
    return Policy.from_spec(spec).select(tags)


def explain(spec: Mapping[str, Any], tags: Iterable[str]) -> Explanation:
    """Like :func:`latest`, but never raises on "no tag qualifies": reports every tag's fate.

    An invalid spec still raises :class:`PolicyError`.
    """
    return Policy.from_spec(spec).explain(tags)


def _exclusion_matchers(exclusion_list: Sequence[str] | None) -> list[gosyntax.Matcher]:
    patterns = DEFAULT_EXCLUSION_LIST if exclusion_list is None else tuple(exclusion_list)
    matchers = []
    for i, pattern in enumerate(patterns):
        try:
            matchers.append(gosyntax.compile_pattern(pattern))
        except PolicyError as exc:
            raise PolicyError(f"exclusionList[{i}]: {exc}") from None
    return matchers


def excluded_by(tag: str, exclusion_list: Sequence[str] | None = None) -> str | None:
    """The first ``exclusionList`` pattern that excludes ``tag`` (unanchored search), or None."""
    for matcher in _exclusion_matchers(exclusion_list):
        if matcher.search(tag) is not None:
            return matcher.pattern
    return None


def exclude_tags(tags: Iterable[str], exclusion_list: Sequence[str] | None = None) -> list[str]:
    """Tags an ImageRepository keeps: ``None`` means Flux's default ``["^.*\\.sig$"]``."""
    items = list(tags)
    matchers = _exclusion_matchers(exclusion_list)
    if not matchers:
        return items
    searches = [m.searcher(items) for m in matchers]
    return [t for t in items if not any(search(t) is not None for search in searches)]
