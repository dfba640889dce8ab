"""GitHub payload → Event, on the real examples of ``@octokit/webhooks-examples``."""

from __future__ import annotations

import copy
from typing import Any

from bot.core.dispatch import JobKind, jobs_for
from bot.core.events import EventKind
from bot.core.events.github import label, normalise

BOT = "fluxbot[bot]"


def example(examples: dict[str, list[dict[str, Any]]], name: str, action: str | None = None) -> Any:
    for payload in examples[name]:
        if action is None or payload.get("action") == action:
            return copy.deepcopy(payload)
    raise LookupError(f"no {name}.{action} example")


def test_every_example_normalises_without_error(webhook_examples: dict[str, Any]) -> None:
    seen = set()
    for name, payloads in webhook_examples.items():
        for payload in payloads:
            event = normalise(name, payload, "d")
            seen.add(event.kind)
            assert event.forge == "github" and event.delivery_id == "d"
    # no comment on a PR among the examples (DESIGN.md §6): derived by patching below
    assert {EventKind.PUSH, EventKind.PR_OPENED, EventKind.INSTALLATION} <= seen


def test_push_to_default_branch(webhook_examples: dict[str, Any]) -> None:
    payload = next(
        p
        for p in webhook_examples["push"]
        if p["ref"] == f"refs/heads/{p['repository']['default_branch']}" and not p["deleted"]
    )
    payload["commits"] = [{"added": ["apps/a.yaml"], "modified": ["README.md"], "removed": []}]
    event = normalise("push", payload, "d1")
    assert event.kind is EventKind.PUSH
    assert event.repo == payload["repository"]["full_name"]
    assert event.branch == event.default_branch == payload["repository"]["default_branch"]
    assert event.after == payload["after"] and event.before == payload["before"]
    assert event.changed_paths == ("apps/a.yaml", "README.md")
    assert [j.kind for j in jobs_for(event, BOT)] == [JobKind.UPDATE]
    payload["commits"] = [{"added": [], "modified": ["README.md"], "removed": []}]
    assert jobs_for(normalise("push", payload), BOT) == []  # nothing that can change an update
    # GitHub lists at most 2,048 commits: a push past that may touch manifests unseen
    payload["commits"] = [{"added": [], "modified": ["README.md"], "removed": []}] * 2048
    assert [j.kind for j in jobs_for(normalise("push", payload), BOT)] == [JobKind.UPDATE]


def test_push_of_a_tag_or_deletion_is_ignored(webhook_examples: dict[str, Any]) -> None:
    payload = example(webhook_examples, "push")
    payload["ref"] = "refs/tags/v1"
    assert normalise("push", payload).kind is EventKind.IGNORED
    payload["ref"], payload["deleted"] = "refs/heads/main", True
    assert normalise("push", payload).kind is EventKind.IGNORED


def test_pull_request_actions(webhook_examples: dict[str, Any]) -> None:
    opened = example(webhook_examples, "pull_request", "opened")
    event = normalise("pull_request", opened)
    assert event.kind is EventKind.PR_OPENED
    assert event.pr_number == opened["number"] == opened["pull_request"]["number"]
    assert event.after == opened["pull_request"]["head"]["sha"]
    assert event.branch == opened["pull_request"]["base"]["ref"]
    sync = example(webhook_examples, "pull_request", "synchronize")
    assert normalise("pull_request", sync).kind is EventKind.PR_SYNCHRONIZE
    labeled = example(webhook_examples, "pull_request", "labeled")
    assert normalise("pull_request", labeled).kind is EventKind.IGNORED


def _ours(payload: dict[str, Any]) -> dict[str, Any]:
    pr = payload["pull_request"]
    pr["head"]["ref"] = "fluxbot/app"
    pr["head"]["repo"] = copy.deepcopy(payload["repository"])
    return payload


