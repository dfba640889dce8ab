"""Plan and local run on real Flux repositories against a seeded loopback registry.

The test data names ghcr.io, quay.io, ... images; ``registry_mirrors`` sends every tag lookup to
the loopback Distribution registry instead (the way a user points fluxbot at a pull-through
cache), so the manifests stay untouched. Expected updates are computed independently from the
seeded tags (see ``tests/support/plan_testdata.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.adapters.local.forge import LocalForge
from bot.adapters.registry import RegistryClient
from bot.app.settings import Settings
from bot.core.manifests.scan import scan
from bot.core.model import slug
from bot.jobs.context import Context
from bot.jobs.update import plan, run_update
from tests.support.paths import FLUX_EXAMPLE, ONEDR0P
from tests.support.plan_testdata import (
    expected_numstat,
    git,
    git_copy,
    numstat_by_branch,
    read_tree,
    seed_bumps,
)

pytestmark = pytest.mark.integration


async def _plan_and_run(src: Path, tmp_path: Path, registry: Any) -> tuple[Any, Any, Any, Path]:
    # no PR limits: every group of the repository is opened in one run
    repo = git_copy(src, tmp_path / "repo", config="pr: {maxOpen: 0, maxPerHour: 0}\n")
    tree = {**read_tree(repo), ".fluxbot.yaml": (repo / ".fluxbot.yaml").read_text()}
    mirrors, expected = seed_bumps(scan(tree).refs, registry)
    settings = Settings(
        insecure_registries=(registry.host,), registry_mirrors=tuple(mirrors.items())
    )
    async with (
        RegistryClient(insecure=settings.insecure_registries) as client,
        LocalForge.open(repo, output=tmp_path / "prs") as forge,
    ):
        ctx = Context(forge=forge, registry=client, settings=settings)
        the_plan = await plan(tree, ctx)
        report = await run_update(ctx)
        again = await run_update(ctx)
    return the_plan, (report, again), expected, repo


@pytest.mark.parametrize("src", [ONEDR0P, FLUX_EXAMPLE], ids=["onedr0p", "flux2-example"])
async def test_plan_and_local_run_touch_exactly_the_expected_lines(
    src: Path, tmp_path: Path, registry: Any
) -> None:
    the_plan, (report, again), expected, repo = await _plan_and_run(src, tmp_path, registry)
    assert the_plan.messages == []
    got = {(u.path, u.line, u.image, u.old, u.new, u.new_digest) for u in the_plan.updates}
    want = {(e.file, e.line, e.image, e.old, e.new, e.digest) for e in expected}
    assert got == want
    # one branch and one PR per image; each branch changes exactly the expected lines
    branch_of = {e.image: f"fluxbot/{slug(e.image)}" for e in expected}
    assert {a.branch for a in report.opened} == set(branch_of.values())
    assert numstat_by_branch(repo) == expected_numstat(expected, branch_of)
    assert report.problems == []
    # idempotent: the second run changes nothing
    assert again.opened == [] and again.updated == [] and again.closed == []
    assert len(again.unchanged) == len(report.opened)
    assert len(list((tmp_path / "prs").glob("*.md"))) == len(report.opened)


IMAGE_OBJECTS = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: redis, namespace: flux-system}
spec: {image: public.ecr.aws/docker/library/redis, interval: 1h}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: redis, namespace: flux-system}
spec:
  imageRepositoryRef: {name: redis}
  policy: {semver: {range: "8.x"}}
"""


async def test_flux_example_with_a_setter_marker(tmp_path: Path, registry: Any) -> None:
    """The example's HelmRelease sets ``values.redis: {repository, tag}``: not an image site by
    Renovate's heuristic (the key does not end in ``image``), so nothing is detected. A Flux user
    marks it for image automation; fluxbot then updates exactly that scalar, and the owning
    Kustomization is found through the ArtifactGenerator's copy rules."""
    repo = git_copy(FLUX_EXAMPLE, tmp_path / "repo")
    release = repo / "apps/base/podinfo/release.yaml"
    text = release.read_text()
    marked = text.replace("tag: 8.6.2", 'tag: 8.6.2 # {"$imagepolicy": "flux-system:redis:tag"}')
    assert marked != text
    release.write_text(marked)
    (repo / "clusters/staging/images.yaml").write_text(IMAGE_OBJECTS)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "mark redis for image automation")
    registry.seed("docker/library/redis", ["8.6.2", "8.6.3", "8.7.0", "9.0.0", "8.8.0-rc1"])
    settings = Settings(
        insecure_registries=(registry.host,), registry_mirrors=(("public.ecr.aws", registry.host),)
    )
    async with (
        RegistryClient(insecure=settings.insecure_registries) as client,
        LocalForge.open(repo, output=tmp_path / "prs") as forge,
    ):
        ctx = Context(forge=forge, registry=client, settings=settings)
        report = await run_update(ctx)
    assert report.problems == []
    [update] = report.updates
    assert (update.path, update.line, update.old, update.new) == (
        "apps/base/podinfo/release.yaml",
        27,
        "8.6.2",
        "8.7.0",
    )
    assert update.kustomization is not None and "apps" in update.kustomization
    branch = "fluxbot/public.ecr.aws-docker-library-redis"
    assert numstat_by_branch(repo) == {branch: {"apps/base/podinfo/release.yaml": (1, 1)}}
    assert git(repo, "show", f"{branch}:apps/base/podinfo/release.yaml") == marked.replace(
        "tag: 8.6.2", "tag: 8.7.0"
    )
