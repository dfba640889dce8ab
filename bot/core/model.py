"""Values that flow between the core, the jobs and the forges: updates, groups, PR state.

An :class:`Update` is one scalar change in one file (a tag, or tag and digest together); an
:class:`UpdateGroup` is what one branch and one PR carry. :class:`Ignore` is a recorded "don't
propose this again" (a PR closed unmerged, or an ``ignore this ...`` command).

    >>> u = Update(path="apps/x.yaml", line=3, image="ghcr.io/o/app", old="1.0.0", new="1.1.0")
    >>> UpdateGroup(name="ghcr.io-o-app", updates=(u,)).branch
    'fluxbot/ghcr.io-o-app'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

BRANCH_PREFIX = "fluxbot/"


@dataclass(frozen=True)
class Update:
    """One proposed change of one image reference in one file."""

    path: str
    line: int
    image: str
    old: str
    new: str
    old_digest: str | None = None
    new_digest: str | None = None
    policy: str = ""
    reason: str = ""
    site: str = ""
    kustomization: str | None = None
    source_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "image": self.image,
            "old": self.old,
            "new": self.new,
            "old_digest": self.old_digest,
            "new_digest": self.new_digest,
            "policy": self.policy,
            "reason": self.reason,
            "site": self.site,
            "kustomization": self.kustomization,
            "source_url": self.source_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Update:
        return cls(
            path=str(data["path"]),
            line=int(data.get("line", 0)),
            image=str(data["image"]),
            old=str(data["old"]),
            new=str(data["new"]),
            old_digest=data.get("old_digest"),
            new_digest=data.get("new_digest"),
            policy=str(data.get("policy", "")),
            reason=str(data.get("reason", "")),
            site=str(data.get("site", "")),
            kustomization=data.get("kustomization"),
            source_url=data.get("source_url"),
        )


_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str) -> str:
    """A branch-safe name: ``ghcr.io/org/app`` → ``ghcr.io-org-app``."""
    out = _SLUG.sub("-", text).strip("-.")
    return out[:100] or "update"


@dataclass(frozen=True)
class UpdateGroup:
    """The updates one branch/PR carries, and the new text of every file they touch."""

    name: str
    updates: tuple[Update, ...]
    files: tuple[tuple[str, str], ...] = ()

    @property
    def branch(self) -> str:
        return BRANCH_PREFIX + self.name

    @property
    def file_map(self) -> dict[str, str]:
        return dict(self.files)


class IgnoreScope(StrEnum):
    """How much of an image's future a recorded ignore covers."""

    VERSION = "version"  # this version and everything below it (a PR closed unmerged)
    MAJOR = "major"  # every version with this major
    MINOR = "minor"  # every version with this major.minor
    IMAGE = "image"  # the image altogether


@dataclass(frozen=True)
class Ignore:
    """A recorded decision not to propose some versions of an image again."""

    image: str
    scope: IgnoreScope
    version: str = ""

    def to_json(self) -> dict[str, str]:
        return {"image": self.image, "scope": self.scope.value, "version": self.version}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ignore:
        return cls(
            image=str(data["image"]),
            scope=IgnoreScope(str(data["scope"])),
            version=str(data.get("version", "")),
        )


class PRState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # closed without merge
    MERGED = "merged"


@dataclass(frozen=True)
class PullRequest:
    """A forge's pull/merge request as the jobs need it (GitHub PR, GitLab MR, local branch)."""

    number: int
    branch: str
    base: str
    title: str
    body: str
    state: PRState
    head_sha: str = ""
    merge_sha: str | None = None
    url: str = ""
    author: str = ""
    labels: tuple[str, ...] = field(default_factory=tuple)
