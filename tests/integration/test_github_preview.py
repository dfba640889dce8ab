"""The PREVIEW job glue (bot.runner.run_preview_job) through GitHubForge on the fake GitHub:
base and head trees read through the API, rendered with kubectl kustomize, one sticky comment."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from bot.dispatch import Job, JobKind
from bot.events import Event, EventKind
from bot.forges.github import open_forge
from bot.jobs.context import Context
from bot.marker import DIFF_MARKER
from bot.runner import run_job
from bot.settings import Settings
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
