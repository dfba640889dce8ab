"""Commit history and MR contents on GitLab: the :class:`~bot.ports.ForgeHistory` methods.

- ``pr_paths``: ``GET /projects/:id/merge_requests/:iid/diffs`` (paginated), each diff's
  ``old_path`` and ``new_path`` (both names of a rename), at most ``MAX_PR_PATHS``;
- ``is_ancestor`` / ``merge_base``: ``GET /projects/:id/repository/merge_base?refs[]=a&refs[]=b``
  (``a`` is an ancestor of ``b`` when it *is* their merge base); an unknown ref is GitLab's 400;
- ``commit_status_details``: the newest status per name with its description.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from bot.adapters.gitlab.model import FROM_GITLAB
from bot.ports import MAX_PR_PATHS, StatusState

if TYPE_CHECKING:
    from bot.adapters.gitlab.forge import GitLabForge


async def pr_paths(forge: GitLabForge, number: int) -> list[str]:
    def diffs(p: Any) -> list[dict[str, Any]]:
        path = f"/projects/{p.encoded_id}/merge_requests/{number}/diffs"
        found = p.manager.gitlab.http_list(path, iterator=True, per_page=100)
        return [dict(d) for d in itertools.islice(found, MAX_PR_PATHS)]

    paths: set[str] = set()
    for diff in await forge._call(f"list diffs of !{number}", diffs):
        paths.update(str(diff[key]) for key in ("old_path", "new_path") if diff.get(key))
    return sorted(paths)


async def merge_base(forge: GitLabForge, a: str, b: str) -> str:
    def base(p: Any) -> str:
        return str(p.repository_merge_base([a, b])["id"])

    return await forge._call(f"merge base of {a[:12]} and {b[:12]}", base)


async def is_ancestor(forge: GitLabForge, ancestor: str, descendant: str) -> bool:
    found = await merge_base(forge, ancestor, descendant)
    return found == ancestor or (len(ancestor) >= 7 and found.startswith(ancestor))


async def commit_status_details(forge: GitLabForge, sha: str) -> dict[str, tuple[StatusState, str]]:
    def statuses(p: Any) -> list[dict[str, Any]]:
        found = p.commits.get(sha, lazy=True).statuses.list(get_all=True, per_page=100)
        return [dict(s.attributes) for s in found]

    latest: dict[str, tuple[int, StatusState, str]] = {}
    for status in await forge._call("list statuses", statuses):
        name, sid = str(status.get("name", "default")), int(status.get("id", 0))
        state = FROM_GITLAB.get(str(status.get("status")), StatusState.PENDING)
        if name not in latest or sid > latest[name][0]:
            latest[name] = (sid, state, str(status.get("description") or ""))
    return {name: (state, text) for name, (_sid, state, text) in latest.items()}
