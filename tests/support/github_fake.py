"""A stateful fake GitHub REST API on 127.0.0.1, checking every request against GitHub's OpenAPI.

    fake = FakeGitHub(spec).start()          # or the ``github_fake`` fixture
    repo = fake.create_repo("o/r", {"apps/app.yaml": "image: x:1.0.0\\n"})
    fake.add_token("t0k3n", login="fluxbot[bot]")
    fake.add_collaborator("o/r", "alice", "write")
    ... point the code under test at ``fake.url`` ...
    fake.pulls("o/r"); fake.comments("o/r", 1); fake.reactions("o/r", comment_id)
    fake.statuses("o/r", sha)
    fake.check()                             # raises if any request broke the OpenAPI description

Validation: each request (method, path, query, JSON body) is validated with openapi-core against
``tests/node_modules/@octokit/openapi/generated/api.github.com.json``; a request that does not
match gets HTTP 400 ``fake: invalid request`` and is recorded in ``fake.invalid`` (the fixture fails
the test at teardown). Path parameters that GitHub lets contain ``/`` (``git/ref/{ref}``,
``contents/{path}``, ...) are validated as one segment. Every request must also carry
``X-GitHub-Api-Version: 2022-11-28`` and credentials.

Auth: plain tokens (``add_token``), App JWTs signed with ``fake.private_key`` for ``fake.app_id``
(``/app/...`` endpoints), installation tokens minted by
``POST /app/installations/{id}/access_tokens``.
The App manifest flow (github.com's new-App form, the code conversion) is in
:mod:`tests.support.github_fake_manifest`.
``GET .../tarball/{ref}`` redirects to an archive path on the fake (``/_codeload/...``, standing in
for GitHub's archive host, so neither validated nor authenticated). GET responses carry an ETag
and answer 304 to a matching ``If-None-Match``. ``fail_next`` injects rate-limit or error
responses, ``hang_next`` holds one. ``fake.requests`` logs (method, path, status) of every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest

from tests.support.github_fake_manifest import is_web, needs_no_credentials
from tests.support.github_fake_routes import CODELOAD, ROUTES
from tests.support.github_fake_state import BODY, RAW, WHO, Comment, Repo

API_VERSION = "2022-11-28"
_SLASH_PARAMS = re.compile(
    r"^(/repos/[^/]+/[^/]+/(?:git/ref|git/refs|git/matching-refs|contents|git/trees|commits|compare))/(.+?)"
    r"(/status|/statuses)?$"
)


def spec_path(path: str) -> str:
    """``path`` with a slash-bearing trailing parameter encoded as one segment."""
    m = _SLASH_PARAMS.match(path)
    if not m or "/" not in m.group(2) or path.endswith("/git/refs"):
        return path
    return f"{m.group(1)}/{quote(m.group(2), safe='')}{m.group(3) or ''}"


@dataclass
class Fault:
    status: int
    headers: dict[str, str]
    message: str
    method: str | None
    path_contains: str | None
    times: int
    delay: float = 0.0


@dataclass
class Identity:
    login: str
    type: str = "Bot"
    installation: int | None = None


class FakeGitHub:
    """The fake; thread-safe helpers for tests, an aiohttp server on its own thread."""

    def __init__(self, spec: OpenAPI, private_key: rsa.RSAPrivateKey | None = None) -> None:
        self.spec = spec
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, Identity] = {}
        self.installations: dict[int, list[str]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.invalid: list[str] = []
        self.faults: list[Fault] = []
        self.hung: list[tuple[str, str]] = []
        self.dropped: list[tuple[str, str]] = []
        self.archives = 0  # tarballs served
        self.rate_remaining: int | None = None  # X-RateLimit-Remaining of every answer
        self.rate_reset_in = 3600.0  # seconds until X-RateLimit-Reset
        self.app_id = "4242"
        self.app_slug = "fluxbot"
        # the App manifest flow (tests/support/github_fake_manifest.py)
        self.manifest_posts: list[dict[str, Any]] = []
        self.manifest_problems: list[str] = []
        self.manifest_codes: dict[str, tuple[dict[str, Any], str]] = {}
        self.manifest_webhook_secret = True
        self.created_apps: list[dict[str, Any]] = []
        self.hook_config: dict[str, Any] = {}
        self.hook_deliveries: list[dict[str, Any]] = []  # newest first, as GitHub lists them
        self.redelivered: list[int] = []  # ids POSTed to /app/hook/deliveries/{id}/attempts
        self._key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        self._ids = 1000
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- state helpers (call from tests) ------------------------------------------------------
    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def create_repo(
        self, full_name: str, files: dict[str, str] | None = None, default_branch: str = "main"
    ) -> Repo:
        with self.lock:
            repo = Repo(full_name, self.next_id(), default_branch)
            repo.commit_files(default_branch, files or {"README.md": "hi\n"}, "initial", "alice")
            self.repos[full_name] = repo
            return repo

    def push(
        self,
        full_name: str,
        files: dict[str, str],
        branch: str | None = None,
        message: str = "change",
        delete: tuple[str, ...] = (),
    ) -> str:
        """Commit files on ``branch`` (default branch by default) as a user; returns the sha."""
        with self.lock:
            repo = self.repos[full_name]
            return repo.commit_files(branch or repo.default_branch, files, message, "alice", delete)

    def files(self, full_name: str, ref: str) -> dict[str, str]:
        with self.lock:
            return self.repos[full_name].files(ref)

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        with self.lock:
            return self.repos[full_name].refs.get(f"heads/{branch}")

    def add_token(self, token: str, login: str = "fluxbot[bot]", type: str = "Bot") -> None:
        with self.lock:
            self.tokens[token] = Identity(login, type)

    def add_installation(self, installation_id: int, repos: list[str]) -> None:
        with self.lock:
            self.installations[installation_id] = list(repos)

    def add_collaborator(self, full_name: str, login: str, permission: str = "write") -> None:
        """``permission``: admin | maintain | write | triage | read (as GitHub's role names)."""
        with self.lock:
            self.repos[full_name].collaborators[login] = permission

    def add_comment(self, full_name: str, number: int, body: str, user: str = "alice") -> int:
        """A comment by ``user`` on PR/issue ``number``; returns its id."""
        with self.lock:
            comment = Comment(
                self.next_id(), number, body, user, "Bot" if user.endswith("[bot]") else "User"
            )
            self.repos[full_name].comments[comment.id] = comment
            return comment.id

    def pulls(self, full_name: str) -> list[dict[str, Any]]:
        """Every PR as GitHub renders it (oldest first)."""
        from tests.support.github_fake_routes import render_pull

        with self.lock:
            repo = self.repos[full_name]
            return [
                render_pull(self, repo, p)
                for p in sorted(repo.pulls.values(), key=lambda p: p.number)
            ]

    def comments(self, full_name: str, number: int) -> list[Comment]:
        with self.lock:
            repo = self.repos[full_name]
            return [c for c in repo.comments.values() if c.issue == number]

    def reactions(self, full_name: str, comment_id: int) -> list[str]:
        with self.lock:
            return [
                content for _user, content in self.repos[full_name].reactions.get(comment_id, [])
            ]

    def statuses(self, full_name: str, sha: str) -> dict[str, str]:
        """Latest state per context on ``sha``."""
        with self.lock:
            out: dict[str, str] = {}
            for status in self.repos[full_name].statuses:
                if status.sha == sha:
                    out[status.context] = status.state
            return out

    def close_pull(self, full_name: str, number: int) -> None:
        """A user closes PR ``number`` without merging."""
        with self.lock:
            pull = self.repos[full_name].pulls[number]
            pull.head_sha_closed = self.repos[full_name].refs.get(f"heads/{pull.head}")
            pull.state, pull.closed_at = "closed", time.strftime("%Y-%m-%dT%H:%M:%SZ")

    def merge_pull(self, full_name: str, number: int) -> str:
        """A user merges PR ``number`` (a merge commit on the base); returns the merge sha."""
        with self.lock:
            repo = self.repos[full_name]
            pull = repo.pulls[number]
            head = repo.refs[f"heads/{pull.head}"]
            base = repo.refs[f"heads/{pull.base}"]
            tree = dict(repo.trees[repo.commits[base].tree])
            head_tree = repo.trees[repo.commits[head].tree]
            for entry in repo.diff(head):
                if entry["status"] == "removed":
                    tree.pop(entry["filename"], None)
                else:
                    tree[entry["filename"]] = head_tree[entry["filename"]]
            sha = repo.put_commit(repo.put_tree(tree), [base, head], f"Merge #{number}", "alice")
            repo.refs[f"heads/{pull.base}"] = sha
            pull.state, pull.merged, pull.merge_commit_sha = "closed", True, sha
            pull.head_sha_closed = head
            pull.closed_at = time.strftime("%Y-%m-%dT%H:%M:%SZ")
            return sha

    def fail_next(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        message: str = "",
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (e.g. 429 + Retry-After)."""
        with self.lock:
            self.faults.append(Fault(status, headers or {}, message, method, path_contains, times))

    def hang_next(
        self, seconds: float, method: str | None = None, path_contains: str | None = None
    ) -> None:
        """Hold the next matching request ``seconds`` before serving it (``fake.hung``); if the
        client disconnects meanwhile, drop it unprocessed (``fake.dropped``)."""
        with self.lock:
            self.faults.append(Fault(0, {}, "", method, path_contains, 1, seconds))

    def check(self) -> None:
        if self.invalid:
            raise AssertionError(
                "requests not valid for GitHub's OpenAPI:\n" + "\n".join(self.invalid)
            )

    # -- auth -----------------------------------------------------------------------------------
    def identity(self, request: web.Request) -> Identity | None:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not credential:
            return None
        if credential in self.tokens:
            return self.tokens[credential]
        try:
            claims = jwt.decode(credential, self._key.public_key(), algorithms=["RS256"])
        except jwt.PyJWTError:
            return None
        return Identity("app", "App") if str(claims.get("iss")) == self.app_id else None

    def mint_installation_token(self, installation_id: int) -> str:
        token = (
            "ghs_"
            + hashlib.sha256(
                f"{installation_id}{time.time()}{self.next_id()}".encode()
            ).hexdigest()[:36]
        )
        self.tokens[token] = Identity(f"{self.app_slug}[bot]", "Bot", installation_id)
        return token

    # -- server -------------------------------------------------------------------------------
    def _validate(self, request: web.Request, body: bytes) -> str | None:
        path = spec_path(request.path)
        headers = {k.lower(): v for k, v in request.headers.items()}
        mock = MockRequest(
            "https://api.github.com",
            request.method.lower(),
            path,
            args=dict(request.query),
            headers=headers,
            data=body or None,
            content_type=request.content_type if body else "application/json",
        )
        try:
            self.spec.validate_request(mock)
        except Exception as exc:  # openapi-core's error tree: any failure is a test failure
            cause = exc.__cause__ or exc.__context__
            return f"{request.method} {request.path}?{request.query_string}: {exc!r} {cause!r}"[
                :2000
            ]
        if request.headers.get("X-GitHub-Api-Version") != API_VERSION:
            return f"{request.method} {request.path}: X-GitHub-Api-Version not {API_VERSION}"
        return None

    def _take_fault(self, request: web.Request) -> Fault | None:
        for fault in self.faults:
            if (fault.method in (None, request.method)) and (
                fault.path_contains is None or fault.path_contains in request.path
            ):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        # the archive host and github.com's web pages: not the API, no credentials
        if request.path.startswith(CODELOAD) or is_web(request.path):
            request[RAW] = body
            with self.lock:
                archive: web.StreamResponse = await handler(request)
                self.requests.append((request.method, request.path, archive.status))
                return archive
        with self.lock:
            problem = self._validate(request, body)
            if problem:
                self.invalid.append(problem)
                self.requests.append((request.method, request.path, 400))
                return web.json_response(
                    {"message": "fake: invalid request", "detail": problem}, status=400
                )
            fault = self._take_fault(request)
            if fault is not None and fault.delay:
                self.hung.append((request.method, request.path))
        if fault is not None and fault.delay:
            deadline = time.monotonic() + fault.delay
            while time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                if request.transport is None or request.transport.is_closing():
                    with self.lock:  # the client died: the request never happened
                        self.dropped.append((request.method, request.path))
                    return web.Response(status=499)
            fault = None
        with self.lock:
            if fault is not None:
                self.requests.append((request.method, request.path, fault.status))
                return web.json_response(
                    {"message": fault.message or "injected"},
                    status=fault.status,
                    headers=fault.headers,
                )
            who = self.identity(request)
            if who is None and needs_no_credentials(request.path):
                who = Identity("anonymous", "User")
            if who is None:
                self.requests.append((request.method, request.path, 401))
                return web.json_response({"message": "Bad credentials"}, status=401)
            request[WHO] = who
            request[BODY] = json.loads(body) if body else None
            try:
                response: web.StreamResponse = await handler(request)
            except web.HTTPException as exc:
                response = exc
            if (
                request.method == "GET"
                and response.status == 200
                and isinstance(response, web.Response)
            ):
                etag = (
                    '"'
                    + hashlib.sha1(_bytes(response.body), usedforsecurity=False).hexdigest()
                    + '"'
                )
                if request.headers.get("If-None-Match") == etag:
                    response = web.Response(status=304, headers={"ETag": etag})
                else:
                    response.headers["ETag"] = etag
            remaining = "4999" if self.rate_remaining is None else str(self.rate_remaining)
            response.headers.setdefault("X-RateLimit-Remaining", remaining)
            response.headers.setdefault("X-RateLimit-Limit", "5000")
            reset = int(time.time() + self.rate_reset_in)
            response.headers.setdefault("X-RateLimit-Reset", str(reset))
            self.requests.append((request.method, request.path, response.status))
            return response

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        for method, pattern, handler in ROUTES:
            app.router.add_route(method, pattern, _bind(self, handler))
        return app

    def start(self) -> FakeGitHub:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self.make_app(), access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            self._runner = runner
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-github", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake GitHub did not start")
        return self

    def close(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None


def _bytes(body: object) -> bytes:
    """A response body as bytes (aiohttp's ``body`` may be a ``Payload``; ours never are)."""
    return bytes(body) if isinstance(body, bytes | bytearray) else b""


def _bind(fake: FakeGitHub, handler: Any) -> Any:
    async def bound(request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse = handler(fake, request)
        return response  # handlers are sync; the middleware holds fake.lock

    return bound
