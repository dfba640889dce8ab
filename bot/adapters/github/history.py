"""Commit history and PR contents on GitHub: the :class:`~bot.ports.ForgeHistory` methods.

- ``pr_paths``: ``GET /repos/{o}/{r}/pulls/{n}/files`` (paginated; GitHub lists at most 3,000
  files), each ``filename`` and, for a rename, its ``previous_filename``;
- ``is_ancestor`` / ``merge_base``: ``GET /repos/{o}/{r}/compare/{a}...{b}`` (``status`` is
  ``ahead`` or ``identical`` when ``a`` is an ancestor of ``b``; ``merge_base_commit.sha``),
  asked for one commit per page so the answer stays small;
- ``commit_status_details``: the combined status (newest first per context) with descriptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.core.errors import ForgeError
from bot.ports import MAX_PR_PATHS, StatusState

if TYPE_CHECKING:
    from bot.adapters.github.forge import GitHubForge


async def pr_paths(forge: GitHubForge, number: int) -> list[str]:
    files = await forge._paged(f"/pulls/{number}/files?per_page=100", limit=MAX_PR_PATHS)
    paths: set[str] = set()
    for item in files:
        paths.add(str(item["filename"]))
        if item.get("previous_filename"):
            paths.add(str(item["previous_filename"]))
    return sorted(paths)


async def _compare(forge: GitHubForge, a: str, b: str) -> dict[str, Any]:
    data = await forge._get(f"/compare/{quote(a, safe='')}...{quote(b, safe='')}?per_page=1")
    if not isinstance(data, dict):
        raise ForgeError(f"GitHub compare {a[:12]}...{b[:12]} in {forge.repo}: unexpected answer")
    return data


async def is_ancestor(forge: GitHubForge, ancestor: str, descendant: str) -> bool:
    data = await _compare(forge, ancestor, descendant)
    return str(data.get("status")) in ("ahead", "identical")


async def merge_base(forge: GitHubForge, a: str, b: str) -> str:
    data = await _compare(forge, a, b)
    sha = (data.get("merge_base_commit") or {}).get("sha")
    if not sha:
        raise ForgeError(f"GitHub: no merge base of {a[:12]} and {b[:12]} in {forge.repo}")
    return str(sha)


async def commit_status_details(forge: GitHubForge, sha: str) -> dict[str, tuple[StatusState, str]]:
    data = await forge._get(f"/commits/{sha}/status?per_page=100")
    out: dict[str, tuple[StatusState, str]] = {}
    for item in data.get("statuses") or ():  # newest first per context
        context = str(item["context"])
        if context not in out:
            out[context] = (StatusState(str(item["state"])), str(item.get("description") or ""))
    return out
