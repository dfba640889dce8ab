"""A stateful fake GitLab (REST v4) on aiohttp loopback, for exactly the endpoints fluxbot calls.

State: projects with an in-memory git history (commits are whole trees), branches, merge
requests with notes and award emoji, members with access levels, users and commit statuses.
Every request is checked against :mod:`tests.support.gitlab_api` (GitLab's documented
parameters) and ``PRIVATE-TOKEN``; a departure is answered 400 and recorded in
:attr:`FakeGitLab.violations` (the ``gitlab`` fixture fails the test on any).

Test API (documented for reuse by other features):

    gl = FakeGitLab()                      # then ``await gl.start()`` → base URL
    p = gl.add_project("group/app", {"apps/x.yaml": "..."}, default_branch="main")
    gl.add_user("alice"); gl.set_member("group/app", "alice", 30)   # access level
    gl.push("group/app", "main", {"apps/x.yaml": "..."})          # a human commit → sha
    gl.branch("group/app", "feature"); iid = gl.open_mr("group/app", "feature", author="alice")
    gl.add_note("group/app", iid, "@fluxbot ignore", author="alice")   # → note id
    gl.merge_mr("group/app", iid) / gl.close_mr("group/app", iid)
    gl.notes("group/app", iid), gl.emoji("group/app", iid, note_id),
    gl.statuses("group/app", sha), gl.mrs("group/app"), gl.file("group/app", "main", path)
    gl.fail_next("POST", r"/merge_requests$", status=429, headers={"Retry-After": "1"})
    gl.calls(method, pattern)              # requests received, for shape/volume assertions
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.support import gitlab_api

API = "/api/v4"
TIMESTAMP = "2026-01-01T00:00:00.000Z"


@dataclass
class Commit:
    id: str
    parent_ids: list[str]
    tree: dict[str, str]
    message: str

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "short_id": self.id[:8],
            "title": self.message.splitlines()[0] if self.message else "",
            "message": self.message,
            "parent_ids": list(self.parent_ids),
            "author_name": "fake",
            "author_email": "fake@example.com",
            "created_at": TIMESTAMP,
            "committed_date": TIMESTAMP,
            "authored_date": TIMESTAMP,
        }


@dataclass
class Project:
    id: int
    path: str
    default_branch: str
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    mrs: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    emoji: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    members: dict[str, tuple[int, str]] = field(default_factory=dict)

    def json(self, base: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "path_with_namespace": self.path,
            "name": self.path.rsplit("/", 1)[-1],
            "default_branch": self.default_branch,
            "web_url": f"{base}/{self.path}",
        }


class Violation(Exception):
    """A request that departs from GitLab's documented shape."""


class HttpError(Exception):
    def __init__(self, status: int, message: Any) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, Any]
    body: Any


