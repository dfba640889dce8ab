"""The state behind the fake GitHub: git objects, refs, PRs, comments, reactions, statuses.

Plain Python, no HTTP: :mod:`tests.support.github_fake` serves it. Blob ids are real git blob
shas (``sha1("blob N\\0" + data)``), so adapters may compare contents by sha as they would on
GitHub; tree and commit ids are content hashes of a simplified encoding (flat path → blob maps).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _hash(kind: str, value: Any) -> str:
    raw = (kind + json.dumps(value, sort_keys=True)).encode()
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def now_iso(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at or time.time()))


FlatTree = dict[str, tuple[str, str]]  # path → (mode, blob sha)
WHO: web.RequestKey[Any] = web.RequestKey("who", object)  # the authenticated Identity
BODY: web.RequestKey[Any] = web.RequestKey("body", object)  # the decoded JSON body
RAW: web.RequestKey[bytes] = web.RequestKey("raw", bytes)  # the body as sent (web forms)


@dataclass
class Commit:
    sha: str
    tree: str
    parents: list[str]
    message: str
    author: str


@dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    user: str
    user_type: str = "Bot"
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    team_reviewers: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    head_sha_closed: str | None = None
    created_at: str = field(default_factory=now_iso)
    closed_at: str | None = None


@dataclass
class Comment:
    id: int
    issue: int
    body: str
    user: str
    user_type: str = "User"
    created_at: str = field(default_factory=now_iso)


@dataclass
class Status:
    sha: str
    context: str
    state: str
    description: str
    target_url: str | None
    id: int


@dataclass
class Repo:
    """One repository's state. Use :class:`tests.support.github_fake.FakeGitHub` helpers."""

    full_name: str
    id: int
    default_branch: str = "main"
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, FlatTree] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" → commit sha
    pulls: dict[int, Pull] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    reactions: dict[int, list[tuple[str, str]]] = field(
        default_factory=dict
    )  # comment → (user, content)
    statuses: list[Status] = field(default_factory=list)
    collaborators: dict[str, str] = field(default_factory=dict)  # login → admin|write|read|none
    next_number: int = 1

    # -- objects ------------------------------------------------------------------------------
    def put_blob(self, data: bytes) -> str:
        sha = git_blob_sha(data)
        self.blobs[sha] = data
        return sha

    def put_tree(self, flat: FlatTree) -> str:
        sha = _hash("tree", sorted(flat.items()))
        self.trees[sha] = dict(flat)
        return sha

    def put_commit(self, tree: str, parents: list[str], message: str, author: str) -> str:
        sha = _hash("commit", [tree, parents, message, author, len(self.commits)])
        self.commits[sha] = Commit(sha, tree, list(parents), message, author)
        return sha

    def subtree(self, tree_sha: str, prefix: str) -> str:
        """Register (and return the sha of) the directory ``prefix`` of a flat tree."""
        flat = {
            path[len(prefix) :]: entry
            for path, entry in self.trees[tree_sha].items()
            if path.startswith(prefix)
        }
        return self.put_tree(flat)

    def resolve(self, ref: str) -> str | None:
        """A commit sha for a sha, a branch name, ``heads/x`` or ``refs/heads/x``."""
        if ref in self.commits:
            return ref
        for name in (ref, f"heads/{ref}", ref.removeprefix("refs/")):
            if name in self.refs:
                return self.refs[name]
        return None

    def files(self, ref: str) -> dict[str, str]:
        sha = self.resolve(ref)
        if sha is None:
            raise KeyError(ref)
        tree = self.trees[self.commits[sha].tree]
        return {path: self.blobs[blob].decode() for path, (_mode, blob) in sorted(tree.items())}

    def commit_files(
        self,
        branch: str,
        files: dict[str, str],
        message: str,
        author: str,
        delete: tuple[str, ...] = (),
    ) -> str:
        """Commit ``files`` (and deletions) on ``branch`` (a new branch starts at the default)."""
        parent = self.refs.get(f"heads/{branch}") or self.refs.get(f"heads/{self.default_branch}")
        flat: FlatTree = dict(self.trees[self.commits[parent].tree]) if parent else {}
        for path, text in files.items():
            flat[path] = ("100644", self.put_blob(text.encode()))
        for path in delete:
            flat.pop(path, None)
        sha = self.put_commit(self.put_tree(flat), [parent] if parent else [], message, author)
        self.refs[f"heads/{branch}"] = sha
        return sha

    def diff(self, sha: str) -> list[dict[str, Any]]:
        """Files changed by commit ``sha`` against its first parent."""
        commit = self.commits[sha]
        new = self.trees[commit.tree]
        old = self.trees[self.commits[commit.parents[0]].tree] if commit.parents else {}
        out: list[dict[str, Any]] = []
        for path in sorted(set(new) | set(old)):
            if path not in old:
                out.append({"filename": path, "sha": new[path][1], "status": "added"})
            elif path not in new:
                out.append({"filename": path, "sha": old[path][1], "status": "removed"})
            elif old[path] != new[path]:
                out.append({"filename": path, "sha": new[path][1], "status": "modified"})
        return out

    def ancestors(self, sha: str) -> list[str]:
        """``sha`` and every commit it descends from, nearest first (breadth first)."""
        order: list[str] = []
        seen: set[str] = set()
        todo = [sha]
        while todo:
            nxt: list[str] = []
            for cur in todo:
                if cur in seen or cur not in self.commits:
                    continue
                seen.add(cur)
                order.append(cur)
                nxt.extend(self.commits[cur].parents)
            todo = nxt
        return order

    def merge_base(self, a: str, b: str) -> str | None:
        theirs = set(self.ancestors(a))
        return next((sha for sha in self.ancestors(b) if sha in theirs), None)

    def tree_diff(self, old_sha: str | None, new_sha: str) -> list[dict[str, Any]]:
        """Files changed from commit ``old_sha`` to ``new_sha`` (a moved blob is a rename)."""
        old = self.trees[self.commits[old_sha].tree] if old_sha else {}
        new = self.trees[self.commits[new_sha].tree]
        added = [p for p in new if p not in old]
        removed = [p for p in old if p not in new]
        renamed: dict[str, str] = {}
        for path in added:
            source = next((r for r in removed if old[r][1] == new[path][1]), None)
            if source is not None:
                renamed[path] = source
                removed.remove(source)
        out: list[dict[str, Any]] = []
        for path in sorted(set(new) | set(removed)):
            if path in renamed:
                out.append(
                    {
                        "filename": path,
                        "status": "renamed",
                        "sha": new[path][1],
                        "previous_filename": renamed[path],
                    }
                )
            elif path in removed:
                out.append({"filename": path, "status": "removed", "sha": old[path][1]})
            elif path not in old:
                out.append({"filename": path, "status": "added", "sha": new[path][1]})
            elif old[path] != new[path]:
                out.append({"filename": path, "status": "modified", "sha": new[path][1]})
        return out

    def is_ancestor(self, ancestor: str, sha: str) -> bool:
        seen: set[str] = set()
        todo = [sha]
        while todo:
            cur = todo.pop()
            if cur == ancestor:
                return True
            if cur in seen or cur not in self.commits:
                continue
            seen.add(cur)
            todo.extend(self.commits[cur].parents)
        return False
