"""Failures through ``fluxbot plan``: each one is reported clearly and nothing stops the rest.

* a broken YAML file is one problem naming the file, document and line; the others still plan;
* a registry answering 500 (after retries) or 429 for one repository is a problem of that image;
* an unknown policy in ``.fluxbot.yaml`` is one clear error line, exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app.cli import main
from tests.support.registry_servers import Fault, FaultProxy

pytestmark = pytest.mark.integration


def deploy(name: str, image: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        f"        - name: {name}\n          image: {image}\n"
    )


@pytest.fixture
def proxy(registry: Any) -> Iterator[FaultProxy]:
    for repo in ("probs/ok", "probs/down", "probs/busy"):
        registry.seed(repo, ["1.0.0", "1.1.0"])
    server = FaultProxy(f"http://{registry.host}").start()
    try:
        yield server
    finally:
        server.close()


def write_repo(root: Path, host: str, extra: dict[str, str] | None = None) -> Path:
    files = {
        f"apps/{name}.yaml": deploy(name, f"{host}/probs/{name}:1.0.0")
        for name in ("ok", "down", "busy")
    }
    files["apps/broken.yaml"] = "kind: ConfigMap\n---\nkind: Deployment\nspec: [x\n  a: b\n"
    files.update(extra or {})
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_each_failure_is_a_problem_and_the_rest_still_plans(
    tmp_path: Path, proxy: FaultProxy
) -> None:
    repo = write_repo(tmp_path, proxy.host)
    proxy.inject(*[Fault("status", match="/probs/down/tags", status=500) for _ in range(8)])
    busy = Fault("status", match="/probs/busy/tags", status=429, headers={"Retry-After": "0"})
    proxy.inject(*[busy for _ in range(8)])
    result = CliRunner().invoke(
        main, ["plan", str(repo), "--json", "--insecure-registry", proxy.host]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    got = [(u["image"], u["old"], u["new"]) for g in data["groups"] for u in g["updates"]]
    assert got == [(f"{proxy.host}/probs/ok", "1.0.0", "1.1.0")]
    problems = data["problems"]
    assert len(problems) == 3, problems
    assert [p for p in problems if p.startswith("apps/broken.yaml: document 2, line 5: ")]
    down = [p for p in problems if p.startswith(f"{proxy.host}/probs/down: ")]
    assert len(down) == 1 and "500" in down[0], problems
    busy_problems = [p for p in problems if p.startswith(f"{proxy.host}/probs/busy: ")]
    assert len(busy_problems) == 1 and "429" in busy_problems[0], problems

    text = CliRunner().invoke(main, ["plan", str(repo), "--insecure-registry", proxy.host])
    assert text.exit_code == 0
    assert "problems:" in text.stdout and "apps/broken.yaml: document 2" in text.stdout


def test_unknown_policy_in_config_is_one_clear_error(tmp_path: Path, proxy: FaultProxy) -> None:
    config = 'version: 1\nrules:\n  - images: ["*"]\n    policy: nosuchpolicy\n'
    repo = write_repo(tmp_path, proxy.host, {".fluxbot.yaml": config})
    result = CliRunner().invoke(main, ["plan", str(repo), "--insecure-registry", proxy.host])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert ".fluxbot.yaml" in lines[0] and "unknown policy or preset 'nosuchpolicy'" in lines[0]
    assert not proxy.requests  # nothing was looked up
