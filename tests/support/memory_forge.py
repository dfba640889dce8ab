"""An in-memory :class:`~bot.ports.Forge` for job tests: commits, branches, PRs, comments.

Commits are content-addressed (sha1 of parent + files + message) so "no new commit" is observable;
every write is recorded in ``calls`` so a test can assert what a job did, and ``merge(number)``
simulates a merge into the default branch.

    forge = MemoryForge(files={"app.yaml": "image: nginx:1.0\\n"})
    tree = await forge.read_tree("main")
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.core.errors import ForgeError
from bot.core.model import BRANCH_PREFIX, PRState, PullRequest
from bot.ports import Reaction, StatusState, is_yaml


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str | None
    files: Mapping[str, str]
    message: str


@dataclass
class MemoryForge:
    """A repository with one default branch, fluxbot branches and PRs, all in memory."""

    files: dict[str, str] = field(default_factory=dict)
    kind: str = "memory"
    repo: str = "owner/repo"
    base: str = "main"
    writers: set[str] = field(default_factory=lambda: {"owner"})
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    prs: dict[int, PullRequest] = field(default_factory=dict)
    comments: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    reactions: list[tuple[int, int, Reaction]] = field(default_factory=list)
    statuses: dict[str, dict[str, StatusState]] = field(default_factory=dict)
    status_descriptions: dict[str, dict[str, str]] = field(default_factory=dict)
    assignees: dict[int, tuple[str, ...]] = field(default_factory=dict)  # asked at creation
    calls: list[tuple[str, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        root = self._commit(None, dict(self.files), "initial")
        self.branches[self.base] = root.sha

    # ------------------------------------------------------------------ test helpers

    def _commit(self, parent: str | None, files: Mapping[str, str], message: str) -> Commit:
        payload = json.dumps([parent, sorted(files.items()), message]).encode()
        commit = Commit(hashlib.sha1(payload).hexdigest(), parent, dict(files), message)
        self.commits[commit.sha] = commit
        return commit

    def push_base(self, files: Mapping[str, str], message: str = "change") -> str:
        """A new commit on the default branch that sets ``files`` (moves the base)."""
        head = self.commits[self.branches[self.base]]
        commit = self._commit(head.sha, {**head.files, **files}, message)
        self.branches[self.base] = commit.sha
        return commit.sha

    def merge(self, number: int) -> str:
        """Merge PR ``number``: its branch's files land on the default branch."""
        pr = self.prs[number]
        branch_files = self.commits[self.branches[pr.branch]].files
        sha = self.push_base(branch_files, f"Merge #{number}")
        self.prs[number] = replace(pr, state=PRState.MERGED, merge_sha=sha)
        return sha

    def close(self, number: int) -> None:
        """Close PR ``number`` as a human would (no comment)."""
        self.prs[number] = replace(self.prs[number], state=PRState.CLOSED)

    def branch_files(self, branch: str) -> Mapping[str, str]:
        return self.commits[self.branches[branch]].files

    def writes(self, name: str) -> list[object]:
        return [arg for call, arg in self.calls if call == name]

    # ------------------------------------------------------------------ Forge protocol

    async def default_branch(self) -> str:
        return self.base

    async def branch_sha(self, branch: str) -> str | None:
        return self.branches.get(branch)

    async def read_tree(self, ref: str, want: Callable[[str], bool] = is_yaml) -> dict[str, str]:
        sha = self.branches.get(ref, ref)
        if sha not in self.commits:
            raise ForgeError(f"unknown ref {ref}")
        return {p: t for p, t in self.commits[sha].files.items() if want(p)}

    async def ensure_branch(
        self, branch: str, base_sha: str, files: Mapping[str, str], message: str
    ) -> str:
        base = self.commits[base_sha]
        current = self.branches.get(branch)
        if current is not None:
            c = self.commits[current]
            if c.parent == base_sha and c.files == {**base.files, **files}:
                return current
        commit = self._commit(base_sha, {**base.files, **files}, message)
        self.branches[branch] = commit.sha
        self.calls.append(("ensure_branch", (branch, commit.sha)))
        return commit.sha

    async def delete_branch(self, branch: str) -> None:
        self.calls.append(("delete_branch", branch))
        self.branches.pop(branch, None)

    async def list_prs(self) -> list[PullRequest]:
        out = [p for p in self.prs.values() if p.branch.startswith(BRANCH_PREFIX)]
        return sorted(out, key=lambda p: -p.number)

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
        head = self.branches.get(branch, "")
        for pr in self.prs.values():
            if pr.branch == branch and pr.state is PRState.OPEN:
                new = replace(pr, base=base, title=title, body=body, labels=tuple(labels))
                new = replace(new, head_sha=head)
                if new != pr:
                    self.calls.append(("update_pr", pr.number))
                self.prs[pr.number] = new
                return new, False
        number = max(self.prs, default=0) + 1
        pr = PullRequest(number, branch, base, title, body, PRState.OPEN, head, None, "", "fluxbot")
        pr = replace(pr, labels=tuple(labels), url=f"memory://{self.repo}/pull/{number}")
        self.prs[number] = pr
        self.assignees[number] = tuple(assignees)
        self.calls.append(("create_pr", number))
        return pr, True

    async def close_pr(self, number: int, comment: str | None = None) -> None:
        if comment:
            await self.comment(number, comment)
        self.calls.append(("close_pr", number))
        self.prs[number] = replace(self.prs[number], state=PRState.CLOSED)

    async def update_pr_body(self, number: int, body: str) -> None:
        self.calls.append(("update_pr_body", number))
        self.prs[number] = replace(self.prs[number], body=body)

    async def get_pr(self, number: int) -> PullRequest:
        if number not in self.prs:
            raise ForgeError(f"no PR #{number}")
        return self.prs[number]

    async def ensure_comment(self, number: int, marker: str, body: str) -> None:
        comments = self.comments.setdefault(number, [])
        for i, (cid, text) in enumerate(comments):
            if marker in text:
                comments[i] = (cid, body)
                return
        comments.append((len(comments) + 1, body))

    async def comment(self, number: int, body: str) -> None:
        comments = self.comments.setdefault(number, [])
        comments.append((len(comments) + 1, body))

    async def react(self, number: int, comment_id: int, reaction: Reaction) -> None:
        self.reactions.append((number, comment_id, reaction))

    async def can_write(self, user: str) -> bool:
        return user in self.writers

    async def set_status(
        self, sha: str, context: str, state: StatusState, description: str, url: str | None = None
    ) -> None:
        self.statuses.setdefault(sha, {})[context] = state
        self.status_descriptions.setdefault(sha, {})[context] = description

    async def commit_statuses(self, sha: str) -> dict[str, StatusState]:
        return dict(self.statuses.get(sha, {}))


