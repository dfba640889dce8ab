"""GitHubForge against the fake GitHub (every request checked against GitHub's OpenAPI)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from bot.adapters.github.forge import GitHubForge, blob_sha, open_forge
from bot.app.settings import Settings
from bot.core.errors import ConfigError, ForgeError
from bot.core.model import PRState
from bot.ports import Reaction, StatusState

APP = "apps/app.yaml"
FILES = {APP: "image: ghcr.io/o/app:1.0.0\n", "README.md": "hi\n", "apps/other.yml": "a: 1\n"}


@pytest.fixture
def repo(github_fake: Any) -> str:
    github_fake.create_repo("o/r", FILES)
    return "o/r"


def write_count(fake: Any) -> int:
    return sum(1 for method, _path, _status in fake.requests if method != "GET")


async def test_read_tree_and_branches(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        assert await forge.default_branch() == "main"
        main = await forge.branch_sha("main")
        assert main == github_fake.branch_sha(repo, "main")
        assert await forge.branch_sha("fluxbot/nope") is None
        assert main
        tree = await forge.read_tree(main)
        assert tree == {APP: FILES[APP], "apps/other.yml": FILES["apps/other.yml"]}
        assert await forge.read_tree("main", lambda p: p == "README.md") == {"README.md": "hi\n"}


async def test_read_tree_truncated_walks_subtrees(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    github_fake.push(repo, {"deep/a/b/c.yaml": "c: 1\n"})
    github_fake.tree_limit = 1
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        tree = await forge.read_tree("main")
    assert set(tree) == {APP, "apps/other.yml", "deep/a/b/c.yaml"}


async def test_ensure_branch_is_one_atomic_commit_and_idempotent(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    new = {APP: "image: ghcr.io/o/app:1.1.0\n", "apps/other.yml": "a: 2\n"}
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        base = await forge.branch_sha("main")
        assert base
        sha = await forge.ensure_branch("fluxbot/app", base, new, "Update app")
        files = github_fake.files(repo, "fluxbot/app")
        assert files[APP] == new[APP] and files["apps/other.yml"] == "a: 2\n"
        assert files["README.md"] == "hi\n"
        assert github_fake.repos[repo].commits[sha].parents == [base]
        writes = write_count(github_fake)
        assert await forge.ensure_branch("fluxbot/app", base, new, "Update app") == sha
        assert write_count(github_fake) == writes  # already exactly that: no new commit
        # the base moved: recompute on the new base and force-move the ref
        base2 = github_fake.push(repo, {APP: "image: ghcr.io/o/app:1.0.1\n"})
        sha2 = await forge.ensure_branch("fluxbot/app", base2, new, "Update app")
        assert sha2 != sha
        assert github_fake.repos[repo].commits[sha2].parents == [base2]
        assert github_fake.branch_sha(repo, "fluxbot/app") == sha2
        # a path whose text equals the base's: still converges to no new commit
        same = {**new, "README.md": "hi\n"}
        sha3 = await forge.ensure_branch("fluxbot/app", base2, same, "Update app")
        assert await forge.ensure_branch("fluxbot/app", base2, same, "Update app") == sha3
        # the file mode of an existing path is kept
        repo_state = github_fake.repos[repo]
        flat = repo_state.trees[repo_state.commits[base2].tree]
        flat["apps/other.yml"] = ("100755", flat["apps/other.yml"][1])
        exec_base = repo_state.put_commit(repo_state.put_tree(flat), [base2], "chmod", "alice")
        repo_state.refs["heads/main"] = exec_base
        sha4 = await forge.ensure_branch("fluxbot/app", exec_base, new, "Update app")
        modes = repo_state.trees[repo_state.commits[sha4].tree]
        assert modes["apps/other.yml"][0] == "100755" and modes[APP][0] == "100644"
        await forge.delete_branch("fluxbot/app")
        await forge.delete_branch("fluxbot/app")  # missing: not an error
        assert github_fake.branch_sha(repo, "fluxbot/app") is None


async def test_pr_lifecycle(github_fake: Any, github_settings: Settings, repo: str) -> None:
    github_fake.add_collaborator(repo, "alice", "write")
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        base = await forge.branch_sha("main")
        assert base
        await forge.ensure_branch("fluxbot/app", base, {APP: "x: 2\n"}, "m")
        pr, created = await forge.ensure_pr(
            "fluxbot/app", "main", "Update app", "body", labels=["deps"], reviewers=["alice", "bob"]
        )
        assert created and pr.state is PRState.OPEN and pr.labels == ("deps",)
        raw = github_fake.pulls(repo)
        # bob is no collaborator: GitHub refuses him, the PR stands with alice requested
        assert len(raw) == 1 and raw[0]["requested_reviewers"] == []
        again, created2 = await forge.ensure_pr(
            "fluxbot/app", "main", "Update app", "body", ["deps"]
        )
        assert not created2 and again.number == pr.number
        upd, _ = await forge.ensure_pr(
            "fluxbot/app", "main", "Update app to 3", "b2", ["deps", "x"]
        )
        assert upd.title == "Update app to 3" and upd.body == "b2" and upd.labels == ("deps", "x")
        assert len(github_fake.pulls(repo)) == 1
        listed = await forge.list_prs()
        assert [p.number for p in listed] == [pr.number]
        await forge.update_pr_body(pr.number, "new body")
        assert (await forge.get_pr(pr.number)).body == "new body"
        await forge.close_pr(pr.number, "no longer needed")
        await forge.close_pr(pr.number, "no longer needed")  # closed already: nothing more
        closed = await forge.get_pr(pr.number)
        assert closed.state is PRState.CLOSED
        assert [c.body for c in github_fake.comments(repo, pr.number)] == ["no longer needed"]
        # after a close, a new PR for the same branch is a new number
        pr2, created3 = await forge.ensure_pr("fluxbot/app", "main", "t", "b", reviewers=["alice"])
        assert created3 and pr2.number != pr.number
        assert [r["login"] for r in github_fake.pulls(repo)[1]["requested_reviewers"]] == ["alice"]
        github_fake.merge_pull(repo, pr2.number)
        merged = await forge.get_pr(pr2.number)
        assert merged.state is PRState.MERGED and merged.merge_sha


async def test_list_prs_only_fluxbot_branches_all_pages(
    github_fake: Any, github_settings: Settings, repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        base = await forge.branch_sha("main")
        assert base
        for i in range(3):
            await forge.ensure_branch(f"fluxbot/g{i}", base, {APP: f"v: {i}\n"}, "m")
            await forge.ensure_pr(f"fluxbot/g{i}", "main", f"t{i}", "b")
        github_fake.push(repo, {"x.txt": "1"}, branch="feature")
        await forge.ensure_pr("feature", "main", "human", "b")
        monkeypatch.setattr(forge, "_path", forge._path)  # same repo; paginate by 2 below
        items = await forge._paged("/pulls?state=all&sort=created&direction=desc&per_page=2")
        assert len(items) == 4  # followed the Link header
        assert [p.branch for p in await forge.list_prs()] == [
            "fluxbot/g2",
            "fluxbot/g1",
            "fluxbot/g0",
        ]


async def test_comments_reactions_permissions_statuses(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    github_fake.add_collaborator(repo, "alice", "admin")
    github_fake.add_collaborator(repo, "mallory", "read")
    github_fake.add_collaborator(repo, "maint", "maintain")
    marker = "<!-- fluxbot:diff -->"
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        base = await forge.branch_sha("main")
        assert base
        await forge.ensure_branch("fluxbot/app", base, {APP: "x: 2\n"}, "m")
        pr, _ = await forge.ensure_pr("fluxbot/app", "main", "t", "b")
        user_comment = github_fake.add_comment(repo, pr.number, f"{marker} quoted", "alice")
        await forge.ensure_comment(pr.number, marker, f"{marker}\none")
        await forge.ensure_comment(pr.number, marker, f"{marker}\ntwo")
        await forge.ensure_comment(pr.number, marker, f"{marker}\ntwo")
        bodies = [c.body for c in github_fake.comments(repo, pr.number)]
        assert bodies == [f"{marker} quoted", f"{marker}\ntwo"]
        await forge.react(pr.number, user_comment, Reaction.EYES)
        await forge.react(pr.number, user_comment, Reaction.EYES)
        await forge.react(pr.number, user_comment, Reaction.ROCKET)
        assert github_fake.reactions(repo, user_comment) == ["eyes", "rocket"]
        assert await forge.can_write("alice") and await forge.can_write("maint")
        assert not await forge.can_write("mallory") and not await forge.can_write("stranger")
        sha = github_fake.branch_sha(repo, "fluxbot/app")
        await forge.set_status(
            sha, "fluxbot/rollout", StatusState.PENDING, "x" * 300, "https://e/x"
        )
        await forge.set_status(sha, "fluxbot/rollout", StatusState.SUCCESS, "done")
        await forge.set_status(sha, "other", StatusState.FAILURE, "bad")
        assert await forge.commit_statuses(sha) == {
            "fluxbot/rollout": StatusState.SUCCESS,
            "other": StatusState.FAILURE,
        }
        assert github_fake.statuses(repo, sha)["fluxbot/rollout"] == "success"


async def test_rate_limits_are_waited_out(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    github_fake.fail_next(429, {"Retry-After": "0"}, "slow down", method="GET")
    github_fake.fail_next(
        403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}, "API rate limit exceeded"
    )
    github_fake.fail_next(403, {}, "You have exceeded a secondary rate limit")
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with open_forge(repo, github_settings, write_interval=0) as forge:
        forge.gh.sleep = fake_sleep  # type: ignore[method-assign]
        assert await forge.default_branch() == "main"
    assert sleeps == [0.0, 1.0, 60.0]
    assert [s for _m, _p, s in github_fake.requests] == [429, 403, 403, 200]


async def test_rate_limit_beyond_max_wait_fails_cleanly(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    github_fake.fail_next(429, {"Retry-After": "3600"}, "slow down", times=5)
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        with pytest.raises(ForgeError, match="HTTP 429"):
            await forge.default_branch()


async def test_transient_5xx_on_reads_is_retried(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    github_fake.fail_next(502, {}, "bad gateway", method="GET")
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        assert await forge.default_branch() == "main"


async def test_conditional_requests_save_quota(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    for _ in range(2):
        async with open_forge(repo, github_settings, write_interval=0) as forge:
            await forge.list_prs()
    pulls = [s for _m, p, s in github_fake.requests if p == "/repos/o/r/pulls"]
    assert pulls == [200, 304]


async def test_writes_are_paced(github_fake: Any, github_settings: Settings, repo: str) -> None:
    async with open_forge(repo, github_settings, write_interval=0.2) as forge:
        base = await forge.branch_sha("main")
        assert base
        start = time.monotonic()
        await forge.ensure_branch("fluxbot/p", base, {APP: "p: 1\n"}, "m")  # tree, commit, ref
        elapsed = time.monotonic() - start
    assert elapsed >= 0.4


async def test_dry_run_writes_nothing(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    async with open_forge(repo, replace(github_settings, dry_run=True), write_interval=0) as forge:
        base = await forge.branch_sha("main")
        assert base
        await forge.ensure_branch("fluxbot/d", base, {APP: "d: 1\n"}, "m")
        await forge.ensure_pr("fluxbot/d", "main", "t", "b")
    assert write_count(github_fake) == 0


async def test_app_installation_token(github_fake: Any, repo: str) -> None:
    from bot.adapters.github.auth import TokenCache

    github_fake.add_installation(77, [repo])
    settings = Settings(
        github_api_url=github_fake.url,
        github_app_id=github_fake.app_id,
        github_private_key=github_fake.private_key,
    )
    tokens = TokenCache()
    async with open_forge(repo, settings, tokens=tokens, write_interval=0) as forge:
        assert await forge.default_branch() == "main"
    async with open_forge(repo, settings, installation_id=77, tokens=tokens) as forge:
        assert await forge.default_branch() == "main"
    minted = [p for m, p, _s in github_fake.requests if m == "POST"]
    assert minted == ["/app/installations/77/access_tokens"]  # cached for the second job
    github_fake.create_repo("x/other")
    with pytest.raises(ForgeError, match="not installed"):
        async with open_forge("x/other", settings, tokens=tokens):
            pass


def test_blob_sha_is_gits() -> None:
    assert blob_sha("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert blob_sha("hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


async def test_no_credentials_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        async with open_forge("o/r", Settings()):
            pass
    assert GitHubForge.kind == "github"


async def test_invalid_request_is_caught_by_the_openapi_check(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        with pytest.raises(ForgeError, match="HTTP 400"):
            await forge._write("POST", "/pulls", {"title": "no head nor base"})
    assert github_fake.invalid and "head" in github_fake.invalid[0]
    github_fake.invalid.clear()  # expected here; any other test would fail at teardown


async def test_many_files_are_read_from_one_tarball(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    many = {f"apps/a{i:03}.yaml": f"name: a{i}\n" for i in range(120)}
    github_fake.push(repo, {**many, "bin/tool": "not yaml\n", "odd/cr.yaml": "a: 1\r\n"})
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        tree = await forge.read_tree("main")
    assert tree == {**many, APP: FILES[APP], "apps/other.yml": "a: 1\n", "odd/cr.yaml": "a: 1\r\n"}
    assert github_fake.archives == 1
    assert not [p for _m, p, _s in github_fake.requests if "/git/blobs/" in p]


async def test_a_failed_tarball_falls_back_to_blobs(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    many = {f"apps/b{i:03}.yaml": f"name: b{i}\n" for i in range(60)}
    github_fake.push(repo, many)
    github_fake.fail_next(502, {}, "archive unavailable", path_contains="/tarball/")
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        tree = await forge.read_tree("main")
    assert {p: tree[p] for p in many} == many
    assert github_fake.archives == 0
    blobs = [p for _m, p, _s in github_fake.requests if "/git/blobs/" in p]
    assert len(blobs) >= len(many)  # (blobs seen by earlier tests come from the sha cache)


async def test_closed_prs_older_than_the_listing_cap_still_count(
    github_fake: Any, github_settings: Settings, repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the newest MAX_PR_PAGES pages, a closed fluxbot PR (an ignore) is found by its
    branch; one whose branch is gone and never reused is the documented limit."""
    from bot.adapters.github import forge as github_module
    from tests.support.github_fake_state import Pull

    monkeypatch.setattr(github_module, "MAX_PR_PAGES", 1)  # a cap of 100 PRs
    state = github_fake.repos[repo]
    main = state.refs["heads/main"]

    def pull(head: str, user: str = "fluxbot[bot]", closed: bool = False) -> int:
        number = state.next_number
        state.next_number += 1
        state.pulls[number] = Pull(number, head, "main", head, f"body {head}", user)
        if closed:
            state.pulls[number].state = "closed"
        return number

    state.refs["heads/fluxbot/old"] = main
    old = pull("fluxbot/old", closed=True)  # rejected by a human: branch kept
    pull("fluxbot/gone", closed=True)  # branch deleted since: not found
    for i in range(100):
        state.refs[f"heads/feature-{i}"] = main
        pull(f"feature-{i}", user="alice")
    state.refs["heads/fluxbot/new"] = main
    new = pull("fluxbot/new")
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        listed = await forge.list_prs()
    assert [(p.number, p.branch, p.state) for p in listed] == [
        (new, "fluxbot/new", PRState.OPEN),
        (old, "fluxbot/old", PRState.CLOSED),
    ]