def test_closed_unmerged_and_merged(webhook_examples: dict[str, Any]) -> None:
    closed = _ours(example(webhook_examples, "pull_request", "closed"))
    closed["pull_request"]["merged"] = False
    event = normalise("pull_request", closed)
    assert event.kind is EventKind.PR_CLOSED and event.pr_branch == "fluxbot/app"
    assert [j.kind for j in jobs_for(event, BOT)] == [JobKind.CLOSED]
    # no merged close among the examples: derive it by patching
    merged = copy.deepcopy(closed)
    merged["pull_request"]["merged"] = True
    merged["pull_request"]["merge_commit_sha"] = "a" * 40
    event = normalise("pull_request", merged)
    assert event.kind is EventKind.PR_MERGED and event.merge_sha == "a" * 40
    assert [j.kind for j in jobs_for(event, BOT)] == [JobKind.RECONCILE, JobKind.UPDATE]


def test_fork_branch_named_like_ours_is_not_ours(webhook_examples: dict[str, Any]) -> None:
    closed = _ours(example(webhook_examples, "pull_request", "closed"))
    closed["pull_request"]["merged"] = False
    closed["pull_request"]["head"]["repo"]["full_name"] = "mallory/fork"
    event = normalise("pull_request", closed)
    assert event.pr_branch == "mallory:fluxbot/app"
    assert jobs_for(event, BOT) == []


def test_own_events_are_ignored_but_own_merge_is_not(webhook_examples: dict[str, Any]) -> None:
    edited = _ours(example(webhook_examples, "pull_request", "opened"))
    edited["action"] = "edited"  # no "edited" example: derived
    edited["sender"]["login"], edited["sender"]["type"] = BOT, "Bot"
    own = normalise("pull_request", edited)
    assert own.kind is EventKind.PR_EDITED and jobs_for(own, BOT) == []  # dispatch decides
    edited["sender"]["login"] = "alice"
    event = normalise("pull_request", edited)
    assert event.kind is EventKind.PR_EDITED and jobs_for(event, BOT)[0].kind is JobKind.UPDATE
    merged = _ours(example(webhook_examples, "pull_request", "closed"))
    merged["pull_request"]["merged"] = True
    merged["sender"]["login"] = BOT
    own_merge = normalise("pull_request", merged)
    assert own_merge.kind is EventKind.PR_MERGED
    assert [j.kind for j in jobs_for(own_merge, BOT)] == [JobKind.RECONCILE, JobKind.UPDATE]


def test_comment_on_a_pr(webhook_examples: dict[str, Any]) -> None:
    payload = example(webhook_examples, "issue_comment", "created")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    payload["comment"]["body"] = "@fluxbot rebase"
    event = normalise("issue_comment", payload)
    assert event.kind is EventKind.COMMENT
    assert event.comment_id == payload["comment"]["id"]
    assert event.comment_body == "@fluxbot rebase" and event.pr_number == payload["issue"]["number"]
    assert event.actor == payload["comment"]["user"]["login"]
    payload["comment"]["user"]["type"] = "Bot"
    assert normalise("issue_comment", payload).actor_is_bot
    del payload["issue"]["pull_request"]
    assert normalise("issue_comment", payload).kind is EventKind.IGNORED  # an issue, not a PR
    edited = example(webhook_examples, "issue_comment", "edited")
    assert normalise("issue_comment", edited).kind is EventKind.IGNORED


def test_installation_events(webhook_examples: dict[str, Any]) -> None:
    created = example(webhook_examples, "installation", "created")
    event = normalise("installation", created)
    names = tuple(r["full_name"] for r in created["repositories"])
    assert event.kind is EventKind.INSTALLATION and event.repos == names
    assert event.installation_id == created["installation"]["id"]
    assert [j.repo for j in jobs_for(event, BOT)] == list(names)
    added = example(webhook_examples, "installation_repositories", "added")
    event = normalise("installation_repositories", added)
    assert event.repos == tuple(r["full_name"] for r in added["repositories_added"])
    removed = example(webhook_examples, "installation_repositories", "removed")
    assert normalise("installation_repositories", removed).kind is EventKind.IGNORED
    deleted = example(webhook_examples, "installation", "deleted")
    assert normalise("installation", deleted).kind is EventKind.IGNORED


def test_garbage_never_raises() -> None:
    for payload in ({}, {"pull_request": "x"}, {"repository": []}, {"commits": [1, None]}):
        for name in ("push", "pull_request", "issue_comment", "installation", "star"):
            normalise(name, payload)
    assert label("pull_request", {"action": "opened"}) == "pull_request.opened"
    assert label("push", {}) == "push"