class HistoryMemoryForge(MemoryForge):
    """A MemoryForge with the :class:`~bot.ports.ForgeHistory` methods, as the GitHub,
    GitLab and local forges have them (plain MemoryForge stays without, for the fallbacks)."""

    def _ancestors(self, sha: str) -> list[str]:
        if sha not in self.commits:
            raise ForgeError(f"no commit {sha[:12]}")
        out: list[str] = []
        cur: str | None = sha
        while cur is not None:
            out.append(cur)
            cur = self.commits[cur].parent
        return out

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        self._ancestors(ancestor)
        return ancestor in self._ancestors(descendant)

    async def merge_base(self, a: str, b: str) -> str:
        theirs = set(self._ancestors(self.branches.get(a, a)))
        found = [c for c in self._ancestors(self.branches.get(b, b)) if c in theirs]
        if not found:
            raise ForgeError(f"no common ancestor of {a} and {b}")
        return found[0]

    async def pr_paths(self, number: int) -> list[str]:
        """Files of the PR's head commit against its parent (fluxbot branches are one commit;
        a merge copies the head's files onto the base)."""
        pr = self.prs[number]
        head = self.commits[pr.merge_sha or self.branches[pr.branch]]
        base = self.commits[head.parent].files if head.parent else {}
        return sorted(p for p in {*base, *head.files} if base.get(p) != head.files.get(p))

    async def commit_status_details(self, sha: str) -> dict[str, tuple[StatusState, str]]:
        texts = self.status_descriptions.get(sha, {})
        return {c: (s, texts.get(c, "")) for c, s in self.statuses.get(sha, {}).items()}
