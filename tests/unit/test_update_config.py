"""The update job under a ``.fluxbot.yaml``: PR limits, labels and reviewers, grouping by Flux
Kustomization, and a repository ImagePolicy deciding a reference that carries no marker."""

from __future__ import annotations

from bot.jobs.context import Context
from bot.jobs.update import plan, run_update
from tests.support.fake_tags import FakeTags
from tests.support.memory_forge import MemoryForge


def deploy(name: str, image: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        f"        - name: {name}\n          image: {image}\n"
    )


FLUX = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {url: "https://example.com/fleet", ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: team-a, namespace: flux-system}
spec: {path: ./team-a, sourceRef: {kind: GitRepository, name: flux-system}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: team-b, namespace: flux-system}
spec: {path: ./team-b, sourceRef: {kind: GitRepository, name: flux-system}}
"""

TAGS = {
    "ghcr.io/o/a1": ["1.0.0", "1.1.0"],
    "ghcr.io/o/a2": ["2.0.0", "2.1.0"],
    "ghcr.io/o/b1": ["3.0.0", "3.0.1"],
    "ghcr.io/o/b2": ["4.0.0", "4.5.0", "5.0.0"],
}


def tree(config: str) -> dict[str, str]:
    return {
        ".fluxbot.yaml": config,
        "clusters/flux.yaml": FLUX,
        "team-a/a1.yaml": deploy("a1", "ghcr.io/o/a1:1.0.0"),
        "team-a/a2.yaml": deploy("a2", "ghcr.io/o/a2:2.0.0"),
        "team-b/b1.yaml": deploy("b1", "ghcr.io/o/b1:3.0.0"),
        "team-b/b2.yaml": deploy("b2", "ghcr.io/o/b2:4.0.0"),
    }


async def test_group_by_kustomization() -> None:
    ctx = Context(forge=MemoryForge(), registry=FakeTags(dict(TAGS)))
    result = await plan(tree("group: kustomization\n"), ctx)
    assert {g.name: sorted(u.image for u in g.updates) for g in result.groups} == {
        "flux-system-team-a": ["ghcr.io/o/a1", "ghcr.io/o/a2"],
        "flux-system-team-b": ["ghcr.io/o/b1", "ghcr.io/o/b2"],
    }
    assert all(u.kustomization for u in result.updates)


async def test_max_open_and_labels() -> None:
    config = "pr: {maxOpen: 2, maxPerHour: 0, labels: [deps], reviewers: [alice]}\n"
    forge = MemoryForge(files=tree(config))
    report = await run_update(Context(forge=forge, registry=FakeTags(dict(TAGS))))
    assert len(report.opened) == 2 and len(report.skipped) == 2
    assert all(a.reason == "pr.maxOpen=2" for a in report.skipped)
    assert all(pr.labels == ("deps",) for pr in forge.prs.values())
    # merging one frees a slot for the next run
    forge.merge(1)
    again = await run_update(Context(forge=forge, registry=FakeTags(dict(TAGS))))
    assert len(again.opened) == 1


async def test_max_per_hour_counts_prs_opened_in_the_last_hour() -> None:
    config = "pr: {maxOpen: 0, maxPerHour: 3}\n"
    forge = MemoryForge(files=tree(config))
    now = [10_000.0]
    ctx = Context(forge=forge, registry=FakeTags(dict(TAGS)), clock=lambda: now[0])
    first = await run_update(ctx)
    assert len(first.opened) == 3
    assert [a.reason for a in first.skipped] == ["pr.maxPerHour=3"]
    now[0] += 1800  # still within the hour
    assert len((await run_update(ctx)).opened) == 0
    now[0] += 1900  # the hour has passed
    assert len((await run_update(ctx)).opened) == 1


async def test_repository_image_policy_decides_unmarked_reference() -> None:
    policy = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: b2, namespace: flux-system}
spec: {image: ghcr.io/o/b2}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: b2, namespace: flux-system}
spec:
  imageRepositoryRef: {name: b2}
  policy: {semver: {range: "4.x"}}
"""
    files = {**tree("version: 1\n"), "clusters/images.yaml": policy}
    result = await plan(files, Context(forge=MemoryForge(), registry=FakeTags(dict(TAGS))))
    [b2] = [u for u in result.updates if u.image == "ghcr.io/o/b2"]
    assert (b2.new, b2.policy) == ("4.5.0", "ImagePolicy flux-system:b2: semver range '4.x'")


async def test_dry_run_respects_limits_too() -> None:
    from bot.app.settings import Settings

    forge = MemoryForge(files=tree("pr: {maxOpen: 3, maxPerHour: 0}\n"))
    ctx = Context(forge=forge, registry=FakeTags(dict(TAGS)), settings=Settings(dry_run=True))
    report = await run_update(ctx)
    assert (len(report.opened), len(report.skipped)) == (3, 1)
    assert forge.prs == {}


async def test_images_that_slug_alike_get_separate_groups_and_branches() -> None:
    tags = {"ghcr.io/a/b-c": ["1.0.0", "1.1.0"], "ghcr.io/a-b/c": ["2.0.0", "2.2.0"]}
    files = {
        "x.yaml": deploy("x", "ghcr.io/a/b-c:1.0.0"),
        "y.yaml": deploy("y", "ghcr.io/a-b/c:2.0.0"),
        "z.yaml": deploy("z", "ghcr.io/o/a1:1.0.0"),
    }
    ctx = Context(forge=MemoryForge(), registry=FakeTags({**tags, **TAGS}))
    result = await plan(files, ctx)
    by_image = {u.image: g for g in result.groups for u in g.updates}
    assert len(result.groups) == 3
    one, two = by_image["ghcr.io/a/b-c"], by_image["ghcr.io/a-b/c"]
    assert one.name != two.name and one.branch != two.branch
    assert one.name.startswith("ghcr.io-a-b-c-") and two.name.startswith("ghcr.io-a-b-c-")
    assert [f for f, _ in one.files] == ["x.yaml"] and [f for f, _ in two.files] == ["y.yaml"]
    # a name without a collision stays the plain slug (branches stay stable)
    assert by_image["ghcr.io/o/a1"].name == "ghcr.io-o-a1"
    # and the names do not depend on the order the updates came in
    again = await plan(dict(reversed(list(files.items()))), ctx)
    assert sorted(g.name for g in again.groups) == sorted(g.name for g in result.groups)
