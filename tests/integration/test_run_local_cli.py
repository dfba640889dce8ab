"""``fluxbot plan`` / ``fluxbot run --forge local`` end to end on examples/ (the demo's repository)
against a seeded loopback registry, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app.cli import main
from tests.support.paths import REPO
from tests.support.plan_testdata import git, git_copy

pytestmark = pytest.mark.integration

SEED = {
    "stefanprodan/podinfo": ["6.5.0", "6.6.0", "6.6.1-rc.1", "7.0.0"],
    "library/nginx": ["1.25.3-alpine", "1.27.3-alpine", "1.27.3"],
    "library/busybox": ["1.36.0", "1.37.0"],
    "example/api": ["1.4.0", "1.5.2", "2.0.0"],
    "bitnami/redis": ["7.2.4", "7.4.1"],
}
EXPECTED = {
    ("apps/podinfo/deployment.yaml", "ghcr.io/stefanprodan/podinfo", "6.5.0", "6.6.0"),
    ("apps/web/deployment.yaml", "nginx", "1.25.3-alpine", "1.27.3-alpine"),
    ("apps/web/deployment.yaml", "busybox", "1.36.0", "1.37.0"),
    ("apps/api/kustomization.yaml", "ghcr.io/example/api", "1.4.0", "1.5.2"),  # .fluxbot.yaml ^1.0
    ("apps/redis/helmrelease.yaml", "docker.io/bitnami/redis", "7.2.4", "7.4.1"),
}


@pytest.fixture
def seeded(registry: Any) -> list[str]:
    for repo, tags in SEED.items():
        registry.seed(repo, tags)
    return [
        "--insecure-registry",
        registry.host,
        "--mirror",
        f"docker.io={registry.host}",
        "--mirror",
        f"ghcr.io={registry.host}",
    ]


def test_plan_json_and_text(tmp_path: Path, seeded: list[str]) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["plan", str(REPO / "examples"), "--json", *seeded])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    got = {
        (u["path"], u["image"], u["old"], u["new"]) for g in data["groups"] for u in g["updates"]
    }
    assert got == EXPECTED
    assert data["problems"] == []
    text = runner.invoke(main, ["plan", str(REPO / "examples"), *seeded])
    assert text.exit_code == 0
    assert "apps/web/deployment.yaml:19  nginx  1.25.3-alpine → 1.27.3-alpine" in text.stdout


def test_run_local_output_dry_run_and_idempotency(tmp_path: Path, seeded: list[str]) -> None:
    repo = git_copy(REPO / "examples", tmp_path / "fleet")
    runner = CliRunner()
    dry = runner.invoke(
        main, ["run", "--forge", "local", str(repo), "--dry-run", "--json", *seeded]
    )
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["dry_run"] is True
    assert git(repo, "branch", "--list", "fluxbot/*") == ""

    out = tmp_path / "prs"
    args = ["run", "--forge", "local", str(repo), "--output", str(out), "--json", *seeded]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert len(report["opened"]) == 5 and report["problems"] == []
    branches = git(repo, "branch", "--list", "fluxbot/*", "--format=%(refname:short)").split()
    assert len(branches) == 5
    body = (out / "fluxbot-ghcr.io-example-api.md").read_text()
    assert body.startswith("# chore(deps): update ghcr.io/example/api to 1.5.2\n")
    assert "<!-- fluxbot: " in body
    # labels from .fluxbot.yaml are recorded on the local PR
    prs = [json.loads(p.read_text()) for p in (repo / ".git/fluxbot/prs").glob("*.json")]
    assert all(p["labels"] == ["dependencies"] for p in prs)

    heads = git(repo, "for-each-ref", "refs/heads/fluxbot")
    second = runner.invoke(main, args)
    assert second.exit_code == 0
    assert len(json.loads(second.stdout)["unchanged"]) == 5
    assert git(repo, "for-each-ref", "refs/heads/fluxbot") == heads

    # a newer target (the api rule now allows major 2) moves the same branch, one commit on main
    api = "fluxbot/ghcr.io-example-api"
    old_head = git(repo, "rev-parse", api).strip()
    config = (repo / ".fluxbot.yaml").read_text()
    (repo / ".fluxbot.yaml").write_text(config.replace('range: "^1.0"', 'range: ">=1.0.0"'))
    git(repo, "commit", "-qam", "allow api 2.x")
    third = runner.invoke(main, args)
    assert third.exit_code == 0, third.output
    moved = json.loads(third.stdout)
    # every branch is rebuilt on the new main; only the api one changes what it proposes
    assert moved["opened"] == [] and api in [a["branch"] for a in moved["updated"]]
    titles = {a["branch"]: a["title"] for a in moved["updated"] + moved["unchanged"]}
    assert titles[api] == "chore(deps): update ghcr.io/example/api to 2.0.0"
    assert titles["fluxbot/busybox"] == "chore(deps): update busybox to 1.37.0"
    assert git(repo, "rev-parse", api).strip() != old_head
    assert git(repo, "rev-list", "--count", f"main..{api}").strip() == "1"
    assert git(repo, "diff", "--numstat", "main", api).split() == [
        "1",
        "1",
        "apps/api/kustomization.yaml",
    ]
    assert "newTag: 2.0.0" in git(repo, "show", f"{api}:apps/api/kustomization.yaml")
    assert (
        (out / "fluxbot-ghcr.io-example-api.md")
        .read_text()
        .startswith("# chore(deps): update ghcr.io/example/api to 2.0.0\n")
    )


def test_errors_exit_1(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--forge", "local", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a git repository" in result.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / ".fluxbot.yaml").write_text("group: sideways\n")
    result = runner.invoke(main, ["plan", str(bad)])
    assert result.exit_code == 1 and "group" in result.output
    usage = runner.invoke(main, ["run", "--forge", "svn"])
    assert usage.exit_code == 2
