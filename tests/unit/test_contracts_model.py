"""The shared values: update (de)serialisation, the PR state marker, dispatch rules, settings."""

from __future__ import annotations

import pytest

from bot.app.settings import Settings
from bot.core.dispatch import JobKind, jobs_for, touches_manifests
from bot.core.events import Event, EventKind
from bot.core.markers import PRMarker, closed_ignores, replace_marker
from bot.core.model import Ignore, IgnoreScope, Update, UpdateGroup, slug

U = Update(path="apps/a.yaml", line=7, image="ghcr.io/o/app", old="1.0.0", new="1.2.0")


def test_update_round_trips_through_json() -> None:
    assert Update.from_json(U.to_json()) == U


def test_group_branch_and_slug() -> None:
    assert UpdateGroup(name=slug("ghcr.io/o/app"), updates=(U,)).branch == "fluxbot/ghcr.io-o-app"
    assert slug("a b/c:d") == "a-b-c-d"
    assert slug("///") == "update"


def test_marker_round_trip_and_replace() -> None:
    m = PRMarker(group="g", updates=(U,), ignores=(Ignore("x", IgnoreScope.MAJOR, "2.0.0"),))
    body = "Some text\n\n" + m.render()
    assert PRMarker.parse(body) == m
    m2 = m.with_ignores((Ignore("x", IgnoreScope.IMAGE),))
    new_body = replace_marker(body, m2)
    assert new_body.startswith("Some text")
    assert PRMarker.parse(new_body) == m2
    assert new_body.count("<!-- fluxbot:") == 1


def test_marker_cannot_be_broken_by_double_dash() -> None:
    m = PRMarker(group="a--b", updates=(U,))
    rendered = m.render()
    assert "--" not in rendered[5:-4]
    assert PRMarker.parse(rendered) == m


@pytest.mark.parametrize("body", [None, "", "no marker", "<!-- fluxbot: {not json} -->"])
def test_marker_parse_is_total(body: str | None) -> None:
    assert PRMarker.parse(body) is None


def test_closed_pr_implies_version_ignores() -> None:
    m = PRMarker(group="g", updates=(U,))
    assert closed_ignores(m) == (Ignore("ghcr.io/o/app", IgnoreScope.VERSION, "1.2.0"),)


def ev(kind: EventKind, **kw: object) -> Event:
    return Event(forge="github", kind=kind, repo="o/r", **kw)  # type: ignore[arg-type]


def test_dispatch_rules() -> None:
    bot = "fluxbot[bot]"
    push = ev(EventKind.PUSH, branch="main", default_branch="main", changed_paths=("a.yaml",))
    assert [j.kind for j in jobs_for(push, bot)] == [JobKind.UPDATE]
    other = ev(EventKind.PUSH, branch="dev", default_branch="main", changed_paths=("a.yaml",))
    assert jobs_for(other, bot) == []
    readme = ev(EventKind.PUSH, branch="main", default_branch="main", changed_paths=("README",))
    assert jobs_for(readme, bot) == []
    ours = ev(EventKind.PR_CLOSED, pr_branch="fluxbot/app", pr_number=3)
    assert [j.kind for j in jobs_for(ours, bot)] == [JobKind.CLOSED]
    theirs = ev(EventKind.PR_CLOSED, pr_branch="feature", pr_number=3)
    assert jobs_for(theirs, bot) == []
    merged = ev(EventKind.PR_MERGED, pr_number=3, actor=bot)
    assert JobKind.RECONCILE in [j.kind for j in jobs_for(merged, bot)]
    by_bot = ev(EventKind.COMMENT, actor="renovate[bot]", actor_is_bot=True)
    assert jobs_for(by_bot, bot) == []
    # fluxbot never pushes to the default branch: a push there under its login (a person
    # sharing its token) is planned, on GitHub as on GitLab
    self_push = ev(EventKind.PUSH, branch="main", default_branch="main", actor=bot)
    assert [j.kind for j in jobs_for(self_push, bot)] == [JobKind.UPDATE]
    own_pr = ev(EventKind.PR_OPENED, pr_branch="fluxbot/app", pr_number=4, actor=bot)
    assert [j.kind for j in jobs_for(own_pr, bot)] == [JobKind.PREVIEW]
    own_edit = ev(EventKind.PR_EDITED, pr_branch="fluxbot/app", pr_number=4, actor=bot)
    assert jobs_for(own_edit, bot) == []
    inst = ev(EventKind.INSTALLATION, repos=("o/a", "o/b"))
    assert [j.repo for j in jobs_for(inst, bot)] == ["o/a", "o/b"]
    assert touches_manifests((".fluxbot.yaml",))


def test_settings_from_env_hides_secrets(tmp_path: object) -> None:
    s = Settings.from_env(
        {
            "FLUXBOT_INSECURE_REGISTRIES": "127.0.0.1:5000, localhost:1 ,",
            "FLUXBOT_GITHUB_WEBHOOK_SECRET": "canary-secret",
            "FLUXBOT_GITHUB_API_URL": "http://127.0.0.1:9/",
        }
    )
    assert s.insecure_registries == ("127.0.0.1:5000", "localhost:1")
    assert s.github_api_url == "http://127.0.0.1:9"
    assert "canary-secret" not in repr(s)


def test_settings_kubeconfig_falls_back_to_the_standard_variable() -> None:
    assert Settings.from_env({"KUBECONFIG": "/k"}).kubeconfig == "/k"
    both = {"KUBECONFIG": "/k", "FLUXBOT_KUBECONFIG": "/f"}
    assert Settings.from_env(both).kubeconfig == "/f"
