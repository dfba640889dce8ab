"""GitLab webhook payloads → :class:`bot.core.events.Event`. Pure: no I/O, no clock.

The ``X-Gitlab-Event`` header names the hook; the payload's ``object_kind`` must agree with it.
Handled: ``Push Hook`` (any branch; dispatch keeps the default branch), ``Merge Request Hook``
(open/reopen → opened, update with ``oldrev`` → new commits, update without → edited, ``close``,
``merge``) and ``Note Hook`` on merge requests (a new comment). Everything else is an authentic
delivery with nothing to do: :attr:`EventKind.IGNORED` (GitLab disables hooks that answer 4xx, so
the server must still answer 2xx for it).

    >>> e = normalise("Push Hook", {"object_kind": "push", "ref": "refs/heads/main",
    ...     "project": {"path_with_namespace": "g/p", "default_branch": "main"},
    ...     "commits": [{"added": ["a.yaml"], "modified": [], "removed": []}],
    ...     "total_commits_count": 1, "user_username": "jo"})
    >>> (e.kind.value, e.repo, e.branch, e.changed_paths)
    ('push', 'g/p', 'main', ('a.yaml',))
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.core.errors import WebhookError
from bot.core.events import Event, EventKind, commit_paths

FORGE = "gitlab"
HEADS = "refs/heads/"
ZERO_SHA = "0" * 40

# Project/group access tokens act as generated bot users named like ``project_42_bot_<hex>``.
_TOKEN_BOT = re.compile(r"^(project|group)_\d+_bot(_[0-9a-f]+)?$")
_MR_KINDS = {
    "open": EventKind.PR_OPENED,
    "reopen": EventKind.PR_OPENED,
    "close": EventKind.PR_CLOSED,
    "merge": EventKind.PR_MERGED,
}
_HOOK_KIND = {
    "Push Hook": "push",
    "Merge Request Hook": "merge_request",
    "Note Hook": "note",
}


def is_bot_username(username: str) -> bool:
    """Whether a GitLab username is a bot (access-token bot users, ``*[bot]``, ``*-bot``)."""
    name = username.lower()
    return bool(_TOKEN_BOT.match(name)) or name.endswith(("[bot]", "-bot", "_bot"))


def _map(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WebhookError(f"gitlab payload: {what} is not an object")
    return value


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _project(payload: Mapping[str, Any]) -> tuple[str, str | None]:
    project = _map(payload.get("project"), "project")
    repo = _str(project.get("path_with_namespace"))
    if not repo:
        raise WebhookError("gitlab payload: project.path_with_namespace missing")
    return repo, _str(project.get("default_branch")) or None


def _user(payload: Mapping[str, Any]) -> str:
    user = payload.get("user")
    if isinstance(user, Mapping):
        return _str(user.get("username"))
    return _str(payload.get("user_username"))


def _changed_paths(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """Paths touched by the pushed commits; empty when GitLab truncated the commit list.

    GitLab sends at most 20 commits per push: when ``total_commits_count`` is larger the list is
    incomplete, and an empty tuple tells dispatch "unknown, assume anything changed".
    """
    commits = payload.get("commits")
    if not isinstance(commits, list):
        return ()
    total = _int(payload.get("total_commits_count"))
    if total is not None and total > len(commits):
        return ()
    return commit_paths(commits)


def _push(payload: Mapping[str, Any], delivery_id: str) -> Event:
    repo, default = _project(payload)
    ref = _str(payload.get("ref"))
    after = _str(payload.get("after")) or None
    if not ref.startswith(HEADS) or after == ZERO_SHA:
        return Event(FORGE, EventKind.IGNORED, repo, delivery_id, default_branch=default)
    actor = _user(payload)
    return Event(
        forge=FORGE,
        kind=EventKind.PUSH,
        repo=repo,
        delivery_id=delivery_id,
        branch=ref[len(HEADS) :],
        default_branch=default,
        before=_str(payload.get("before")) or None,
        after=after,
        changed_paths=_changed_paths(payload),
        actor=actor,
        actor_is_bot=is_bot_username(actor),
    )


def _head_branch(mr: Mapping[str, Any]) -> str:
    """The MR's source branch; a fork's is qualified (``fork/path:branch``) so it is never ours."""
    branch = _str(mr.get("source_branch"))
    source, target = mr.get("source_project_id"), mr.get("target_project_id")
    if source is not None and target is not None and source != target:
        fork = mr.get("source")
        path = _str(fork.get("path_with_namespace")) if isinstance(fork, Mapping) else ""
        return f"{path or source}:{branch}"
    return branch


def _last_commit(mr: Mapping[str, Any]) -> str | None:
    commit = mr.get("last_commit")
    if isinstance(commit, Mapping):
        return _str(commit.get("id")) or None
    return None


def _merge_request(payload: Mapping[str, Any], delivery_id: str) -> Event:
    repo, default = _project(payload)
    attrs = _map(payload.get("object_attributes"), "object_attributes")
    action = _str(attrs.get("action"))
    kind = _MR_KINDS.get(action)
    if action == "update":
        kind = EventKind.PR_SYNCHRONIZE if attrs.get("oldrev") else EventKind.PR_EDITED
    if kind is None or _int(attrs.get("iid")) is None:
        return Event(FORGE, EventKind.IGNORED, repo, delivery_id, default_branch=default)
    actor = _user(payload)
    return Event(
        forge=FORGE,
        kind=kind,
        repo=repo,
        delivery_id=delivery_id,
        branch=_str(attrs.get("target_branch")) or None,
        default_branch=default,
        before=_str(attrs.get("oldrev")) or None,
        after=_last_commit(attrs),
        pr_number=_int(attrs.get("iid")),
        pr_branch=_head_branch(attrs) or None,
        merge_sha=_str(attrs.get("merge_commit_sha")) or None,
        actor=actor,
        actor_is_bot=is_bot_username(actor),
    )


def _note(payload: Mapping[str, Any], delivery_id: str) -> Event:
    repo, default = _project(payload)
    attrs = _map(payload.get("object_attributes"), "object_attributes")
    mr = payload.get("merge_request")
    action = _str(attrs.get("action")) or "create"
    if attrs.get("noteable_type") != "MergeRequest" or not isinstance(mr, Mapping):
        return Event(FORGE, EventKind.IGNORED, repo, delivery_id, default_branch=default)
    if action != "create" or _int(mr.get("iid")) is None or _int(attrs.get("id")) is None:
        return Event(FORGE, EventKind.IGNORED, repo, delivery_id, default_branch=default)
    actor = _user(payload)
    return Event(
        forge=FORGE,
        kind=EventKind.COMMENT,
        repo=repo,
        delivery_id=delivery_id,
        branch=_str(mr.get("target_branch")) or None,
        default_branch=default,
        after=_last_commit(mr),
        pr_number=_int(mr.get("iid")),
        pr_branch=_head_branch(mr) or None,
        actor=actor,
        # System notes ("added 1 commit", "changed the description") are GitLab's own.
        actor_is_bot=bool(attrs.get("system")) or is_bot_username(actor),
        comment_id=_int(attrs.get("id")),
        comment_body=_str(attrs.get("note")),
    )


def normalise(event_name: str, payload: Any, delivery_id: str = "") -> Event:
    """One GitLab delivery as an :class:`Event`; raises :class:`WebhookError` if malformed.

    The normaliser only translates: whether the event is fluxbot's own (the GitLab token's user)
    is :func:`bot.core.dispatch.is_own`'s to decide, from ``actor``.
    """
    body = _map(payload, "body")
    expected = _HOOK_KIND.get(event_name)
    kind = _str(body.get("object_kind"))
    if expected is None:
        repo = ""
        project = body.get("project")
        if isinstance(project, Mapping):
            repo = _str(project.get("path_with_namespace"))
        return Event(FORGE, EventKind.IGNORED, repo, delivery_id)
    if kind != expected:
        raise WebhookError(f"gitlab payload: {event_name!r} with object_kind {kind!r}")
    if expected == "push":
        return _push(body, delivery_id)
    if expected == "merge_request":
        return _merge_request(body, delivery_id)
    return _note(body, delivery_id)
