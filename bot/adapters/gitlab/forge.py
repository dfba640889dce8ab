"""The GitLab forge adapter: :class:`bot.ports.Forge` on python-gitlab.

One update group = one commit made with the commits API (several file actions, ``start_sha`` on
the base, ``force`` when a stale branch is recomputed); merge requests carry the hidden marker in
their description; notes, award emoji, members (access level ≥ 30 = write) and commit statuses
map onto the rest of the protocol. Calls run on :class:`~bot.adapters.gitlab.client.GitLabPool`.

    async with open_forge("group/project", settings) as forge:
        branch = await forge.default_branch()
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import gitlab

from bot.adapters.archive import ArchiveUnusable, read_archive
from bot.adapters.gitlab import history as gitlab_history
from bot.adapters.gitlab.client import GitLabPool, forge_error, status_of
from bot.adapters.gitlab.model import TO_GITLAB, merge_request, same_project
from bot.app.log import get_logger
from bot.app.settings import Settings
from bot.core.errors import ConfigError, ForgeError
from bot.core.model import BRANCH_PREFIX, PRState, PullRequest
from bot.ports import Forge, ForgeHistory, Reaction, StatusState, is_yaml

log = get_logger(__name__)
T = TypeVar("T")
WRITE_ACCESS = 30  # Developer
MAX_MR_PAGES = 10  # newest 1,000 MRs listed; older closed fluxbot MRs found by branch
MAX_OLD_BRANCHES = 200


def _ours(attrs: Mapping[str, Any]) -> bool:
    """A fluxbot MR: its source branch is ``fluxbot/...`` in this very project (no fork)."""
    return str(attrs.get("source_branch", "")).startswith(BRANCH_PREFIX) and same_project(attrs)


class GitLabForge:
    """One GitLab project (``group/project``) behind the :class:`~bot.ports.Forge` API."""

    kind = "gitlab"

    def __init__(
        self,
        repo: str,
        pool: GitLabPool,
        *,
        default_branch: str | None = None,
        assignees: Sequence[str] = (),
        archive: bool = True,
    ) -> None:
        self.repo = repo
        self._pool = pool
        self._default = default_branch
        self._assignees = tuple(assignees)
        self._archive = archive
        self._me: str | None = None
        self._user_ids: dict[str, int | None] = {}

    def __repr__(self) -> str:
        return f"GitLabForge(repo={self.repo!r}, url={self._pool.url!r})"

    async def _call(self, op: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(project)`` on the pool; errors become :class:`ForgeError`."""
        try:
            return await self._pool.run(lambda gl: fn(gl.projects.get(self.repo, lazy=True)))
        except Exception as exc:
            raise forge_error(f"{op} ({self.repo})", exc) from exc

    async def _maybe(self, op: str, fn: Callable[[Any], T]) -> T | None:
        """Like :meth:`_call`, but a 404 answer gives ``None``."""
        try:
            return await self._pool.run(lambda gl: fn(gl.projects.get(self.repo, lazy=True)))
        except Exception as exc:
            if status_of(exc) == 404:
                return None
            raise forge_error(f"{op} ({self.repo})", exc) from exc

    async def _client_call(self, op: str, fn: Callable[[gitlab.Gitlab], T]) -> T:
        try:
            return await self._pool.run(fn)
        except Exception as exc:
            raise forge_error(op, exc) from exc

    # -- repository -------------------------------------------------------------------------

    async def default_branch(self) -> str:
        if self._default is None:
            attrs = await self._client_call(
                "get project", lambda gl: dict(gl.projects.get(self.repo).attributes)
            )
            self._default = str(attrs.get("default_branch") or "main")
        return self._default

    async def branch_sha(self, branch: str) -> str | None:
        commit = await self._branch_commit(branch)
        return str(commit["id"]) if commit else None

    async def _branch_commit(self, branch: str) -> dict[str, Any] | None:
        def get(p: Any) -> dict[str, Any]:
            return dict(p.branches.get(branch).attributes["commit"])

        return await self._maybe("get branch", get)

    async def _raw(self, path: str, ref: str) -> bytes | None:
        def raw(p: Any) -> bytes:
            return bytes(p.files.raw(file_path=path, ref=ref))

        return await self._maybe(f"read {path}", raw)

    async def _text(self, path: str, ref: str) -> str | None:
        """A file's text for comparisons (undecodable bytes kept as surrogates), None if absent."""
        data = await self._raw(path, ref)
        return None if data is None else data.decode("utf-8", "surrogateescape")

    async def read_tree(self, ref: str, want: Callable[[str], bool] = is_yaml) -> dict[str, str]:
        """The wanted files at ``ref``: one archive download, else the tree and one GET per file."""
        if self._archive:

            def archive(gl: gitlab.Gitlab) -> dict[str, str]:
                project = gl.projects.get(self.repo, lazy=True)
                chunks = project.repository_archive(
                    sha=ref,
                    streamed=True,
                    iterator=True,
                    chunk_size=64 * 1024,
                    obey_rate_limit=False,  # 5/min on gitlab.com: fall back rather than wait
                )
                return read_archive(chunks, want)

            try:
                return await self._pool.run(archive)
            except Exception as exc:
                # Rate-limited, too large, refused or malformed: the per-file path still works
                # (and reports a real failure such as a missing ref properly).
                self._archive = False
                reason = str(exc) if isinstance(exc, ArchiveUnusable) else type(exc).__name__
                status = status_of(exc)
                log.info("gitlab.archive_fallback", repo=self.repo, status=status, reason=reason)
        return await self._read_tree_files(ref, want)

    async def _read_tree_files(self, ref: str, want: Callable[[str], bool]) -> dict[str, str]:
        def tree(p: Any) -> list[str]:
            items = p.repository_tree(ref=ref, recursive=True, get_all=True, per_page=100)
            return [str(i["path"]) for i in items if i.get("type") == "blob"]

        paths = [path for path in await self._call("list tree", tree) if want(path)]
        blobs = await asyncio.gather(*(self._raw(path, ref) for path in paths))
        out: dict[str, str] = {}
        for path, data in zip(paths, blobs, strict=True):
            if data is None:
                continue
            try:
                out[path] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not text: nothing fluxbot can plan in it
        return out

    async def ensure_branch(
        self, branch: str, base_sha: str, files: Mapping[str, str], message: str
    ) -> str:
        current = await self._branch_commit(branch)
        if current is not None and list(current.get("parent_ids") or ()) == [base_sha]:
            on_branch = await asyncio.gather(*(self._text(p, current["id"]) for p in files))
            if all(have == want for have, want in zip(on_branch, files.values(), strict=True)):
                return str(current["id"])
        if current is not None and not branch.startswith(BRANCH_PREFIX):
            raise ForgeError(f"gitlab: refusing to force-move {branch!r} (not a fluxbot branch)")
        on_base = await asyncio.gather(*(self._text(p, base_sha) for p in files))
        actions = [
            {"action": "create" if old is None else "update", "file_path": path, "content": text}
            for (path, text), old in zip(files.items(), on_base, strict=True)
            if old != text
        ]
        if not actions:
            raise ForgeError(f"gitlab: {branch}: nothing to commit on {base_sha[:12]}")
        data: dict[str, Any] = {
            "branch": branch,
            "commit_message": message,
            "start_sha": base_sha,
            "actions": actions,
        }
        if current is not None:
            data["force"] = True  # recompute: the branch becomes one fresh commit on the base
        commit = await self._call("create commit", lambda p: p.commits.create(data).attributes)
        log.info(
            "gitlab.commit", repo=self.repo, branch=branch, sha=commit["id"], force=bool(current)
        )
        return str(commit["id"])

    async def delete_branch(self, branch: str) -> None:
        await self._maybe("delete branch", lambda p: p.branches.delete(branch))

    # -- merge requests ---------------------------------------------------------------------

    async def list_prs(self) -> list[PullRequest]:
        """fluxbot's MRs among the newest ``MAX_MR_PAGES`` pages of all MRs, newest first.

        In a project with more MRs than that, older closed fluxbot MRs still count (closed
        unmerged = an ignore, and GitLab keeps an unmerged MR's branch): each ``fluxbot/`` branch
        (at most ``MAX_OLD_BRANCHES``) is asked for its closed MRs by exact source branch.
        """
        limit = MAX_MR_PAGES * 100

        def mrs(p: Any) -> list[dict[str, Any]]:
            found = p.mergerequests.list(
                state="all", order_by="created_at", sort="desc", iterator=True, per_page=100
            )
            return [dict(m.attributes) for m in itertools.islice(found, limit)]

        items = await self._call("list merge requests", mrs)
        ours = {int(a["iid"]): merge_request(a) for a in items if _ours(a)}
        if len(items) >= limit:
            ours.update(await self._older_closed())
        return sorted(ours.values(), key=lambda pr: pr.number, reverse=True)

    async def _older_closed(self) -> dict[int, PullRequest]:
        def branches(p: Any) -> list[str]:
            found = p.branches.list(search=f"^{BRANCH_PREFIX}", iterator=True, per_page=100)
            return [str(b.name) for b in itertools.islice(found, MAX_OLD_BRANCHES)]

        def closed(p: Any, branch: str) -> list[dict[str, Any]]:
            found = p.mergerequests.list(state="closed", source_branch=branch, get_all=True)
            return [dict(m.attributes) for m in found]

        names = await self._call("list fluxbot branches", branches)
        calls = [
            self._call(f"closed MRs of {b}", functools.partial(closed, branch=b)) for b in names
        ]
        lists = await asyncio.gather(*calls)
        return {int(a["iid"]): merge_request(a) for mrs in lists for a in mrs if _ours(a)}

    async def _open_mr(self, branch: str, base: str) -> dict[str, Any] | None:
        def find(p: Any) -> list[dict[str, Any]]:
            found = p.mergerequests.list(
                state="opened", source_branch=branch, target_branch=base, get_all=True
            )
            return [dict(m.attributes) for m in found]

        mine = [a for a in await self._call("find merge request", find) if same_project(a)]
        return mine[0] if mine else None

    async def _user_id(self, username: str) -> int | None:
        if username not in self._user_ids:

            def lookup(gl: gitlab.Gitlab) -> int | None:
                users = gl.users.list(username=username, get_all=False)
                return int(users[0].id) if users else None

            self._user_ids[username] = await self._client_call("find user", lookup)
            if self._user_ids[username] is None:
                log.warning("gitlab.unknown_user", repo=self.repo, user=username)
        return self._user_ids[username]

    async def _ids(self, usernames: Sequence[str]) -> list[int]:
        ids = [await self._user_id(u) for u in usernames]
        return [i for i in ids if i is not None]

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
        """``assignees`` (``pr.assignees`` in ``.fluxbot.yaml``) become ``assignee_ids``; the
        constructor's ``assignees`` apply when the caller passes none."""
        existing = await self._open_mr(branch, base)
        if existing is None:
            data: dict[str, Any] = {
                "source_branch": branch,
                "target_branch": base,
                "title": title,
                "description": body,
                "remove_source_branch": True,
            }
            if labels:
                data["labels"] = ",".join(labels)
            if reviewers and (ids := await self._ids(reviewers)):
                data["reviewer_ids"] = ids
            if (who := tuple(assignees) or self._assignees) and (ids := await self._ids(who)):
                data["assignee_ids"] = ids
            try:
                attrs = await self._call(
                    "create merge request", lambda p: p.mergerequests.create(data).attributes
                )
                return merge_request(attrs), True
            except ForgeError as exc:
                # 409: another run created it between our lookup and our create.
                existing = await self._open_mr(branch, base)
                if existing is None:
                    raise exc from exc.__cause__
        changes: dict[str, Any] = {}
        if existing.get("title") != title:
            changes["title"] = title
        if (existing.get("description") or "") != body:
            changes["description"] = body
        missing = [label for label in labels if label not in (existing.get("labels") or ())]
        if missing:
            changes["add_labels"] = ",".join(missing)  # keep labels people added
        if changes:
            existing = await self._update_mr(int(existing["iid"]), changes)
        return merge_request(existing), False

    async def _update_mr(self, number: int, changes: dict[str, Any]) -> dict[str, Any]:
        def update(p: Any) -> dict[str, Any]:
            return dict(p.mergerequests.update(number, changes))

        return await self._call(f"update merge request !{number}", update)

    async def close_pr(self, number: int, comment: str | None = None) -> None:
        pr = await self.get_pr(number)
        if pr.state is not PRState.OPEN:
            return
        if comment:
            await self.comment(number, comment)
        await self._update_mr(number, {"state_event": "close"})

    async def update_pr_body(self, number: int, body: str) -> None:
        await self._update_mr(number, {"description": body})

    async def get_pr(self, number: int) -> PullRequest:
        attrs = await self._call(
            f"get merge request !{number}", lambda p: p.mergerequests.get(number).attributes
        )
        return merge_request(attrs)

    # -- notes, emoji, members, statuses ----------------------------------------------------

    async def _whoami(self) -> str:
        if self._me is None:

            def me(gl: gitlab.Gitlab) -> str:
                gl.auth()
                return str(gl.user.username) if gl.user else ""

            self._me = await self._client_call("get current user", me)
        return self._me

    async def ensure_comment(self, number: int, marker: str, body: str) -> None:
        me = await self._whoami()

        def notes(p: Any) -> list[dict[str, Any]]:
            mr = p.mergerequests.get(number, lazy=True)
            found = mr.notes.list(sort="asc", order_by="created_at", get_all=True, per_page=100)
            return [dict(n.attributes) for n in found]

        for note in await self._call(f"list notes of !{number}", notes):
            author = (note.get("author") or {}).get("username")
            if note.get("system") or author != me or marker not in str(note.get("body", "")):
                continue
            if note.get("body") != body:

                def edit(p: Any, note_id: int = int(note["id"])) -> None:
                    p.mergerequests.get(number, lazy=True).notes.update(note_id, {"body": body})

                await self._call(f"update note on !{number}", edit)
            return
        await self.comment(number, body)

    async def comment(self, number: int, body: str) -> None:
        def create(p: Any) -> None:
            p.mergerequests.get(number, lazy=True).notes.create({"body": body})

        await self._call(f"comment on !{number}", create)

    async def react(self, number: int, comment_id: int, reaction: Reaction) -> None:
        me = await self._whoami()

        def award(p: Any) -> None:
            note = p.mergerequests.get(number, lazy=True).notes.get(comment_id, lazy=True)
            for emoji in note.awardemojis.list(get_all=True):
                if emoji.name == reaction.value and emoji.user.get("username") == me:
                    return
            try:
                note.awardemojis.create({"name": reaction.value})
            except gitlab.exceptions.GitlabCreateError as exc:
                if "already been taken" not in str(exc.error_message):
                    raise

        await self._call(f"award emoji on !{number}", award)

    async def can_write(self, user: str) -> bool:
        def members(p: Any) -> list[dict[str, Any]]:
            return [dict(m.attributes) for m in p.members_all.list(query=user, get_all=True)]

        for member in await self._call("list members", members):
            if str(member.get("username", "")).lower() != user.lower():
                continue
            active = member.get("state", "active") == "active"
            return active and int(member.get("access_level", 0)) >= WRITE_ACCESS
        return False

    async def set_status(
        self, sha: str, context: str, state: StatusState, description: str, url: str | None = None
    ) -> None:
        data: dict[str, Any] = {
            "state": TO_GITLAB[state],
            "name": context,
            "description": description[:255],
        }
        if url and len(url) <= 255:  # GitLab refuses a longer one; a cut URL would mislead
            data["target_url"] = url

        def post(p: Any) -> None:
            try:
                p.commits.get(sha, lazy=True).statuses.create(data)
            except gitlab.exceptions.GitlabCreateError as exc:
                # Re-posting the state a status already has: GitLab refuses the no-op transition.
                if "Cannot transition status" not in str(exc.error_message):
                    raise

        await self._call(f"set status {context}", post)

    async def commit_statuses(self, sha: str) -> dict[str, StatusState]:
        details = await gitlab_history.commit_status_details(self, sha)  # the same listing
        return {name: state for name, (state, _text) in details.items()}

    # -- history and MR contents (bot.ports.ForgeHistory) ------------------------------

    async def pr_paths(self, number: int) -> list[str]:
        return await gitlab_history.pr_paths(self, number)

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return await gitlab_history.is_ancestor(self, ancestor, descendant)

    async def merge_base(self, a: str, b: str) -> str:
        return await gitlab_history.merge_base(self, a, b)

    async def commit_status_details(self, sha: str) -> dict[str, tuple[StatusState, str]]:
        return await gitlab_history.commit_status_details(self, sha)


@asynccontextmanager
async def open_forge(
    repo: str,
    settings: Settings,
    *,
    installation_id: int | None = None,
    default_branch: str | None = None,
    workers: int = 4,
) -> AsyncIterator[GitLabForge]:
    """A :class:`GitLabForge` on ``settings.gitlab_url`` authenticated by ``gitlab_token``.

    ``installation_id`` is GitHub's notion and ignored here; it keeps the factory uniform.
    """
    del installation_id
    if not settings.gitlab_token:
        raise ConfigError("FLUXBOT_GITLAB_TOKEN is required for the gitlab forge")
    pool = GitLabPool(settings.gitlab_url, settings.gitlab_token, workers=workers)
    try:
        yield GitLabForge(repo, pool, default_branch=default_branch)
    finally:
        await asyncio.get_running_loop().run_in_executor(None, pool.close)


if TYPE_CHECKING:

    def _implements_forge(forge: GitLabForge) -> Forge:
        return forge  # mypy checks GitLabForge against the Forge protocol here

    def _implements_history(forge: GitLabForge) -> ForgeHistory:
        return forge
