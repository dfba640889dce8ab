"""The values the planning steps hand each other: problems, lookups, planned updates, the plan.

Every step returns its problems as :class:`Problem` values instead of appending to a list it was
given; a problem that makes an image's outcome unknown names that image (``failed``), so the update
job does not close a PR whose image could not be looked up.

    >>> str(Problem.at("apps/x.yaml", "document 2, line 5: bad YAML"))
    'apps/x.yaml: document 2, line 5: bad YAML'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bot.core.lookups import LookupFailure
from bot.core.manifests.refs import ImageRef
from bot.core.model import Update, UpdateGroup
from bot.core.plan.choose import Chooser

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """Something the plan could not do, as the user reads it; ``failed``: the image it leaves
    undecided (its name as written), if any."""

    text: str
    failed: str | None = None

    @classmethod
    def at(cls, where: str, detail: object, failed: str | None = None) -> Problem:
        """``where: detail`` (a path, ``path:line``, an image or a policy)."""
        return cls(f"{where}: {detail}", failed)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Lookup(Generic[T]):
    """One registry answer (a repository's tags, a tag's digest): the value, or why not."""

    value: T | None = None
    error: str | None = None
    error_type: str | None = None  # the bot.core.errors class name, for the failure's cause


Tags = Lookup[tuple[str, ...]]
Digest = Lookup[str]


@dataclass(frozen=True)
class Site:
    """One auto-detected reference: where it is, what it reads, and where its tags come from."""

    path: str
    start: int
    end: int
    line: int  # 0-based
    image: str  # the name as written (no tag, no digest)
    tag: str
    digest: str | None
    kind: str
    fetch: str  # the repository to list tags of (mirrors applied)
    ref: ImageRef = field(compare=False, hash=False, repr=False)  # what the edit splices


@dataclass(frozen=True)
class Scope:
    """What an extractor may consult: the policy chooser (config rules, exclusions, detection
    switch), registry mirrors, and the ImagePolicies whose markers the marker path plans."""

    chooser: Chooser
    mirrors: Mapping[str, str]
    known_policies: frozenset[str]


@dataclass(frozen=True)
class Found:
    """What one extractor found: sites to plan, problems, references that cannot be updated
    (templated, untagged) and how many references it saw (markers included)."""

    sites: tuple[Site, ...] = ()
    problems: tuple[Problem, ...] = ()
    unresolved: tuple[str, ...] = ()
    refs_seen: int = 0


SiteExtractor = Callable[[Mapping[str, str], Scope], Found]
"""An extractor: the tree (path → text) and the scope in, the sites it plans out."""


@dataclass(frozen=True)
class Planned:
    """One update and how to write it: a marker's policy (``marker``), or a site edit."""

    update: Update
    fetch: str  # the repository its tags came from (mirrors applied)
    marker: str | None = None
    edit: tuple[Site, str, str | None] | None = None  # (site, new tag, new digest)

    @property
    def path(self) -> str:
        return self.update.path


@dataclass(frozen=True)
class Plan:
    """What planning proposes: groups (with new file texts), problems, references seen."""

    groups: tuple[UpdateGroup, ...]
    problems: tuple[Problem, ...]
    refs_seen: int
    failed_images: frozenset[str] = frozenset()
    images_fetched: int = 0
    unresolved: tuple[str, ...] = ()
    failures: tuple[LookupFailure, ...] = ()  # repositories whose tags could not be read

    @property
    def all_lookups_failed(self) -> bool:
        """Nothing could be looked up at all (registry down, credentials wrong)."""
        return self.images_fetched > 0 and len(self.failures) >= self.images_fetched

    @property
    def updates(self) -> list[Update]:
        return [u for g in self.groups for u in g.updates]

    @property
    def messages(self) -> list[str]:
        """The problems as the user reads them."""
        return [str(p) for p in self.problems]

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
            "problems": self.messages,
            "unresolved": list(self.unresolved),
            "failures": [f.to_json() for f in self.failures],
        }


__all__ = [
    "Digest",
    "Found",
    "Lookup",
    "Plan",
    "Planned",
    "Problem",
    "Scope",
    "Site",
    "SiteExtractor",
    "Tags",
]
