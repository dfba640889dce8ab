"""The interface every forge adapter implements; the jobs know nothing else about forges.

Every write is an idempotent *ensure* (DESIGN.md §4): calling it twice, or after a crash half way,
converges on the same state without duplicates. Adapters raise :class:`bot.core.errors.ForgeError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.core.model import PullRequest


class Reaction(StrEnum):
    """Acknowledgements on a comment (GitHub reactions; GitLab award emoji map onto these)."""

    EYES = "eyes"
    ROCKET = "rocket"
    CONFUSED = "confused"


class StatusState(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


def is_yaml(path: str) -> bool:
    """The files fluxbot reads from a tree: YAML manifests and its own config."""
    return path.endswith((".yaml", ".yml"))


class Forge(Protocol):
    """One repository on one forge, as seen by the jobs."""

    kind: str  # "github" | "gitlab" | "local"
    repo: str  # "owner/name" (GitHub), "group/project" (GitLab), a path (local)

    async def default_branch(self) -> str:
        """The repository's default branch name."""
        ...

    async def branch_sha(self, branch: str) -> str | None:
        """The commit a branch points at, or None when it does not exist."""
        ...

    async def read_tree(self, ref: str, want: Callable[[str], bool] = is_yaml) -> dict[str, str]:
        """Text of every file at ``ref`` whose path satisfies ``want`` (path → text)."""
        ...

    async def ensure_branch(
        self, branch: str, base_sha: str, files: Mapping[str, str], message: str
    ) -> str:
        """Make ``branch`` one commit on ``base_sha`` that sets ``files``; return its sha.

        No new commit when the branch already is exactly that (same parent, same file contents);
        otherwise the branch is (force-)moved to a fresh commit: edits are recomputed, not merged.
        """
        ...

    async def delete_branch(self, branch: str) -> None:
        """Delete a branch; a missing branch is not an error."""
        ...

    async def list_prs(self) -> list[PullRequest]:
        """fluxbot's PRs (head branch under ``fluxbot/``) in every state, newest first."""
        ...

    async def ensure_pr(
        self,
        branch: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        reviewers: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> tuple[PullRequest, bool]:
        """The open PR from ``branch`` with this title/body/labels; (pr, created?). Reviewers
        and ``assignees`` (``pr.assignees`` of the config) are asked for when it is created."""
        ...

    async def close_pr(self, number: int, comment: str | None = None) -> None:
        """Comment (optional) and close a PR without merging it."""
        ...

    async def update_pr_body(self, number: int, body: str) -> None:
        """Replace a PR's body (used to record state in its marker)."""
        ...

    async def get_pr(self, number: int) -> PullRequest:
        """One PR/MR by number, any state."""
        ...

    async def ensure_comment(self, number: int, marker: str, body: str) -> None:
        """The one comment on PR ``number`` containing ``marker`` has exactly ``body``."""
        ...

    async def comment(self, number: int, body: str) -> None:
        """Post a new comment on a PR/MR."""
        ...

    async def react(self, number: int, comment_id: int, reaction: Reaction) -> None:
        """Add a reaction / award emoji to a comment on PR ``number``."""
        ...

    async def can_write(self, user: str) -> bool:
        """Whether ``user`` has write access (GitHub admin|write; GitLab access level ≥ 30)."""
        ...

    async def set_status(
        self, sha: str, context: str, state: StatusState, description: str, url: str | None = None
    ) -> None:
        """Set a commit status on ``sha``."""
        ...

    async def commit_statuses(self, sha: str) -> dict[str, StatusState]:
        """The latest commit status per context on ``sha`` (for Flux notification statuses)."""
        ...


class TagSource(Protocol):
    """What the jobs need from a registry (``bot.adapters.registry.RegistryClient`` is one);
    adapters raise :class:`bot.core.errors.RegistryError`."""

    async def tags(self, image: str) -> list[str]:
        """Every tag of the image's repository minus ``exclusion`` (None: Flux's default)."""
        ...

    async def digest(self, image: str) -> str:
        """The content digest of ``image`` (``repo:tag``)."""
        ...

    async def source(self, image: str) -> str | None:
        """The source repository URL ``image`` is annotated with (OCI ``source``), if any."""
        ...


class ForgeHistory(Protocol):
    """What a forge knows about commits and PR contents beyond :class:`Forge` (additive).

    Implemented by the GitHub, GitLab and local adapters; jobs that use it look the methods up
    with ``getattr`` so a forge without them (a test double) still works: the reconcile job then
    reconciles every Kustomization and trusts only the branch head, the preview diffs against
    the base branch's tip.
    """

    async def pr_paths(self, number: int) -> list[str]:
        """Paths PR ``number`` changes (a rename gives both names), at most ``MAX_PR_PATHS``."""
        ...

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``descendant`` contains ``ancestor`` (the same commit counts); an unknown
        commit raises :class:`bot.core.errors.ForgeError`."""
        ...

    async def merge_base(self, a: str, b: str) -> str:
        """The best common ancestor of two commits (or branches)."""
        ...

    async def commit_status_details(self, sha: str) -> dict[str, tuple[StatusState, str]]:
        """The newest commit status per context on ``sha``: (state, description)."""
        ...


MAX_PR_PATHS = 3000  # GitHub lists at most 3,000 files of a PR


@dataclass(frozen=True)
class RepoRef:
    """A repository fluxbot plans, as the image index remembers it (enough to enqueue a job)."""

    forge: str
    repo: str
    installation_id: int | None = None

    def encode(self) -> str:
        """``forge|repo|installation`` (the stored form)."""
        installation = "" if self.installation_id is None else str(self.installation_id)
        return f"{self.forge}|{self.repo}|{installation}"

    @classmethod
    def decode(cls, text: str) -> RepoRef:
        forge, repo, installation = text.split("|", 2)
        if not forge or not repo:
            raise ValueError(f"not a repository reference: {text!r}")
        return cls(forge, repo, int(installation) if installation else None)


class ImageIndex(Protocol):
    """Image key (``api_host/api_repository``) → the repositories whose last plan looked it up.

    Kept by every plan (:mod:`bot.jobs.indexing`), read when a registry announces a push. Stored
    beside the tag cache: memory, SQLite or Redis."""

    async def record(self, repo: RepoRef, keys: Iterable[str], *, replace: bool) -> None:
        """Remember that ``repo`` references ``keys``; ``replace`` forgets its other images."""
        ...

    async def repositories(self, key: str) -> list[RepoRef]:
        """The repositories that reference image ``key``, in a stable order."""
        ...
