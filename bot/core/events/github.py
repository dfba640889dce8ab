"""GitHub webhook payloads → :class:`bot.core.events.Event`. Pure: no I/O, no clock.

    >>> e = normalise("ping", {"zen": "x", "hook_id": 1}, delivery_id="d1")
    >>> e.kind
    <EventKind.IGNORED: 'ignored'>

Only the fields the dispatcher needs are kept; the normaliser only translates. Whether an
event is fluxbot's own is :func:`bot.core.dispatch.is_own`'s to decide, from ``actor``. A PR from
a fork never counts as one of fluxbot's branches: its ``pr_branch`` is ``owner:branch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.events import Event, EventKind, commit_paths

_PR_ACTIONS = {
    "opened": EventKind.PR_OPENED,
    "reopened": EventKind.PR_OPENED,
    "ready_for_review": EventKind.PR_OPENED,
    "synchronize": EventKind.PR_SYNCHRONIZE,
    "edited": EventKind.PR_EDITED,
}


def _get(data: Mapping[str, Any], *path: str) -> Any:
    """``data[a][b]...`` or None when any step is missing or not a mapping."""
    cur: Any = data
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


MAX_PUSH_COMMITS = 2048


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _changed_paths(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """Every path added, modified or removed by the commits of a push (empty when unknown)."""
    commits = payload.get("commits")
    if not isinstance(commits, list) or len(commits) >= MAX_PUSH_COMMITS:
        return ()  # GitHub lists at most 2,048 commits: past that, the paths are not all known
    return commit_paths(commits)


def _base(event: str, payload: Mapping[str, Any], delivery_id: str) -> dict[str, Any]:
    return {
        "forge": "github",
        "repo": _str(_get(payload, "repository", "full_name")) or "",
        "delivery_id": delivery_id,
        "installation_id": _int(_get(payload, "installation", "id")),
        "default_branch": _str(_get(payload, "repository", "default_branch")),
        "actor": _str(_get(payload, "sender", "login")) or "",
        "actor_is_bot": _get(payload, "sender", "type") == "Bot",
    }


def _push(fields: dict[str, Any], payload: Mapping[str, Any]) -> Event:
    ref = _str(payload.get("ref")) or ""
    if not ref.startswith("refs/heads/") or payload.get("deleted"):
        return Event(kind=EventKind.IGNORED, **fields)
    return Event(
        kind=EventKind.PUSH,
        branch=ref.removeprefix("refs/heads/"),
        before=_str(payload.get("before")),
        after=_str(payload.get("after")),
        changed_paths=_changed_paths(payload),
        **fields,
    )


def _pull_request(fields: dict[str, Any], payload: Mapping[str, Any]) -> Event:
    action = payload.get("action")
    pr = payload.get("pull_request")
    if not isinstance(pr, Mapping):
        return Event(kind=EventKind.IGNORED, **fields)
    if action == "closed":
        kind = EventKind.PR_MERGED if pr.get("merged") else EventKind.PR_CLOSED
    else:
        kind = _PR_ACTIONS.get(str(action), EventKind.IGNORED)
    head_ref = _str(_get(pr, "head", "ref")) or ""
    head_repo = _str(_get(pr, "head", "repo", "full_name"))
    if head_repo and head_repo != fields["repo"]:
        head_ref = f"{head_repo.split('/')[0]}:{head_ref}"  # a fork's branch is never ours
    return Event(
        kind=kind,
        branch=_str(_get(pr, "base", "ref")),
        after=_str(_get(pr, "head", "sha")),
        pr_number=_int(pr.get("number")),
        pr_branch=head_ref or None,
        merge_sha=_str(pr.get("merge_commit_sha")) if kind is EventKind.PR_MERGED else None,
        **fields,
    )


def _comment(fields: dict[str, Any], payload: Mapping[str, Any]) -> Event:
    if payload.get("action") != "created" or not _get(payload, "issue", "pull_request"):
        return Event(kind=EventKind.IGNORED, **fields)
    comment = payload.get("comment")
    if not isinstance(comment, Mapping):
        return Event(kind=EventKind.IGNORED, **fields)
    fields["actor"] = _str(_get(comment, "user", "login")) or fields["actor"]
    fields["actor_is_bot"] = _get(comment, "user", "type") == "Bot" or fields["actor"].endswith(
        "[bot]"
    )
    return Event(
        kind=EventKind.COMMENT,
        pr_number=_int(_get(payload, "issue", "number")),
        comment_id=_int(comment.get("id")),
        comment_body=_str(comment.get("body")) or "",
        **fields,
    )


def _installation(event: str, fields: dict[str, Any], payload: Mapping[str, Any]) -> Event:
    action = payload.get("action")
    key = "repositories" if event == "installation" else "repositories_added"
    wanted = ("created", "new_permissions_accepted", "unsuspend", "added")
    repos = tuple(
        r["full_name"]
        for r in payload.get(key) or ()
        if isinstance(r, Mapping) and isinstance(r.get("full_name"), str)
    )
    if action not in wanted or not repos:
        return Event(kind=EventKind.IGNORED, **fields)
    fields["repo"] = fields["repo"] or repos[0]
    return Event(kind=EventKind.INSTALLATION, repos=repos, **fields)


def normalise(event: str, payload: Mapping[str, Any], delivery_id: str = "") -> Event:
    """The :class:`Event` for one delivery of GitHub event ``event`` (``X-GitHub-Event``)."""
    fields = _base(event, payload, delivery_id)
    if event == "push":
        return _push(fields, payload)
    if event == "pull_request":
        return _pull_request(fields, payload)
    if event == "issue_comment":
        return _comment(fields, payload)
    if event in ("installation", "installation_repositories"):
        return _installation(event, fields, payload)
    return Event(kind=EventKind.IGNORED, **fields)


def label(event: str, payload: Mapping[str, Any]) -> str:
    """A metrics label for a delivery: ``event`` or ``event.action``."""
    action = payload.get("action")
    return f"{event}.{action}" if isinstance(action, str) and len(action) < 40 else event
