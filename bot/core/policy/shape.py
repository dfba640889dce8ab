"""The default policy for detected references: keep the tag's shape (Renovate docker versioning).

A tag is ``[v]<release>[<prerelease>][-<suffix>]``: release numbers ``1.2.3``, an optional
prerelease glued to them (``1.2.3rc1``, ``1.2.3b``), and a suffix after the first ``-``
(``-alpine``, ``-bookworm-slim``). A candidate keeps the shape of the current tag when it has the
same ``v`` prefix, the same number of release parts and the same suffix; it must be newer (no
downgrades) and, when the current tag is stable, stable too (no prereleases)::

    >>> select("1.25.3-alpine", ["1.25.4-alpine", "1.26.0", "1.27.0-alpine", "1.28.0rc1-alpine"])
    '1.27.0-alpine'
    >>> select("v2.1", ["v2.2", "2.3", "v2.2.1"])
    'v2.2'
    >>> select("3.1", ["3.0", "3.1"]) is None
    True

Ordering as Renovate's docker versioning: release parts numerically, a stable release above a
prerelease of the same numbers, prereleases alphabetically. Tags that look like commit hashes
(7-40 hex characters, not all digits) and tags without leading release numbers (``latest``) never
qualify. Departures from Renovate, on purpose: the ``v`` prefix must match (Renovate ignores it),
and prereleases are offered only to a tag that is itself a prerelease.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["TagShape", "is_newer", "parse", "select"]

_VERSION = re.compile(r"(\d+(?:\.\d+)*)(\w*)")
_COMMIT = re.compile(r"[a-f0-9]{7,40}")
_NUMERIC = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class TagShape:
    """A tag split the way Renovate's docker versioning splits it."""

    prefix: str  # "v" or ""
    release: tuple[int, ...]
    prerelease: str
    suffix: str

    def same_shape(self, other: TagShape) -> bool:
        """Same ``v`` prefix, same number of release parts, same suffix."""
        return (
            self.prefix == other.prefix
            and len(self.release) == len(other.release)
            and self.suffix == other.suffix
        )

    def key(self) -> tuple[tuple[int, ...], int, str]:
        """Sort key: release, then stable above prerelease, then prerelease alphabetically."""
        return self.release, 0 if self.prerelease else 1, self.prerelease


@lru_cache(maxsize=65536)
def parse(tag: str) -> TagShape | None:
    """The shape of ``tag``, or ``None`` if it is not a version-like tag (memoised: a plan asks
    for the same tags of one repository once per reference)."""
    if _COMMIT.fullmatch(tag) and not _NUMERIC.fullmatch(tag):
        return None
    prefix = "v" if tag.startswith("v") else ""
    head, _, suffix = tag[len(prefix) :].partition("-")
    match = _VERSION.fullmatch(head)
    if match is None:
        return None
    release = tuple(int(part) for part in match.group(1).split("."))
    return TagShape(prefix, release, match.group(2), suffix)


def is_newer(candidate: TagShape, current: TagShape) -> bool:
    """True when ``candidate`` sorts strictly above ``current``."""
    return candidate.key() > current.key()


def select(current_tag: str, tags: Iterable[str]) -> str | None:
    """The newest tag of the same shape as ``current_tag``, or ``None`` if none is newer."""
    current = parse(current_tag)
    if current is None:
        return None
    best: tuple[tuple[tuple[int, ...], int, str], str] | None = None
    for tag in tags:
        shape = parse(tag)
        if shape is None or not shape.same_shape(current):
            continue
        if shape.prerelease and not current.prerelease:
            continue
        if not is_newer(shape, current):
            continue
        ranked = (shape.key(), tag)
        if best is None or ranked > best:
            best = ranked
    return None if best is None else best[1]
