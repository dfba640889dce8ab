"""LocalForge on a real git repository: branches by plumbing, PRs as files, idempotent ensures."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from bot.adapters.local.forge import LocalForge
from bot.app.forges import open_forge
from bot.app.settings import Settings
from bot.core.errors import ForgeError
from bot.core.model import PRState


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=30
    )
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "app.yaml").write_bytes(b"image: nginx:1.0 # keep\r\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / "README").write_text("not yaml\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    return root


async def test_read_tree_keeps_bytes_and_filters(repo: Path) -> None:
    async with LocalForge.open(repo) as forge:
        assert await forge.default_branch() == "main"
        tree = await forge.read_tree("main")
        assert tree == {"app.yaml": "image: nginx:1.0 # keep\r\n"}
        everything = await forge.read_tree("main", lambda p: True)
        assert set(everything) == {"app.yaml", "run.sh", "README"}


async def test_ensure_branch_is_idempotent_and_leaves_worktree(repo: Path) -> None:
    async with LocalForge.open(repo) as forge:
        base = await forge.branch_sha("main")
        assert base is not None
        files = {"app.yaml": "image: nginx:1.1 # keep\r\n", "run.sh": "#!/bin/sh\necho\n"}
        sha = await forge.ensure_branch("fluxbot/nginx", base, files, "Update nginx\n")
        assert await forge.ensure_branch("fluxbot/nginx", base, files, "Update nginx\n") == sha
        assert git(repo, "rev-list", "--count", "fluxbot/nginx") == "2"
        assert git(repo, "show", "fluxbot/nginx:app.yaml") == "image: nginx:1.1 # keep"
        # modes kept, working tree and checkout untouched
        assert "100755" in git(repo, "ls-tree", "fluxbot/nginx", "run.sh")
        assert (repo / "app.yaml").read_bytes() == b"image: nginx:1.0 # keep\r\n"
        assert git(repo, "status", "--porcelain") == ""
        assert git(repo, "log", "-1", "--format=%an", "fluxbot/nginx") == "fluxbot"
        # a newer version moves the same branch to a fresh single commit on the base
        sha2 = await forge.ensure_branch(
            "fluxbot/nginx", base, {"app.yaml": "image: nginx:1.2 # keep\r\n"}, "Update nginx\n"
        )
        assert sha2 != sha
        assert git(repo, "rev-parse", "fluxbot/nginx~1") == base
        await forge.delete_branch("fluxbot/nginx")
        await forge.delete_branch("fluxbot/nginx")
        assert await forge.branch_sha("fluxbot/nginx") is None


async def test_prs_as_files(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with LocalForge.open(repo, output=out) as forge:
        base = await forge.branch_sha("main")
        assert base is not None
        await forge.ensure_branch("fluxbot/a", base, {"app.yaml": "image: nginx:2\n"}, "m")
        pr, created = await forge.ensure_pr("fluxbot/a", "main", "T", "body", labels=["deps"])
        assert created and pr.number == 1 and pr.state is PRState.OPEN
        again, created2 = await forge.ensure_pr("fluxbot/a", "main", "T", "body", labels=["deps"])
        assert not created2 and again.number == 1
        assert (out / "fluxbot-a.md").read_text() == "# T\n\nbody\n"
        await forge.ensure_comment(1, "<!-- m -->", "one <!-- m -->")
        await forge.ensure_comment(1, "<!-- m -->", "two <!-- m -->")
        await forge.close_pr(1, "no longer needed")
        assert await forge.comments(1) == ["two <!-- m -->", "no longer needed"]
        assert [p.state for p in await forge.list_prs()] == [PRState.CLOSED]
        # a closed PR is not reopened: a new one gets the next number
        pr3, created3 = await forge.ensure_pr("fluxbot/a", "main", "T2", "b2")
        assert created3 and pr3.number == 2
    # persisted across forge instances
    async with LocalForge.open(repo) as forge2:
        assert [p.number for p in await forge2.list_prs()] == [2, 1]


async def test_merged_detection_and_stdout(repo: Path) -> None:
    stream = io.StringIO()
    async with open_forge("local", str(repo), Settings(), stream=stream) as forge:
        base = await forge.branch_sha("main")
        assert base is not None
        await forge.ensure_branch("fluxbot/a", base, {"app.yaml": "image: nginx:2\n"}, "m")
        await forge.ensure_pr("fluxbot/a", "main", "Title", "Body")
        assert "PR #1 opened: fluxbot/a → main" in stream.getvalue()
        git(repo, "merge", "-q", "--ff-only", "fluxbot/a")
        [pr] = await forge.list_prs()
        assert pr.state is PRState.MERGED


async def test_errors(tmp_path: Path, repo: Path) -> None:
    with pytest.raises(ForgeError, match="not a git repository"):
        async with LocalForge.open(tmp_path):
            pass
    async with LocalForge.open(repo) as forge:
        with pytest.raises(ForgeError, match="unknown ref"):
            await forge.read_tree("nope")
        with pytest.raises(ForgeError, match="no local PR"):
            await forge.get_pr(7)


async def test_factory_routes_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    import bot.adapters.gitlab.forge as gitlab
    from bot.core.errors import ConfigError

    seen: dict[str, object] = {}

    @contextlib.asynccontextmanager
    async def fake(repo: str, settings: Settings, **kw: object):  # type: ignore[no-untyped-def]
        seen.update(kw, repo=repo)
        yield "gitlab-forge"

    monkeypatch.setattr(gitlab, "open_forge", fake)
    async with open_forge("gitlab", "g/p", Settings(), base="trunk", installation_id=None) as f:
        assert f == "gitlab-forge"
    assert seen == {"repo": "g/p", "installation_id": None, "default_branch": "trunk"}
    with pytest.raises(ConfigError, match="unknown forge"):
        async with open_forge("svn", "x", Settings()):
            pass


async def test_a_failed_write_leaves_the_previous_files_whole(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.ports import StatusState

    out = tmp_path / "out"
    async with LocalForge.open(repo, output=out) as forge:
        base = await forge.branch_sha("main")
        assert base is not None
        await forge.ensure_branch("fluxbot/a", base, {"app.yaml": "image: nginx:2\n"}, "m")
        await forge.ensure_pr("fluxbot/a", "main", "T", "body")
        await forge.set_status(base, "fluxbot/diff", StatusState.SUCCESS, "ok")
        files = [p for p in [*out.iterdir(), *(repo / ".git/fluxbot").rglob("*")] if p.is_file()]
        before = {p: p.read_bytes() for p in files}
        assert len(before) >= 3  # the PR file, its text, the statuses

        real = Path.write_text

        def half_then_fail(self: Path, data: str, *args: object, **kwargs: object) -> int:
            real(self, data[: len(data) // 2], encoding="utf-8")
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(Path, "write_text", half_then_fail)
        with pytest.raises(OSError):
            await forge.ensure_pr("fluxbot/a", "main", "T2", "a longer body than before")
        with pytest.raises(OSError):
            await forge.set_status(base, "fluxbot/diff", StatusState.FAILURE, "broken")
        monkeypatch.undo()
        after = {p: p.read_bytes() for p in before}
        assert after == before  # every file whole, as it was
        leftovers = [p.name for p in [*out.iterdir(), *(repo / ".git/fluxbot").rglob("*")]]
        assert not [n for n in leftovers if n.endswith(".tmp")]
        assert [p.title for p in await forge.list_prs()] == ["T"]
        assert await forge.commit_statuses(base) == {"fluxbot/diff": StatusState.SUCCESS}
