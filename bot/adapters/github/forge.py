"""The GitHub :class:`~bot.ports.Forge`: gidgethub on aiohttp, one repository.

    async with open_forge("owner/repo", settings, installation_id=42) as forge:
        sha = await forge.ensure_branch("fluxbot/app", base_sha, {"apps/app.yaml": text}, "msg")
        pr, created = await forge.ensure_pr("fluxbot/app", "main", title, body, labels=["deps"])

One commit per update group through the Git Data API (a tree with inline contents on the base
tree, a commit, the ref moved with ``force``), so several files change atomically and a recomputed
edit replaces the branch. ``read_tree`` lists the tree once and reads the wanted files blob by
blob, or from the repository tarball when more than ``TARBALL_THRESHOLD`` are not cached yet
(one request instead of hundreds); texts are cached by blob sha (immutable). GETs are
conditional through an ETag cache shared by the process.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
from cachetools import LRUCache
from gidgethub import BadRequest, HTTPException

from bot.adapters.archive import ArchiveLimits, ArchiveUnusable
from bot.adapters.github import history as github_history
from bot.adapters.github.api import (
    GitHubClient,
    Pacer,
    blob_sha,
    extract_texts,
    pull_request,
)
from bot.adapters.github.auth import DEFAULT_TOKENS, TokenCache, installation_for
from bot.app.log import get_logger
from bot.app.settings import Settings
from bot.core.errors import ConfigError, ForgeError
from bot.core.model import BRANCH_PREFIX, PRState, PullRequest
from bot.ports import Reaction, StatusState, is_yaml

_log = get_logger(__name__)
MAX_BLOB_BYTES = 5 * 1024 * 1024
MAX_PR_PAGES = 10
MAX_OLD_BRANCHES = 500  # fluxbot branches asked for older closed PRs past the listing's cap
TARBALL_THRESHOLD = 50  # more uncached files than this: read the tarball
MAX_ARCHIVE = 256 * 1024 * 1024
_LIMITS = ArchiveLimits(compressed=MAX_ARCHIVE, total=2 * MAX_ARCHIVE, file=MAX_BLOB_BYTES)
MAX_BLOB_CACHE = 64 * 1024 * 1024  # characters of file text kept across jobs
_ETAGS: LRUCache[str, Any] = LRUCache(4096)  # conditional-request cache, keyed by full URL
# blob sha → text (content addressed, never stale), bounded by size: one blob may be 5 MiB
_BLOBS: LRUCache[str, str] = LRUCache(MAX_BLOB_CACHE, getsizeof=len)
_PACERS: dict[str, Pacer] = {}  # per API url + credential: content-creating requests 1 s apart


def _ref(branch: str) -> str:
    return quote(branch, safe="/")


class GitHubForge:
    """One GitHub repository, through an authenticated :class:`GitHubClient`."""

    kind = "github"

    def __init__(
        self,
        gh: GitHubClient,
        repo: str,
        *,
        bot_login: str = "fluxbot[bot]",
        dry_run: bool = False,
        on_pr: Callable[[str], None] | None = None,
    ) -> None:
        self.gh = gh
        self.repo = repo
        self._bot_login = bot_login
        self._dry_run = dry_run
        self._on_pr = on_pr
        self._default: str | None = None
        self._path = f"/repos/{repo}"

    # -- helpers ----------------------------------------------------------------------------
    async def _get(self, url: str) -> Any:
        try:
            return await self.gh.getitem(self._path + url)
        except HTTPException as exc:
            raise self._error("GET", url, exc) from None

    async def _get_or_none(self, url: str) -> Any:
        try:
            return await self.gh.getitem(self._path + url)
        except HTTPException as exc:
            if exc.status_code == 404:
                return None
            raise self._error("GET", url, exc) from None

    async def _write(self, method: str, url: str, data: Any) -> Any:
        if self._dry_run:
            _log.info("github.dry_run", method=method, url=self._path + url)
            return {}
        try:
            if method == "PATCH":
                return await self.gh.patch(self._path + url, data=data)
            return await self.gh.post(self._path + url, data=data)
        except HTTPException as exc:
            raise self._error(method, url, exc) from None

    def _error(self, method: str, url: str, exc: HTTPException) -> ForgeError:
        detail = str(exc)
        return ForgeError(
            f"GitHub {method} {self._path}{url}: HTTP {int(exc.status_code)} {detail}"
        )

    def _count(self, action: str) -> None:
        if self._on_pr is not None:
            self._on_pr(action)

    async def _paged(self, url: str, limit: int = MAX_PR_PAGES * 100) -> list[Any]:
        items: list[Any] = []
        try:
            async for item in self.gh.getiter(self._path + url):
                items.append(item)
                if len(items) >= limit:
                    break
        except HTTPException as exc:
            raise self._error("GET", url, exc) from None
        return items

    # -- repository and branches --------------------------------------------------------------
    async def default_branch(self) -> str:
        if self._default is None:
            data = await self._get("")
            self._default = str(data["default_branch"])
        return self._default

    async def branch_sha(self, branch: str) -> str | None:
        data = await self._get_or_none(f"/git/ref/heads/{_ref(branch)}")
        return None if data is None else str(data["object"]["sha"])

    async def read_tree(self, ref: str, want: Callable[[str], bool] = is_yaml) -> dict[str, str]:
        if "/" in ref:  # a branch name with slashes: resolve it rather than trust the path
            ref = await self.branch_sha(ref) or ref
        tree = await self._get(f"/git/trees/{_ref(ref)}?recursive=1")
        entries = [e for e in tree["tree"] if e["type"] == "blob" and want(e["path"])]
        if tree.get("truncated"):
            entries = await self._walk(str(tree["sha"]), "", want)
        missing = {e["path"]: str(e["sha"]) for e in entries if str(e["sha"]) not in _BLOBS}
        if len(missing) > TARBALL_THRESHOLD:  # one archive instead of hundreds of blob requests
            archive = await self.gh.download(f"{self._path}/tarball/{_ref(ref)}", MAX_ARCHIVE)
            if archive is not None:
                try:
                    texts = await asyncio.to_thread(extract_texts, archive, missing, _LIMITS)
                except ArchiveUnusable as exc:  # read blob by blob instead
                    _log.info("github.tarball_unusable", repo=self.repo, reason=str(exc))
                    texts = {}
                for path, value in texts.items():
                    _BLOBS[missing[path]] = value
        sem = asyncio.Semaphore(8)
        by_sha = {str(e["sha"]): e for e in entries}  # identical files: one request

        async def text(sha: str, entry: Mapping[str, Any]) -> tuple[str, str | None]:
            if sha in _BLOBS:
                return sha, _BLOBS[sha]
            if int(entry.get("size") or 0) > MAX_BLOB_BYTES:
                _log.warning("github.blob_too_large", repo=self.repo, path=entry["path"])
                return sha, None
            async with sem:
                blob = await self._get(f"/git/blobs/{sha}")
            try:
                value = base64.b64decode(blob["content"]).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return sha, None
            _BLOBS[sha] = value
            return sha, value

        found = await asyncio.gather(*(text(sha, e) for sha, e in by_sha.items()))
        by_text: dict[str, str | None] = dict(found)
        pairs = ((str(e["path"]), by_text.get(str(e["sha"]))) for e in entries)
        return {path: value for path, value in sorted(pairs) if value is not None}

    async def _walk(
        self, tree_sha: str, prefix: str, want: Callable[[str], bool]
    ) -> list[dict[str, Any]]:
        """Entries of a tree too large for one recursive listing, one subtree at a time."""
        tree = await self._get(f"/git/trees/{tree_sha}")
        out: list[dict[str, Any]] = []
        for entry in tree["tree"]:
            path = prefix + entry["path"]
            if entry["type"] == "tree":
                out.extend(await self._walk(str(entry["sha"]), path + "/", want))
            elif entry["type"] == "blob" and want(path):
                out.append({**entry, "path": path})
        return out

    async def _branch_is(self, sha: str, base_sha: str, files: Mapping[str, str]) -> bool:
        """Whether commit ``sha`` is exactly one commit on ``base_sha`` setting ``files``."""
        commit = await self._get(f"/commits/{sha}")
        parents = [p["sha"] for p in commit.get("parents") or ()]
        if parents != [base_sha]:
            return False
        changed = {f["filename"]: f.get("sha") for f in commit.get("files") or ()}
        want = {path: blob_sha(text) for path, text in files.items()}
        if any(want.get(path) != sha_ for path, sha_ in changed.items()):
            return False
        for path in set(want) - set(changed):  # unchanged by the commit: same as on base?
            data = await self._get_or_none(f"/contents/{quote(path)}?ref={base_sha}")
            if not isinstance(data, Mapping) or data.get("sha") != want[path]:
                return False
        return True

    async def ensure_branch(
        self, branch: str, base_sha: str, files: Mapping[str, str], message: str
    ) -> str:
        current = await self.branch_sha(branch)
        if current is not None and await self._branch_is(current, base_sha, files):
            return current
        base = await self._get(f"/git/commits/{base_sha}")
        # the same listing read_tree made of the base: usually a free 304 from the ETag cache
        listing = await self._get(f"/git/trees/{base_sha}?recursive=1")
        modes = {e["path"]: e["mode"] for e in listing["tree"] if e["type"] == "blob"}
        entries = [
            {"path": path, "mode": modes.get(path, "100644"), "type": "blob", "content": text}
            for path, text in sorted(files.items())
        ]
        tree = await self._write(
            "POST", "/git/trees", {"base_tree": base["tree"]["sha"], "tree": entries}
        )
        commit = await self._write(
            "POST",
            "/git/commits",
            {"message": message, "tree": tree.get("sha", ""), "parents": [base_sha]},
        )
        sha = str(commit.get("sha", ""))
        if current is None:
            try:
                await self._write("POST", "/git/refs", {"ref": f"refs/heads/{branch}", "sha": sha})
                return sha
            except ForgeError:
                if await self.branch_sha(branch) is None:  # not a lost race: a real failure
                    raise
        await self._write("PATCH", f"/git/refs/heads/{_ref(branch)}", {"sha": sha, "force": True})
        return sha

    async def delete_branch(self, branch: str) -> None:
        if self._dry_run:
            return
        try:
            await self.gh.delete(f"{self._path}/git/refs/heads/{_ref(branch)}")
        except HTTPException as exc:
            if exc.status_code not in (404, 422):
                raise self._error("DELETE", f"/git/refs/heads/{branch}", exc) from None

    # -- pull requests ------------------------------------------------------------------------
    def _ours(self, data: Mapping[str, Any]) -> bool:
        return (
            str(data["head"]["ref"]).startswith(BRANCH_PREFIX)
            and (data["head"].get("repo") or {}).get("full_name", self.repo) == self.repo
        )

    async def list_prs(self) -> list[PullRequest]:
        """fluxbot's PRs among the newest ``MAX_PR_PAGES`` pages of all PRs, newest first.

        In a repository with more PRs than that, older closed fluxbot PRs still count (a PR
        closed without merge is an ignore): each fluxbot branch still in the repository, or
        seen in the listing, is asked for its closed PRs by exact head (``_older_closed``)."""
        limit = MAX_PR_PAGES * 100
        items = await self._paged(
            "/pulls?state=all&sort=created&direction=desc&per_page=100", limit=limit
        )
        ours = {int(d["number"]): pull_request(d) for d in items if self._ours(d)}
        if len(items) >= limit:
            ours.update(await self._older_closed(ours))
        return sorted(ours.values(), key=lambda pr: pr.number, reverse=True)

    async def _older_closed(self, seen: Mapping[int, PullRequest]) -> dict[int, PullRequest]:
        """Closed fluxbot PRs the capped listing did not reach, one query per fluxbot branch
        (at most ``MAX_OLD_BRANCHES``; conditional, so a repeat costs no quota). A PR closed
        before the newest ``MAX_PR_PAGES`` pages whose branch is gone and was never reused is
        not found: a documented limit."""
        prefix = BRANCH_PREFIX.rstrip("/")
        refs = await self._paged(f"/git/matching-refs/heads/{_ref(prefix)}", limit=10_000)
        branches = {str(r["ref"]).removeprefix("refs/heads/") for r in refs}
        branches = {b for b in branches if b.startswith(BRANCH_PREFIX)}
        branches |= {pr.branch for pr in seen.values()}
        owner = quote(self.repo.split("/")[0])
        found: dict[int, PullRequest] = {}
        for branch in sorted(branches)[:MAX_OLD_BRANCHES]:
            url = f"/pulls?state=closed&head={owner}:{quote(branch)}&per_page=100"
            for d in await self._paged(url, limit=1000):
                number = int(d["number"])
                if number not in seen and self._ours(d):
                    found[number] = pull_request(d)
        if len(branches) > MAX_OLD_BRANCHES:
            _log.warning("github.old_branches_capped", repo=self.repo, branches=len(branches))
        return found

    async def get_pr(self, number: int) -> PullRequest:
        return pull_request(await self._get(f"/pulls/{number}"))

    async def _open_pr_for(self, branch: str) -> dict[str, Any] | None:
        owner = self.repo.split("/")[0]
        found = await self._get(f"/pulls?state=open&head={quote(owner)}:{quote(branch)}")
        return found[0] if found else None

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
        data = await self._open_pr_for(branch)
        created = data is None
        if data is None:
            try:
                data = await self._write(
                    "POST", "/pulls", {"title": title, "head": branch, "base": base, "body": body}
                )
            except ForgeError:
                data = await self._open_pr_for(branch)  # created by a concurrent run
                if data is None:
                    raise
                created = False
            else:
                self._count("opened")
                if self._dry_run:
                    return PullRequest(0, branch, base, title, body, PRState.OPEN), True
                await self._request_reviewers(int(data["number"]), reviewers)
                await self._assign(int(data["number"]), assignees)
        if not created:
            changes = {
                key: value
                for key, value, old in (
                    ("title", title, data.get("title")),
                    ("body", body, data.get("body") or ""),
                    ("base", base, data["base"]["ref"]),
                )
                if value != old
            }
            if changes:
                data = {**data, **(await self._write("PATCH", f"/pulls/{data['number']}", changes))}
                self._count("updated")
        have = {str(label["name"]) for label in data.get("labels") or ()}
        missing = [label for label in labels if label not in have]
        if missing:
            added = await self._write(
                "POST", f"/issues/{data['number']}/labels", {"labels": missing}
            )
            data = {**data, "labels": added if isinstance(added, list) else data.get("labels")}
        return pull_request(data), created

    async def _request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        users = [r for r in reviewers if "/" not in r]
        teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]
        if not users and not teams:
            return
        try:
            await self._write(
                "POST",
                f"/pulls/{number}/requested_reviewers",
                {"reviewers": users, "team_reviewers": teams},
            )
        except ForgeError as exc:  # a reviewer who is not a collaborator must not fail the PR
            _log.warning("github.reviewers_refused", repo=self.repo, pr=number, error=str(exc))

    async def _assign(self, number: int, assignees: Sequence[str]) -> None:
        """Assign a new PR (once, as reviewers: people may unassign themselves later)."""
        if not assignees:
            return
        try:
            await self._write("POST", f"/issues/{number}/assignees", {"assignees": list(assignees)})
        except ForgeError as exc:  # like reviewers: an assignee problem must not fail the PR
            _log.warning("github.assignees_refused", repo=self.repo, pr=number, error=str(exc))

    async def close_pr(self, number: int, comment: str | None = None) -> None:
        pr = await self.get_pr(number)
        if pr.state is not PRState.OPEN:
            return
        if comment:
            await self.comment(number, comment)
        await self._write("PATCH", f"/pulls/{number}", {"state": "closed"})
        self._count("closed")

    async def update_pr_body(self, number: int, body: str) -> None:
        await self._write("PATCH", f"/pulls/{number}", {"body": body})

    # -- comments, reactions, permissions, statuses -------------------------------------------
    async def comments(self, number: int) -> list[dict[str, Any]]:
        """Every comment on PR ``number`` (raw GitHub objects, oldest first)."""
        return await self._paged(f"/issues/{number}/comments?per_page=100", limit=10_000)

    async def ensure_comment(self, number: int, marker: str, body: str) -> None:
        for item in await self.comments(number):
            user = item.get("user") or {}
            mine = user.get("type") == "Bot" or user.get("login") == self._bot_login
            if mine and marker in str(item.get("body") or ""):
                if item.get("body") != body:
                    await self._write("PATCH", f"/issues/comments/{item['id']}", {"body": body})
                return
        await self.comment(number, body)

    async def comment(self, number: int, body: str) -> None:
        await self._write("POST", f"/issues/{number}/comments", {"body": body})

    async def react(self, number: int, comment_id: int, reaction: Reaction) -> None:
        url = f"/issues/comments/{comment_id}/reactions"
        await self._write("POST", url, {"content": reaction.value})

    async def can_write(self, user: str) -> bool:
        data = await self._get_or_none(f"/collaborators/{quote(user)}/permission")
        return isinstance(data, Mapping) and data.get("permission") in ("admin", "write")

    async def set_status(
        self, sha: str, context: str, state: StatusState, description: str, url: str | None = None
    ) -> None:
        payload: dict[str, Any] = {
            "state": state.value,
            "context": context,
            "description": description[:140],
        }
        if url:
            payload["target_url"] = url
        await self._write("POST", f"/statuses/{sha}", payload)

    async def commit_statuses(self, sha: str) -> dict[str, StatusState]:
        details = await github_history.commit_status_details(self, sha)
        return {context: state for context, (state, _description) in details.items()}

    # -- history and PR contents (bot.ports.ForgeHistory) ------------------------------
    async def pr_paths(self, number: int) -> list[str]:
        return await github_history.pr_paths(self, number)

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return await github_history.is_ancestor(self, ancestor, descendant)

    async def merge_base(self, a: str, b: str) -> str:
        return await github_history.merge_base(self, a, b)

    async def commit_status_details(self, sha: str) -> dict[str, tuple[StatusState, str]]:
        return await github_history.commit_status_details(self, sha)


def _pacer(key: str, interval: float) -> Pacer:
    pacer = _PACERS.get(key)
    if pacer is None or pacer.interval != interval:
        pacer = _PACERS[key] = Pacer(interval)
    return pacer


@asynccontextmanager
async def open_forge(
    repo: str,
    settings: Settings,
    *,
    installation_id: int | None = None,
    tokens: TokenCache | None = None,
    write_interval: float | None = None,
    on_request: Callable[[str], None] | None = None,
    on_pr: Callable[[str], None] | None = None,
) -> AsyncIterator[GitHubForge]:
    """A :class:`GitHubForge` on ``repo`` with an App installation token, or ``github_token``."""
    if "/" not in repo:
        raise ConfigError(f"a GitHub repository is 'owner/name', not {repo!r}")
    tokens = tokens or DEFAULT_TOKENS
    base_url = settings.github_api_url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        bare = GitHubClient(session, base_url=base_url)
        app_id, key = settings.github_app_id, settings.github_private_key
        unauthorized: Callable[[], None] | None = None
        if app_id and key:
            if installation_id is None:
                installation_id = await installation_for(bare, repo, app_id=app_id, private_key=key)
            token = await tokens.installation_token(
                bare, app_id=app_id, private_key=key, installation_id=installation_id
            )
            pace_key = f"{base_url}#{installation_id}"
            inst = installation_id

            def unauthorized() -> None:  # revoked: the next job mints a fresh token
                tokens.forget(base_url, app_id, inst)

        elif settings.github_token:
            token = settings.github_token
            pace_key = f"{base_url}#{hashlib.sha256(token.encode()).hexdigest()[:16]}"
        else:
            raise ConfigError("no GitHub credentials: set a token or a GitHub App id and key")
        gh = GitHubClient(
            session,
            oauth_token=token,
            base_url=base_url,
            cache=_ETAGS,
            pacer=_pacer(
                pace_key,
                settings.github_write_interval if write_interval is None else write_interval,
            ),
            on_request=on_request,
            on_unauthorized=unauthorized,
        )
        yield GitHubForge(
            gh, repo, bot_login=settings.bot_login, dry_run=settings.dry_run, on_pr=on_pr
        )


if TYPE_CHECKING:
    from bot.ports import Forge, ForgeHistory

    def _implements_forge(forge: GitHubForge) -> Forge:
        return forge  # mypy checks GitHubForge against both protocols here

    def _implements_history(forge: GitHubForge) -> ForgeHistory:
        return forge


__all__ = ["BadRequest", "GitHubForge", "blob_sha", "open_forge"]
