"""An ImageRepository's ``exclusionList`` decides which tags a policy sees, exactly as Flux:
a user list replaces the default ``^.*\\.sig$`` (so ``[]`` keeps ``.sig`` tags), and the real
registry client must not drop them before the job applies the repository's own list."""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.registry import RegistryClient
from bot.app.settings import Settings
from bot.jobs.context import Context
from bot.jobs.update import plan
from tests.support.memory_forge import MemoryForge

pytestmark = pytest.mark.integration


def tree(host: str, repo: str, exclusion: str) -> dict[str, str]:
    flux = f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: app, namespace: flux-system}}
spec:
  image: {host}/{repo}
{exclusion}---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: app, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: app}}
  policy:
    alphabetical: {{order: asc}}
"""
    deploy = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app}}
spec:
  template:
    spec:
      containers:
        - name: app
          image: {host}/{repo}:a # {{"$imagepolicy": "flux-system:app"}}
"""
    return {"flux/images.yaml": flux, "apps/deploy.yaml": deploy}


@pytest.mark.parametrize(
    ("exclusion", "selected"),
    [
        ("", "c"),  # Flux's default drops the .sig tag
        ("  exclusionList: []\n", "d.sig"),  # an empty list replaces the default: nothing dropped
        ('  exclusionList: ["^c$"]\n', "d.sig"),  # a user list replaces the default
    ],
)
async def test_exclusion_list_replaces_the_default(
    registry: Any, exclusion: str, selected: str
) -> None:
    repo = "exclusion/app"
    registry.seed(repo, ["a", "b", "c", "d.sig"])
    settings = Settings(insecure_registries=(registry.host,))
    async with RegistryClient(insecure=settings.insecure_registries) as client:
        ctx = Context(forge=MemoryForge(files={}), registry=client, settings=settings)
        the_plan = await plan(tree(registry.host, repo, exclusion), ctx)
    assert the_plan.messages == []
    (group,) = the_plan.groups
    (update,) = group.updates
    assert update.new.endswith(selected)
