"""``fluxbot run --forge github OWNER/NAME`` through the real CLI: the examples/ fleet on the fake
GitHub (OpenAPI-validated), tags from a seeded loopback registry; one branch + PR per group,
idempotent on a second run, and the PR moves when a newer tag appears."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app.cli import main
from tests.support.github_fixtures import GITHUB_TEST_TOKEN
from tests.support.paths import REPO

pytestmark = pytest.mark.integration

SEED = {
    "stefanprodan/podinfo": ["6.5.0", "6.6.0", "7.0.0"],
    "library/nginx": ["1.25.3-alpine", "1.27.3-alpine"],
    "library/busybox": ["1.36.0", "1.37.0"],
    "example/api": ["1.4.0", "1.5.2", "2.0.0"],  # the session registry: never add tags here
    "bitnami/redis": ["7.2.4", "7.4.1"],
}


def fleet() -> dict[str, str]:
    root = REPO / "examples"
    paths = [root / ".fluxbot.yaml", *root.glob("apps/**/*.yaml"), *root.glob("clusters/**/*.yaml")]
    return {str(p.relative_to(root)): p.read_text("utf-8") for p in sorted(paths)}


def test_run_github_cli_opens_updates_and_is_idempotent(
    github_fake: Any, registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for repo, tags in SEED.items():
        registry.seed(repo, tags)
    files = fleet()
    assert "apps/web/deployment.yaml" in files and ".fluxbot.yaml" in files
    github_fake.create_repo("acme/fleet", files)
    for key in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "FLUXBOT_DRY_RUN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("FLUXBOT_GITHUB_API_URL", github_fake.url)
    monkeypatch.setenv("FLUXBOT_GITHUB_TOKEN", GITHUB_TEST_TOKEN)
    monkeypatch.setenv("FLUXBOT_GITHUB_WRITE_INTERVAL", "0")
    flags = ["--insecure-registry", registry.host, "--mirror", f"docker.io={registry.host}"]
    flags += ["--mirror", f"ghcr.io={registry.host}"]
    args = ["run", "--forge", "github", "acme/fleet", "--json", *flags]
    runner = CliRunner()

    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["problems"] == []
    assert len(report["opened"]) == 5
    pulls = {p["head"]["ref"]: p for p in github_fake.pulls("acme/fleet")}
    assert set(pulls) == {a["branch"] for a in report["opened"]}
    api = pulls["fluxbot/ghcr.io-example-api"]
    assert api["title"] == "chore(deps): update ghcr.io/example/api to 1.5.2"
    assert "<!-- fluxbot: " in api["body"] and "1.4.0" in api["body"]
    changed = github_fake.files("acme/fleet", "fluxbot/ghcr.io-example-api")
    base = github_fake.files("acme/fleet", "main")
    assert {p for p in changed if changed[p] != base.get(p)} == {"apps/api/kustomization.yaml"}
    before = base["apps/api/kustomization.yaml"]
    assert changed["apps/api/kustomization.yaml"] == before.replace("1.4.0", "1.5.2", 1)

    heads = {b: github_fake.branch_sha("acme/fleet", b) for b in pulls}
    second = runner.invoke(main, args)
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["opened"] == [] and len(again["unchanged"]) == 5
    assert {b: github_fake.branch_sha("acme/fleet", b) for b in pulls} == heads

    # a newer target (the api rule now allows major 2; the session registry stays untouched)
    config = files[".fluxbot.yaml"].replace('range: "^1.0"', 'range: ">=1.0.0"')
    github_fake.push("acme/fleet", {".fluxbot.yaml": config}, message="allow api 2.x")
    third = runner.invoke(main, args)
    assert third.exit_code == 0, third.output
    moved = json.loads(third.stdout)
    api_branch = "fluxbot/ghcr.io-example-api"
    assert moved["opened"] == [] and api_branch in [a["branch"] for a in moved["updated"]]
    assert github_fake.branch_sha("acme/fleet", api_branch) != heads[api_branch]
    pulls = {p["head"]["ref"]: p for p in github_fake.pulls("acme/fleet")}
    assert pulls[api_branch]["title"] == "chore(deps): update ghcr.io/example/api to 2.0.0"
    assert (
        "newTag: 2.0.0"
        in github_fake.files("acme/fleet", api_branch)["apps/api/kustomization.yaml"]
    )
    assert len(github_fake.pulls("acme/fleet")) == 5


def test_run_github_cli_needs_a_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    result = CliRunner().invoke(main, ["run", "--forge", "github"])
    assert result.exit_code == 1
    assert "--forge github needs OWNER/NAME" in result.output
