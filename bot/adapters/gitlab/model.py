"""GitLab REST values ↔ fluxbot's: merge requests as :class:`~bot.core.model.PullRequest`, commit
status states. Pure mappings used by :mod:`bot.adapters.gitlab.forge`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.model import PRState, PullRequest
from bot.ports import StatusState

_MR_STATE = {"opened": PRState.OPEN, "locked": PRState.OPEN, "closed": PRState.CLOSED}
TO_GITLAB = {
    StatusState.PENDING: "pending",
    StatusState.SUCCESS: "success",
    StatusState.FAILURE: "failed",
    StatusState.ERROR: "failed",
}
FROM_GITLAB = {
    "success": StatusState.SUCCESS,
    "failed": StatusState.FAILURE,
    "canceled": StatusState.ERROR,
    "skipped": StatusState.ERROR,
}


def merge_request(attrs: Mapping[str, Any]) -> PullRequest:
    """A merge request (REST attributes) as the jobs see a PR."""
    state = PRState.MERGED if attrs.get("state") == "merged" else None
    author = attrs.get("author") or {}
    return PullRequest(
        number=int(attrs["iid"]),
        branch=str(attrs.get("source_branch", "")),
        base=str(attrs.get("target_branch", "")),
        title=str(attrs.get("title") or ""),
        body=str(attrs.get("description") or ""),
        state=state or _MR_STATE.get(str(attrs.get("state")), PRState.CLOSED),
        head_sha=str(attrs.get("sha") or ""),
        merge_sha=attrs.get("merge_commit_sha") or attrs.get("squash_commit_sha") or None,
        url=str(attrs.get("web_url") or ""),
        author=str(author.get("username", "")) if isinstance(author, Mapping) else "",
        labels=tuple(str(label) for label in attrs.get("labels") or ()),
    )


def same_project(attrs: Mapping[str, Any]) -> bool:
    """Not from a fork: fluxbot's own MRs always are."""
    return attrs.get("source_project_id") == attrs.get("target_project_id")