class FakeGitLab:
    """The fake server; see the module docstring for its test API."""

    def __init__(self, token: str = "glpat-fake-token", bot: str = "fluxbot") -> None:
        self.token = token
        self.projects: dict[str, Project] = {}
        self.users: dict[str, int] = {}
        self.violations: list[str] = []
        self.received: list[Call] = []
        self.failures: list[tuple[str, re.Pattern[str], int, dict[str, str], Any]] = []
        self.rate_headers: dict[str, str] = {}
        self.archive_requests = 0
        self.latency = 0.0  # seconds added to every answer (benchmarks)
        self.hangs: list[tuple[str, re.Pattern[str], float]] = []
        self.hung = False  # a request matched ``hang_next`` and is being held
        self.dropped = False  # ... and was abandoned without any effect
        self.url = ""
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.bot = bot
        self.add_user(bot)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", API + "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- test API ---------------------------------------------------------------------------

    def add_user(self, username: str) -> int:
        """Register a user (idempotent); returns its id."""
        return self.users.setdefault(username, 100 + len(self.users))

    def add_project(
        self, path: str, files: dict[str, str], default_branch: str = "main"
    ) -> Project:
        """A project whose default branch holds one commit with ``files``."""
        project = Project(id=next(self._ids), path=path, default_branch=default_branch)
        self.projects[path] = project
        root = self._commit(project, [], dict(files), "initial")
        project.branches[default_branch] = root.id
        self.set_member(path, self.bot, 30)
        return project

    def set_member(
        self, path: str, username: str, access_level: int, state: str = "active"
    ) -> None:
        """Make ``username`` a member at ``access_level`` (10 guest … 30 developer … 50 owner)."""
        assert access_level in gitlab_api.ACCESS_LEVELS
        self.add_user(username)
        self.projects[path].members[username] = (access_level, state)

    def push(self, path: str, branch: str, files: dict[str, str], message: str = "edit") -> str:
        """A commit on ``branch`` changing ``files`` (as a human push would); returns its sha."""
        project = self.projects[path]
        head = project.commits[project.branches[branch]]
        commit = self._commit(project, [head.id], {**head.tree, **files}, message)
        project.branches[branch] = commit.id
        return commit.id

    def file(self, path: str, ref: str, file_path: str) -> str | None:
        project = self.projects[path]
        sha = project.branches.get(ref, ref)
        commit = project.commits.get(sha)
        return None if commit is None else commit.tree.get(file_path)

    def mrs(self, path: str) -> list[dict[str, Any]]:
        return [dict(mr) for mr in self.projects[path].mrs.values()]

    def notes(self, path: str, iid: int) -> list[dict[str, Any]]:
        return [dict(n) for n in self.projects[path].notes.get(iid, [])]

    def emoji(self, path: str, iid: int, note_id: int) -> list[str]:
        return [e["name"] for e in self.projects[path].emoji.get(note_id, [])]

    def statuses(self, path: str, sha: str) -> list[dict[str, Any]]:
        return [dict(s) for s in self.projects[path].statuses.get(sha, [])]

    def add_note(self, path: str, iid: int, body: str, author: str, system: bool = False) -> int:
        """A note on MR ``iid`` by ``author`` (registered if new); returns the note id."""
        self.add_user(author)
        return int(self._note(self.projects[path], iid, body, author, system)["id"])

    def branch(self, path: str, name: str, start: str | None = None) -> str:
        """Create branch ``name`` at ``start`` (default: the default branch's head); → its sha."""
        project = self.projects[path]
        sha = project.branches[start or project.default_branch]
        project.branches[name] = sha
        return sha

    def open_mr(
        self,
        path: str,
        source: str,
        target: str | None = None,
        title: str = "MR",
        description: str = "",
        author: str | None = None,
    ) -> int:
        """An open MR from ``source`` (which must exist) by ``author`` (default: the bot); → iid."""
        project = self.projects[path]
        author = author or self.bot
        self.add_user(author)
        iid = max(project.mrs, default=0) + 1
        project.mrs[iid] = {
            "id": 9000 + iid,
            "iid": iid,
            "project_id": project.id,
            "title": title,
            "description": description,
            "state": "opened",
            "source_branch": source,
            "target_branch": target or project.default_branch,
            "source_project_id": project.id,
            "target_project_id": project.id,
            "labels": [],
            "sha": project.branches[source],
            "merge_commit_sha": None,
            "squash_commit_sha": None,
            "author": self._user(author),
            "assignees": [],
            "reviewers": [],
            "force_remove_source_branch": True,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        }
        return iid

    def merge_mr(self, path: str, iid: int) -> str:
        """Merge MR ``iid`` (merge commit on the target; source deleted if asked); → merge sha."""
        project = self.projects[path]
        mr = project.mrs[iid]
        assert mr["state"] == "opened", mr["state"]
        target = project.commits[project.branches[mr["target_branch"]]]
        source = project.commits[project.branches[mr["source_branch"]]]
        tree = {**target.tree, **source.tree}
        merge = self._commit(
            project, [target.id, source.id], tree, f"Merge branch '{mr['source_branch']}'"
        )
        project.branches[mr["target_branch"]] = merge.id
        mr.update(state="merged", merge_commit_sha=merge.id)
        if mr.get("force_remove_source_branch"):
            del project.branches[mr["source_branch"]]
        return merge.id

    def ancestors(self, path: str, sha: str) -> list[str]:
        """``sha`` and the commits it descends from, nearest first (breadth first)."""
        commits = self.projects[path].commits
        order: list[str] = []
        todo = [sha]
        while todo:
            todo = [c for c in todo if c in commits and c not in order]
            order.extend(dict.fromkeys(todo))
            todo = [p for c in todo for p in commits[c].parent_ids]
        return order

    def merge_base(self, path: str, a: str, b: str) -> str | None:
        theirs = set(self.ancestors(path, a))
        return next((sha for sha in self.ancestors(path, b) if sha in theirs), None)

    def close_mr(self, path: str, iid: int) -> None:
        self.projects[path].mrs[iid]["state"] = "closed"

    def fail_next(
        self,
        method: str,
        pattern: str,
        status: int,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``method`` request whose path matches ``pattern`` with ``status``."""
        self.failures.append((method, re.compile(pattern), status, headers or {}, body))

    def hang_next(self, method: str, pattern: str, seconds: float = 60.0) -> None:
        """Hold the next matching request up to ``seconds``, then drop it with no effect (502).

        For "killed in the middle of a job" tests: the client dies while the request is held.
        """
        self.hangs.append((method, re.compile(pattern), seconds))

    def calls(self, method: str = "", pattern: str = "") -> list[Call]:
        rx = re.compile(pattern)
        return [
            c for c in self.received if (not method or c.method == method) and rx.search(c.path)
        ]

    # -- internals --------------------------------------------------------------------------

    def _commit(
        self, project: Project, parents: list[str], tree: dict[str, str], message: str
    ) -> Commit:
        seed = json.dumps([parents, sorted(tree.items()), message, next(self._ids)])
        sha = hashlib.sha1(seed.encode()).hexdigest()
        commit = Commit(sha, parents, tree, message)
        project.commits[sha] = commit
        return commit

    def _user(self, username: str) -> dict[str, Any]:
        return {
            "id": self.users[username],
            "username": username,
            "name": username,
            "state": "active",
        }

    def _note(
        self, project: Project, iid: int, body: str, author: str, system: bool
    ) -> dict[str, Any]:
        note = {
            "id": next(self._ids) + 1000,
            "body": body,
            "author": self._user(author),
            "system": system,
            "noteable_type": "MergeRequest",
            "noteable_iid": iid,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        }
        project.notes.setdefault(iid, []).append(note)
        return note

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = request.raw_path.split("?", 1)[0][len(API) :]
        body: Any = None
        if request.can_read_body:
            text = await request.text()
            body = json.loads(text) if text and request.content_type == "application/json" else text
        query: dict[str, Any] = {k: v for k, v in request.query.items()}
        for key in request.query:  # array parameters: every value
            if key.endswith("[]"):
                query[key] = request.query.getall(key)
        self.received.append(Call(request.method, unquote(raw), query, body))
        if self.latency:
            await asyncio.sleep(self.latency)
        for i, (method, rx, seconds) in enumerate(self.hangs):
            if method == request.method and rx.search(unquote(raw)):
                del self.hangs[i]
                self.hung = True
                deadline = asyncio.get_running_loop().time() + seconds
                while asyncio.get_running_loop().time() < deadline:
                    transport = request.transport
                    if transport is None or transport.is_closing():
                        break  # the client went away (killed)
                    await asyncio.sleep(0.05)
                self.dropped = True
                return web.json_response({"message": "502 dropped"}, status=502)
        for i, (method, rx, status, headers, fbody) in enumerate(self.failures):
            if method == request.method and rx.search(unquote(raw)):
                del self.failures[i]
                return web.json_response(
                    fbody or {"message": f"{status} injected"}, status=status, headers=headers
                )
        if request.headers.get("PRIVATE-TOKEN") != self.token:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        try:
            from tests.support.gitlab_routes import route

            result = route(self, request.method, raw, query, body)
        except Violation as exc:
            self.violations.append(f"{request.method} {unquote(raw)}: {exc}")
            return web.json_response({"error": str(exc)}, status=400)
        except HttpError as exc:
            return web.json_response({"message": exc.message}, status=exc.status)
        status, payload, headers = result
        headers = {**self.rate_headers, **headers}
        if isinstance(payload, bytes):
            headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
            return web.Response(body=payload, status=status, headers=headers)
        if payload is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(payload, status=status, headers=headers)
