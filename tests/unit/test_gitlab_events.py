"""GitLab webhook payloads → Events, on the real-shaped payloads of ``../shared/testdata``.

The examples (go-gitlab's testdata) have no merged MR with ``merge_commit_sha``, no MR update
with new commits and no bot note: those are derived by patching an example in the test.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.dispatch import JobKind, jobs_for
from bot.core.errors import WebhookError
from bot.core.events import EventKind
from bot.core.events.gitlab import is_bot_username, normalise
from tests.support.paths import GITLAB_WEBHOOKS


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GITLAB_WEBHOOKS / name).read_text(encoding="utf-8"))
    return data


def test_push_truncated_commit_list_means_unknown_paths() -> None:
    data = payload("push.json")
    assert data["total_commits_count"] > len(data["commits"])
    event = normalise("Push Hook", data, "d-1")
    assert event.kind is EventKind.PUSH
    assert (event.repo, event.branch, event.default_branch) == ("mike/diaspora", "master", "master")
    assert event.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert event.before == "95790bf891e76fee5e1747ab589903a6a1f80f22"
    assert event.actor == "jsmith" and event.delivery_id == "d-1"
    assert event.changed_paths == ()  # incomplete list: "anything may have changed"
    assert [j.kind for j in jobs_for(event, "fluxbot")] == [JobKind.UPDATE]


def test_push_changed_paths_from_added_modified_removed() -> None:
    data = payload("push.json")
    data["total_commits_count"] = len(data["commits"])
    data["commits"][1]["removed"] = ["apps/old.yaml"]
    event = normalise("Push Hook", data)
    assert event.changed_paths == ("CHANGELOG", "app/controller/application.rb", "apps/old.yaml")
    assert [j.kind for j in jobs_for(event, "fluxbot")] == [JobKind.UPDATE]
    data["commits"][1]["removed"] = []
    assert jobs_for(normalise("Push Hook", data), "fluxbot") == []  # no YAML touched


def test_push_to_other_branch_tag_or_deletion() -> None:
    data = payload("push.json")
    data["ref"] = "refs/heads/feature"
    assert jobs_for(normalise("Push Hook", data), "fluxbot") == []
    deleted = payload("push.json") | {"after": "0" * 40}
    assert normalise("Push Hook", deleted).kind is EventKind.IGNORED
    tag = normalise("Tag Push Hook", payload("tag_push.json"))
    assert tag.kind is EventKind.IGNORED and tag.repo == "jsmith/example"


def test_merge_request_open() -> None:
    event = normalise("Merge Request Hook", payload("merge_request.json"), "d-2")
    assert event.kind is EventKind.PR_OPENED
    assert (event.repo, event.pr_number, event.pr_branch) == (
        "gitlabhq/gitlab-test",
        1,
        "ms-viewport",
    )
    assert event.branch == "master" and event.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert event.actor == "user1" and not event.actor_is_bot
    assert [j.kind for j in jobs_for(event, "fluxbot")] == [JobKind.PREVIEW]


@pytest.mark.parametrize(
    ("action", "oldrev", "kind"),
    [
        ("reopen", None, EventKind.PR_OPENED),
        ("update", "95790bf891e76fee5e1747ab589903a6a1f80f22", EventKind.PR_SYNCHRONIZE),
        ("update", None, EventKind.PR_EDITED),
        ("close", None, EventKind.PR_CLOSED),
        ("approved", None, EventKind.IGNORED),
    ],
)
def test_merge_request_actions(action: str, oldrev: str | None, kind: EventKind) -> None:
    data = payload("merge_request.json")
    data["object_attributes"]["action"] = action
    if oldrev:
        data["object_attributes"]["oldrev"] = oldrev
    event = normalise("Merge Request Hook", data)
    assert event.kind is kind
    if oldrev:
        assert event.before == oldrev


def test_merged_fluxbot_mr_derived_from_example() -> None:
    data = payload("merge_request.json")
    attrs = data["object_attributes"]
    attrs.update(action="merge", state="merged", source_branch="fluxbot/ghcr.io-o-app")
    attrs["merge_commit_sha"] = "ab" * 20
    event = normalise("Merge Request Hook", data)
    assert event.kind is EventKind.PR_MERGED and event.merge_sha == "ab" * 20
    assert [j.kind for j in jobs_for(event, "fluxbot")] == [JobKind.RECONCILE, JobKind.UPDATE]


def test_group_merge_request_example_needs_an_iid() -> None:
    data = payload("group_merge_request.json")  # a trimmed real "merge" delivery: no iid
    assert normalise("Merge Request Hook", data).kind is EventKind.IGNORED
    data["object_attributes"].update(iid=7, source_branch="fluxbot/x", target_branch="main")
    event = normalise("Merge Request Hook", data)
    assert event.kind is EventKind.PR_MERGED and event.pr_number == 7
    assert event.merge_sha == "ac3ca1559bc39abf963586372eff7f8fdded646e"


def test_closed_fluxbot_mr_and_fork_branch_is_not_ours() -> None:
    data = payload("merge_request.json")
    data["object_attributes"].update(action="close", source_branch="fluxbot/app")
    event = normalise("Merge Request Hook", data)
    assert event.pr_branch == "fluxbot/app"
    assert [j.kind for j in jobs_for(event, "fluxbot")] == [JobKind.CLOSED]
    fork = copy.deepcopy(data)
    fork["object_attributes"]["source_project_id"] = 99
    forked = normalise("Merge Request Hook", fork)
    assert forked.pr_branch == "awesome_space/awesome_project:fluxbot/app"
    assert jobs_for(forked, "fluxbot") == []


def test_note_on_merge_request() -> None:
    data = payload("note_merge_request.json")
    event = normalise("Note Hook", data, "d-3")
    assert event.kind is EventKind.COMMENT
    assert (event.pr_number, event.comment_id, event.comment_body) == (
        1,
        1244,
        "This MR needs work.",
    )
    assert event.actor == "root" and not event.actor_is_bot
    assert event.pr_branch == "master" and event.branch == "markdown"
    assert jobs_for(event, "fluxbot") == []  # a comment without a command calls for no job
    data["object_attributes"]["note"] = "This MR needs work.\n/fluxbot diff"
    [job] = jobs_for(normalise("Note Hook", data, "d-3"), "fluxbot")
    assert job.kind is JobKind.COMMAND and [c.line for c in job.commands] == ["/fluxbot diff"]


def test_note_from_bots_system_and_edits_ignored() -> None:
    data = payload("note_merge_request.json")
    data["object_attributes"]["note"] = "@fluxbot rebase"
    data["user"]["username"] = "project_42_bot_3f2a9c"
    assert normalise("Note Hook", data).actor_is_bot
    assert jobs_for(normalise("Note Hook", data), "fluxbot") == []
    system = payload("note_merge_request.json")
    system["object_attributes"]["system"] = True
    assert jobs_for(normalise("Note Hook", system), "fluxbot") == []
    own = payload("note_merge_request.json")
    own["user"]["username"] = "fluxbot"
    assert jobs_for(normalise("Note Hook", own), "fluxbot") == []
    edited = payload("note_merge_request.json")
    edited["object_attributes"]["action"] = "update"
    assert normalise("Note Hook", edited).kind is EventKind.IGNORED


def test_notes_elsewhere_and_other_hooks_ignored() -> None:
    assert normalise("Note Hook", payload("note_commit.json")).kind is EventKind.IGNORED
    assert normalise("Note Hook", payload("note_issue.json")).kind is EventKind.IGNORED
    assert normalise("Issue Hook", payload("issue.json")).kind is EventKind.IGNORED
    assert normalise("Pipeline Hook", payload("pipeline.json")).kind is EventKind.IGNORED


def test_malformed_payloads_raise() -> None:
    with pytest.raises(WebhookError, match="object_kind"):
        normalise("Push Hook", payload("merge_request.json"))
    with pytest.raises(WebhookError):
        normalise("Push Hook", [1, 2])
    broken = payload("push.json")
    del broken["project"]
    with pytest.raises(WebhookError, match="project"):
        normalise("Push Hook", broken)


@pytest.mark.parametrize(
    ("name", "bot"),
    [
        ("project_7_bot_0a1b2c", True),
        ("group_12_bot", True),
        ("renovate-bot", True),
        ("dependabot[bot]", True),
        ("alice", False),
        ("project_lead", False),
    ],
)
def test_bot_usernames(name: str, bot: bool) -> None:
    assert is_bot_username(name) is bot


def _mr(action: str, user: str, **attrs: Any) -> dict[str, Any]:
    data = payload("merge_request.json")
    data["user"]["username"] = user
    data["object_attributes"].update(action=action, source_branch="fluxbot/app", **attrs)
    return data


@pytest.mark.parametrize(
    ("data", "kind", "jobs"),
    [
        # fluxbot edits its MR description / closes a superseded MR: no run of its own making
        (_mr("update", "glbot"), EventKind.PR_EDITED, []),
        (_mr("close", "GLBot"), EventKind.PR_CLOSED, []),
        # its own MR opened / recomputed → preview; merged by it → reconcile
        (_mr("open", "glbot"), EventKind.PR_OPENED, [JobKind.PREVIEW]),
        (_mr("update", "glbot", oldrev="ab" * 20), EventKind.PR_SYNCHRONIZE, [JobKind.PREVIEW]),
        (_mr("merge", "glbot"), EventKind.PR_MERGED, [JobKind.RECONCILE, JobKind.UPDATE]),
    ],
)
def test_own_events_by_the_gitlab_login(
    data: dict[str, Any], kind: EventKind, jobs: list[JobKind]
) -> None:
    # the normaliser translates; dispatch, given the GitLab login, decides what is fluxbot's own
    event = normalise("Merge Request Hook", data, "d")
    assert event.kind is kind and event.repo == "gitlabhq/gitlab-test"
    assert not event.actor_is_bot  # no bot-like name: only the login tells
    assert [j.kind for j in jobs_for(event, "glbot")] == jobs
    if not jobs:
        assert jobs_for(event, "someone-else") != []  # what the login prevents


def test_own_note_and_push_by_the_gitlab_login() -> None:
    note = payload("note_merge_request.json")
    note["user"]["username"] = "glbot"
    note["object_attributes"]["note"] = "@fluxbot rebase"
    event = normalise("Note Hook", note)
    assert jobs_for(event, "app[bot]") != []
    assert jobs_for(event, "glbot") == []
    # fluxbot never pushes to the default branch: a push by the token's user is a person's
    push = payload("push.json")
    push["user_username"] = "glbot"
    own_push = normalise("Push Hook", push)
    assert own_push.kind is EventKind.PUSH
    assert [j.kind for j in jobs_for(own_push, "glbot")] == [JobKind.UPDATE]


_KEYS = st.sampled_from(
    [
        "project",
        "ref",
        "commits",
        "object_attributes",
        "merge_request",
        "user",
        "path_with_namespace",
        "iid",
        "id",
        "action",
        "noteable_type",
        "source_branch",
        "added",
        "total_commits_count",
        "last_commit",
        "source",
        "source_project_id",
        "target_project_id",
        "user_username",
        "after",
        "note",
        "system",
        "default_branch",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["Push Hook", "Merge Request Hook", "Note Hook", "Job Hook"]),
    _JSON,
    st.sampled_from(["push", "merge_request", "note"]),
)
def test_any_json_is_an_event_or_a_webhook_error(hook: str, data: Any, kind: str) -> None:
    # the server answers 200 "malformed" to WebhookError; anything else would be a 500
    if isinstance(data, dict):
        data = {**data, "object_kind": kind}
    try:
        event = normalise(hook, data, "d")
    except WebhookError:
        return
    assert event.forge == "gitlab" and event.delivery_id == "d"
