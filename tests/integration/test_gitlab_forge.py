"""GitLabForge (python-gitlab, real HTTP) against the stateful fake GitLab on loopback.

Every request is checked by the fake against GitLab's documented parameters; the ``gitlab``
fixture fails the test on any departure.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from bot.adapters.gitlab.forge import GitLabForge, open_forge
from bot.app.settings import Settings
from bot.core.errors import ConfigError, ForgeError
from bot.core.model import PRState
from bot.ports import Reaction, StatusState
from tests.support.gitlab_fake import FakeGitLab

Opener = Callable[[str], AbstractAsyncContextManager[GitLabForge]]
REPO = "group/sub/app"
FILES = {
    "apps/app.yaml": 'image: ghcr.io/o/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\r\n',
    "apps/nested/db.yml": "image: db:5\n",
    "README.md": "# not yaml\n",
}


@pytest.fixture
def project(gitlab: FakeGitLab) -> str:
    gitlab.add_project(REPO, FILES, default_branch="trunk")
    return REPO


async def test_repository_reads(gitlab: FakeGitLab, project: str, gitlab_forge: Opener) -> None:
    async with gitlab_forge(project) as forge:
        assert forge.kind == "gitlab" and forge.repo == REPO
        assert await forge.default_branch() == "trunk"
        base = await forge.branch_sha("trunk")
        assert base == gitlab.projects[REPO].branches["trunk"]
        assert await forge.branch_sha("fluxbot/none") is None
        tree = await forge.read_tree(base)
        assert tree == {k: v for k, v in FILES.items() if k.endswith((".yaml", ".yml"))}
        assert set(await forge.read_tree("trunk", lambda p: True)) == set(FILES)
    # the project path travels URL-encoded, as GitLab requires
    assert all(c.path.startswith(f"/projects/{REPO}") for c in gitlab.calls("GET", "/projects/"))


async def test_tree_from_one_archive_or_paginated_files(
    gitlab: FakeGitLab, gitlab_forge: Opener
) -> None:
    many = {f"apps/f{i:03}.yaml": f"n: {i}\n" for i in range(250)}
    many["apps/binary.yaml"] = "\udcff\udcfe not utf-8"
    gitlab.add_project("g/big", many)
    text = {k: v for k, v in many.items() if k != "apps/binary.yaml"}
    async with gitlab_forge("g/big") as forge:
        assert await forge.read_tree("main") == text
        assert gitlab.archive_requests == 1
        assert gitlab.calls("GET", "/repository/(tree|files)") == []  # one request in all
    # archives are limited to 5/min on gitlab.com: a 429 falls back at once, without waiting
    gitlab.fail_next("GET", r"/repository/archive", 429, {"Retry-After": "30"})
    async with gitlab_forge("g/big") as forge:
        started = time.monotonic()
        assert await forge.read_tree("main") == text
        assert time.monotonic() - started < 10
        assert len(gitlab.calls("GET", "/repository/tree$")) == 3  # 100 per page
        assert len(gitlab.calls("GET", "/repository/files/")) == 251
        await forge.read_tree("main")  # this forge does not try the archive again
    assert len(gitlab.calls("GET", "/repository/archive")) == 2  # one per forge


async def test_ensure_branch_one_commit_then_idempotent_then_forced(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    async with gitlab_forge(project) as forge:
        base = await forge.branch_sha("trunk")
        assert base
        files = {
            "apps/app.yaml": FILES["apps/app.yaml"].replace("1.0.0", "1.1.0"),
            "apps/nested/db.yml": "image: db:6\n",
            "apps/new.yaml": "created: true\n",
        }
        sha = await forge.ensure_branch("fluxbot/app", base, files, "Update app\n\nbody")
        [create] = gitlab.calls("POST", "/repository/commits$")
        assert create.body["start_sha"] == base and "force" not in create.body
        assert create.body["branch"] == "fluxbot/app"
        assert [(a["action"], a["file_path"]) for a in create.body["actions"]] == [
            ("update", "apps/app.yaml"),
            ("update", "apps/nested/db.yml"),
            ("create", "apps/new.yaml"),
        ]
        commit = gitlab.projects[REPO].commits[sha]
        assert commit.parent_ids == [base] and commit.message == "Update app\n\nbody"
        assert (
            gitlab.file(REPO, "fluxbot/app", "apps/app.yaml") == files["apps/app.yaml"]
        )  # CRLF kept
        # same base, same contents: no new commit
        assert await forge.ensure_branch("fluxbot/app", base, files, "Update app") == sha
        assert len(gitlab.calls("POST", "/repository/commits$")) == 1
        # a newer version: the branch is recomputed as one fresh commit on the base (force)
        newer = {"apps/app.yaml": FILES["apps/app.yaml"].replace("1.0.0", "1.2.0")}
        sha2 = await forge.ensure_branch("fluxbot/app", base, newer, "Update app")
        assert sha2 != sha
        assert gitlab.calls("POST", "/repository/commits$")[-1].body["force"] is True
        assert gitlab.projects[REPO].commits[sha2].parent_ids == [base]
        assert gitlab.file(REPO, "fluxbot/app", "apps/new.yaml") is None  # recomputed, not merged
        # the base moved: recompute on the new base
        moved = gitlab.push(REPO, "trunk", {"README.md": "changed\n"})
        sha3 = await forge.ensure_branch("fluxbot/app", moved, newer, "Update app")
        assert gitlab.projects[REPO].commits[sha3].parent_ids == [moved]
        await forge.delete_branch("fluxbot/app")
        await forge.delete_branch("fluxbot/app")
        assert await forge.branch_sha("fluxbot/app") is None


async def test_refuses_to_force_a_human_branch(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    gitlab.projects[REPO].branches["feature"] = gitlab.projects[REPO].branches["trunk"]
    gitlab.push(REPO, "feature", {"x.yaml": "a: 1\n"})
    async with gitlab_forge(project) as forge:
        base = await forge.branch_sha("trunk")
        assert base
        with pytest.raises(ForgeError, match="not a fluxbot branch"):
            await forge.ensure_branch("feature", base, {"x.yaml": "a: 2\n"}, "m")


async def test_merge_request_lifecycle(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    gitlab.set_member(REPO, "alice", 40)
    async with gitlab_forge(project) as forge:
        base = await forge.branch_sha("trunk")
        assert base
        await forge.ensure_branch("fluxbot/app", base, {"apps/app.yaml": "x: 1\n"}, "m")
        body = "Update\n\n<!-- fluxbot: {} -->"
        pr, created = await forge.ensure_pr(
            "fluxbot/app", "trunk", "Update app", body, ["deps", "flux"], ["alice", "nobody"]
        )
        assert created and pr.number == 1 and pr.state is PRState.OPEN
        assert (pr.branch, pr.base, pr.body, pr.labels) == (
            "fluxbot/app",
            "trunk",
            body,
            ("deps", "flux"),
        )
        assert pr.head_sha == gitlab.projects[REPO].branches["fluxbot/app"]
        [create] = gitlab.calls("POST", "/merge_requests$")
        assert create.body["remove_source_branch"] is True
        assert create.body["labels"] == "deps,flux"
        assert create.body["reviewer_ids"] == [gitlab.users["alice"]]  # unknown user skipped
        assert "assignee_ids" not in create.body
        # same again: nothing written
        again, created2 = await forge.ensure_pr(
            "fluxbot/app", "trunk", "Update app", body, ["deps"]
        )
        assert not created2 and again.number == 1
        assert gitlab.calls("PUT", "/merge_requests/1$") == []
        # a human label is kept when fluxbot updates title/body
        gitlab.projects[REPO].mrs[1]["labels"].append("keep-me")
        upd, _ = await forge.ensure_pr(
            "fluxbot/app", "trunk", "Update app to 2", "new body", ["deps"]
        )
        assert upd.title == "Update app to 2" and upd.body == "new body"
        assert set(upd.labels) == {"deps", "flux", "keep-me"}
        await forge.update_pr_body(1, "marker body")
        assert (await forge.get_pr(1)).body == "marker body"
        # close with a note; closing twice is a no-op
        await forge.close_pr(1, "no longer needed")
        await forge.close_pr(1, "no longer needed")
        assert [n["body"] for n in gitlab.notes(REPO, 1)] == ["no longer needed"]
        assert (await forge.get_pr(1)).state is PRState.CLOSED
        # closed-unmerged stays visible as CLOSED; a new MR gets a new number
        await forge.ensure_pr("fluxbot/app", "trunk", "Again", "b", assignees=["alice", "ghost"])
        assert gitlab.calls("POST", "/merge_requests$")[-1].body["assignee_ids"] == [
            gitlab.users["alice"]
        ]
        prs = await forge.list_prs()
        assert [(p.number, p.state) for p in prs] == [(2, PRState.OPEN), (1, PRState.CLOSED)]
        merge = gitlab.merge_mr(REPO, 2)
        merged = await forge.get_pr(2)
        assert merged.state is PRState.MERGED and merged.merge_sha == merge
        assert await forge.branch_sha("fluxbot/app") is None  # remove_source_branch honoured


async def test_list_prs_only_fluxbot_branches(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    p = gitlab.projects[REPO]
    p.branches["feature"] = p.branches["trunk"]
    gitlab.push(REPO, "feature", {"a.yaml": "a: 1\n"})
    async with gitlab_forge(project) as forge:
        await forge.ensure_pr("feature", "trunk", "Human MR", "")
        assert await forge.list_prs() == []


async def test_old_closed_fluxbot_mrs_beyond_the_listing_cap_still_count(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.adapters.gitlab.forge.MAX_MR_PAGES", 1)  # newest 100 MRs listed
    gitlab.branch(REPO, "fluxbot/old")
    old = gitlab.open_mr(REPO, "fluxbot/old", title="old update")
    gitlab.close_mr(REPO, old)  # closed unmerged: an ignore; GitLab keeps its branch
    gitlab.branch(REPO, "fluxbot/gone")
    gone = gitlab.open_mr(REPO, "fluxbot/gone")
    gitlab.merge_mr(REPO, gone)  # merged and its branch removed: not an ignore, not found
    for i in range(100):
        gitlab.branch(REPO, f"feature-{i}")
        gitlab.open_mr(REPO, f"feature-{i}", author="alice")
    gitlab.branch(REPO, "fluxbot/new")
    new = gitlab.open_mr(REPO, "fluxbot/new")
    async with gitlab_forge(project) as forge:
        prs = await forge.list_prs()
    assert [(p.number, p.state) for p in prs] == [(new, PRState.OPEN), (old, PRState.CLOSED)]
    listed = [c for c in gitlab.calls("GET", "/merge_requests$") if "source_branch" not in c.query]
    assert len(listed) == 1  # one page, not all 103 MRs
    [branches] = gitlab.calls("GET", "/repository/branches$")
    assert branches.query["search"] == "^fluxbot/"


async def test_concurrent_create_race_converges(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    async with gitlab_forge(project) as forge:
        base = await forge.branch_sha("trunk")
        assert base
        await forge.ensure_branch("fluxbot/app", base, {"apps/app.yaml": "x: 1\n"}, "m")
        results = await asyncio.gather(
            *(forge.ensure_pr("fluxbot/app", "trunk", "T", "B") for _ in range(4))
        )
    assert {pr.number for pr, _ in results} == {1}
    assert sum(created for _, created in results) == 1
    assert len(gitlab.mrs(REPO)) == 1


async def test_notes_emoji_members_statuses(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    gitlab.set_member(REPO, "dev", 30)
    gitlab.set_member(REPO, "reporter", 20)
    gitlab.set_member(REPO, "devops", 40, state="blocked")
    gitlab.set_member(REPO, "developer2", 30)
    async with gitlab_forge(project) as forge:
        base = await forge.branch_sha("trunk")
        assert base
        await forge.ensure_branch("fluxbot/app", base, {"apps/app.yaml": "x: 1\n"}, "m")
        pr, _ = await forge.ensure_pr("fluxbot/app", "trunk", "T", "B")
        marker = "<!-- fluxbot:diff -->"
        human = gitlab.add_note(REPO, pr.number, f"quoting {marker}", author="dev")
        await forge.ensure_comment(pr.number, marker, f"{marker}\nfirst")
        await forge.ensure_comment(pr.number, marker, f"{marker}\nsecond")
        await forge.ensure_comment(pr.number, marker, f"{marker}\nsecond")
        bodies = [n["body"] for n in gitlab.notes(REPO, pr.number)]
        assert bodies == [f"quoting {marker}", f"{marker}\nsecond"]  # the human's note untouched
        await forge.comment(pr.number, "plain")
        await forge.react(pr.number, human, Reaction.EYES)
        await forge.react(pr.number, human, Reaction.EYES)
        await forge.react(pr.number, human, Reaction.ROCKET)
        assert gitlab.emoji(REPO, pr.number, human) == ["eyes", "rocket"]
        assert await forge.can_write("dev") is True
        assert await forge.can_write("DEV") is True
        assert await forge.can_write("reporter") is False
        assert await forge.can_write("devops") is False  # blocked
        assert await forge.can_write("stranger") is False
        sha = pr.head_sha
        await forge.set_status(sha, "fluxbot/diff", StatusState.PENDING, "rendering")
        await forge.set_status(sha, "fluxbot/diff", StatusState.SUCCESS, "x" * 400, "http://ci/1")
        await forge.set_status(sha, "fluxbot/diff", StatusState.SUCCESS, "again")  # no-op
        await forge.set_status(sha, "flux/apps", StatusState.FAILURE, "reconcile failed")
        long_url = "http://ci/" + "x" * 300  # over GitLab's 255: the status goes without it
        await forge.set_status(sha, "flux/long", StatusState.PENDING, "long url", long_url)
        assert await forge.commit_statuses(sha) == {
            "fluxbot/diff": StatusState.SUCCESS,
            "flux/apps": StatusState.FAILURE,
            "flux/long": StatusState.PENDING,
        }
        posted = gitlab.statuses(REPO, sha)
        assert [s["status"] for s in posted] == ["pending", "success", "failed", "pending"]
        assert posted[3]["target_url"] is None
        assert len(posted[1]["description"]) == 255 and posted[1]["target_url"] == "http://ci/1"


async def test_rate_limit_retry_after_is_honoured(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    gitlab.fail_next("GET", r"/repository/branches/", 429, {"Retry-After": "1"})
    async with gitlab_forge(project) as forge:
        started = time.monotonic()
        assert await forge.branch_sha("trunk")
        assert time.monotonic() - started >= 1.0
    assert len(gitlab.calls("GET", r"/repository/branches/trunk$")) == 2


async def test_rate_limit_retry_after_as_an_http_date(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    # RFC 9110 allows an HTTP-date; python-gitlab alone would crash on int() of it
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    gitlab.fail_next("GET", r"/repository/branches/", 429, {"Retry-After": when})
    async with gitlab_forge(project) as forge:
        started = time.monotonic()
        assert await forge.branch_sha("trunk")
        assert time.monotonic() - started >= 0.9  # the date is whole seconds: >= 1 s ahead
    assert len(gitlab.calls("GET", r"/repository/branches/trunk$")) == 2


async def test_rate_limit_too_long_fails_fast_and_transient_errors_retry(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    gitlab.fail_next("GET", r"/repository/branches/", 429, {"Retry-After": "3600"})
    async with gitlab_forge(project) as forge:
        started = time.monotonic()
        with pytest.raises(ForgeError, match="retry after 3600s"):
            await forge.branch_sha("trunk")
        assert time.monotonic() - started < 5
        gitlab.fail_next("GET", r"/repository/branches/", 502)
        gitlab.fail_next("GET", r"/repository/branches/", 503)
        assert await forge.branch_sha("trunk")


async def test_ratelimit_remaining_zero_waits_for_reset(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    async with gitlab_forge(project) as forge:
        reset = int(time.time()) + 3
        gitlab.rate_headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
        await forge.default_branch()
        gitlab.rate_headers = {}
        expected = reset - time.time()
        assert expected > 0.5  # else the machine was too slow for this test to mean anything
        started = time.monotonic()
        await forge.branch_sha("trunk")
        assert time.monotonic() - started >= expected - 0.1  # waited for the reset first


async def test_errors_name_the_operation_never_the_token(gitlab: FakeGitLab, project: str) -> None:
    bad = Settings(gitlab_url=gitlab.url, gitlab_token="glpat-wrong-secret")
    async with open_forge(project, bad) as forge:
        with pytest.raises(ForgeError) as info:
            await forge.branch_sha("trunk")
    assert "401" in str(info.value) and "glpat" not in str(info.value)
    assert "glpat" not in repr(forge)
    with pytest.raises(ConfigError, match="FLUXBOT_GITLAB_TOKEN"):
        async with open_forge(project, Settings()):
            pass
    good = Settings(gitlab_url=gitlab.url, gitlab_token=gitlab.token)
    async with open_forge("group/missing", good) as forge:
        with pytest.raises(ForgeError, match="404"):
            await forge.default_branch()


async def test_factory_opens_gitlab(
    gitlab: FakeGitLab, project: str, gitlab_settings: Settings
) -> None:
    from bot.app.forges import open_forge as factory_open

    async with factory_open("gitlab", project, gitlab_settings) as forge:
        assert forge.kind == "gitlab"
        assert await forge.default_branch() == "trunk"
