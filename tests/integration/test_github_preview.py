"""The PREVIEW job glue (bot.jobs.runner.run_preview_job) through GitHubForge on the fake GitHub:
base and head trees read through the API, rendered with kubectl kustomize, one sticky comment."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from bot.adapters.github.forge import open_forge
from bot.app.settings import Settings
from bot.core.dispatch import Job, JobKind
from bot.core.events import Event, EventKind
from bot.core.markers import DIFF_MARKER
from bot.jobs.context import Context
from bot.jobs.runner import run_job, run_job_result
from tests.support.paths import IN_CI

KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
GITREPO = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/acme/preview
  ref: {branch: main}
"""
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deploy.yaml]
"""
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0
"""


async def test_preview_comment_is_sticky(github_fake: Any, github_settings: Settings) -> None:
    if shutil.which("kubectl") is None:
        (pytest.fail if IN_CI else pytest.skip)("kubectl is not installed")
    repo = "acme/preview"
    github_fake.create_repo(
        repo,
        {
            "clusters/prod/flux-system/gotk-sync.yaml": GITREPO + "---\n" + KS,
            "apps/kustomization.yaml": KUSTOMIZATION,
            "apps/deploy.yaml": DEPLOY,
        },
    )
    head = github_fake.push(
        repo, {"apps/deploy.yaml": DEPLOY.replace("1.0.0", "1.1.0")}, branch="fluxbot/web"
    )
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        pr, _ = await forge.ensure_pr("fluxbot/web", "main", "Update web", "body")
        event = Event(
            "github", EventKind.PR_OPENED, repo, pr_number=pr.number, pr_branch="fluxbot/web"
        )
        ctx = Context(forge=forge, registry=None, settings=github_settings)  # type: ignore[arg-type]
        job = Job(JobKind.PREVIEW, "github", repo, replace_after(event, head))
        assert await run_job(job, ctx) == "ok"
        assert await run_job(job, ctx) == "ok"
    comments = github_fake.comments(repo, pr.number)
    assert len(comments) == 1
    body = comments[0].body
    assert DIFF_MARKER in body and "1.1.0" in body and "web" in body


def replace_after(event: Event, sha: str) -> Event:
    from dataclasses import replace

    return replace(event, after=sha)


GENERATED = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deploy.yaml]
configMapGenerator:
  - name: web-settings
    namespace: default
    files: [settings.conf]
generatorOptions: {disableNameSuffixHash: true}
"""


async def test_preview_reads_generator_inputs_and_diffs_from_the_merge_base(
    github_fake: Any, github_settings: Settings
) -> None:
    """A non-YAML generator input is rendered; commits that landed on the base after the PR
    branched (a new label on the Deployment) are not shown reversed."""
    if shutil.which("kubectl") is None:
        (pytest.fail if IN_CI else pytest.skip)("kubectl is not installed")
    repo = "acme/preview"
    github_fake.create_repo(
        repo,
        {
            "clusters/prod/flux-system/gotk-sync.yaml": GITREPO + "---\n" + KS,
            "apps/kustomization.yaml": GENERATED,
            "apps/deploy.yaml": DEPLOY,
            "apps/settings.conf": "workers=2\n",
        },
    )
    head = github_fake.push(repo, {"apps/settings.conf": "workers=8\n"}, branch="tweak")
    moved = DEPLOY.replace("labels: {app: web}}", "labels: {app: web, moved-on: base}}")
    github_fake.push(repo, {"apps/deploy.yaml": moved})  # the base moves on after branching
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        pr, _ = await forge.ensure_pr("tweak", "main", "More workers", "by hand")
        event = Event("github", EventKind.PR_OPENED, repo, pr_number=pr.number, pr_branch="tweak")
        ctx = Context(forge=forge, registry=None, settings=github_settings)  # type: ignore[arg-type]
        outcome, result = await run_job_result(
            Job(JobKind.PREVIEW, "github", repo, replace_after(event, head)), ctx
        )
    assert outcome == "ok"
    (comment,) = github_fake.comments(repo, pr.number)
    assert "workers=8" in comment.body and "workers=2" in comment.body
    assert "web-settings" in comment.body
    assert "moved-on" not in comment.body  # the base's later commit is not the PR's doing
    assert not result.problems, result.problems
    assert any("/compare/" in p for _m, p, _s in github_fake.requests)