async def test_a_revoked_installation_token_is_replaced_by_the_next_job(
    github_fake: Any, repo: str
) -> None:
    from bot.adapters.github.auth import TokenCache

    github_fake.add_installation(78, [repo])
    settings = Settings(
        github_api_url=github_fake.url,
        github_app_id=github_fake.app_id,
        github_private_key=github_fake.private_key,
    )
    tokens = TokenCache()
    async with open_forge(repo, settings, installation_id=78, tokens=tokens) as forge:
        assert await forge.default_branch() == "main"
    with github_fake.lock:  # GitHub revokes it (App suspended and restored, ...)
        for token in [t for t, who in github_fake.tokens.items() if who.installation == 78]:
            del github_fake.tokens[token]
    async with open_forge(repo, settings, installation_id=78, tokens=tokens) as forge:
        with pytest.raises(ForgeError, match="HTTP 401"):
            await forge.default_branch()
    async with open_forge(repo, settings, installation_id=78, tokens=tokens) as forge:
        assert await forge.default_branch() == "main"  # a fresh token, not the cached one
    minted = [p for m, p, _s in github_fake.requests if m == "POST" and "access_tokens" in p]
    assert len(minted) == 2


async def test_an_exhausted_quota_is_waited_for_before_the_next_request(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with open_forge(repo, github_settings, write_interval=0) as forge:
        forge.gh.sleep = fake_sleep  # type: ignore[method-assign]
        github_fake.rate_remaining, github_fake.rate_reset_in = 0, 5  # the last request left
        assert await forge.branch_sha("main")
        github_fake.rate_remaining = None
        assert await forge.default_branch() == "main"  # waited for the reset, then sent
        assert len(sleeps) == 1 and 4 <= sleeps[0] <= 6.5
        assert await forge.read_tree("main")  # the window is new: no more waiting
    assert len(sleeps) == 1
