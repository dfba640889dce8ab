"""GitLab CI mode: ``fluxbot run --forge gitlab`` as a scheduled pipeline job would run it, with
only GitLab's predefined ``CI_*`` variables and a token, against the fake GitLab and the loopback
registry. The example pipeline in ``examples/gitlab-ci.yml`` is checked for the same command."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from typing import Any

from ruamel.yaml import YAML

from tests.support.gitlab_fake import FakeGitLab
from tests.support.paths import REPO

PROJECT = "acme/gitops"
FLUX = """\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {{name: app, namespace: flux-system}}
spec:
  image: {image}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {{name: app, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: app}}
  policy:
    semver: {{range: "~1.0"}}
"""
DEPLOY = 'image: {image}:1.0.0 # {{"$imagepolicy": "flux-system:app"}}\n'


async def run_ci_job(fake: FakeGitLab, registry: Any, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUXBOT_", "CI_", "GITLAB_"))}
    env |= {
        "CI": "true",
        "CI_PROJECT_PATH": PROJECT,
        "CI_SERVER_URL": fake.url,
        "CI_DEFAULT_BRANCH": "production",
        "FLUXBOT_GITLAB_TOKEN": fake.token,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--forge",
        "gitlab",
        "--json",
        "--insecure-registry",
        registry.host,
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert fake.token not in (out + err).decode()
    report: dict[str, Any] = json.loads(out)
    return report


async def test_scheduled_pipeline_run(gitlab: FakeGitLab, registry: Any) -> None:
    image = f"{registry.host}/ci/app-{uuid.uuid4().hex[:8]}"
    registry.seed(image.split("/", 1)[1], ["1.0.0", "1.0.3", "1.1.0"])
    gitlab.add_project(
        PROJECT,
        {"flux/images.yaml": FLUX.format(image=image), "apps/app.yaml": DEPLOY.format(image=image)},
        default_branch="production",
    )
    first = await run_ci_job(gitlab, registry)
    assert first["base"] == "production"
    [opened] = first["opened"]
    [mr] = gitlab.mrs(PROJECT)
    assert opened["branch"] == mr["source_branch"] and opened["number"] == mr["iid"]
    assert mr["target_branch"] == "production" and "1.0.3" in mr["title"]
    assert gitlab.file(PROJECT, mr["source_branch"], "apps/app.yaml") == DEPLOY.format(
        image=image
    ).replace(":1.0.0", ":1.0.3")
    # the next scheduled pipeline: nothing new → nothing written
    writes = len([c for c in gitlab.received if c.method != "GET"])
    second = await run_ci_job(gitlab, registry)
    assert second["opened"] == [] and len(second["unchanged"]) == 1
    assert len([c for c in gitlab.received if c.method != "GET"]) == writes
    # a dry run reports and writes nothing either
    registry.seed(image.split("/", 1)[1], ["1.0.4"])
    dry = await run_ci_job(gitlab, registry, "--dry-run")
    assert dry["dry_run"] is True and len(dry["updated"]) == 1
    assert len([c for c in gitlab.received if c.method != "GET"]) == writes


def test_example_pipeline_runs_the_ci_mode() -> None:
    doc = YAML(typ="safe").load((REPO / "examples" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    job = doc["fluxbot"]
    script = " ".join(job["script"])
    assert "fluxbot run --forge gitlab" in script
    assert job["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert "FLUXBOT_GITLAB_TOKEN" not in json.dumps(job.get("variables", {}))  # a masked CI var


def test_example_pipeline_is_valid_gitlab_ci() -> None:
    # GitLab's own CI schema (vendored by check-jsonschema): keys, rules and image shape
    example = REPO / "examples" / "gitlab-ci.yml"
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci", example],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_docs_show_the_example_job() -> None:
    docs = (REPO / "docs" / "gitlab.md").read_text(encoding="utf-8")
    block = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    yaml = YAML(typ="safe")
    example = yaml.load((REPO / "examples" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    assert yaml.load(block) == example
