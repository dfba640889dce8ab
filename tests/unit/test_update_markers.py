"""Planning setter-marker references (Flux ImagePolicy in the tree) and running the update job
against the in-memory forge: open, idempotent re-run, newer version, moved base, close, ignores."""

from __future__ import annotations

from bot.app.settings import Settings
from bot.core.markers import PRMarker
from bot.core.model import PRState
from bot.jobs.context import Context
from bot.jobs.update import plan, run_update
from tests.support.fake_tags import FakeTags
from tests.support.memory_forge import MemoryForge

FLUX = """\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec:
  image: ghcr.io/o/app
  exclusionList: ["^.*-debug$"]
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: app, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app}
  policy:
    semver: {range: ">=1.0.0 <2.0.0"}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: db, namespace: flux-system}
spec:
  image: ghcr.io/o/db
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: db, namespace: flux-system}
spec:
  imageRepositoryRef: {name: db}
  policy:
    numerical: {order: asc}
"""

DEPLOY = """\
# app deployment\r
apiVersion: apps/v1\r
kind: Deployment\r
metadata: {name: app}\r
spec:\r
  template:\r
    spec:\r
      containers:\r
        - name: app\r
          image: ghcr.io/o/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\r
        - name: db\r
          image: ghcr.io/o/db:5 # {"$imagepolicy": "flux-system:db"}\r
"""

VALUES = """\
values:
  image:
    tag: "1.0.0" # {"$imagepolicy": "flux-system:app:tag"}
"""


def tree() -> dict[str, str]:
    return {"flux/images.yaml": FLUX, "apps/deploy.yaml": DEPLOY, "apps/values.yaml": VALUES}


def tags(app: list[str], db: list[str] | None = None) -> FakeTags:
    return FakeTags({"ghcr.io/o/app": app, "ghcr.io/o/db": db or ["3", "5"]})


async def test_plan_groups_per_image_with_exact_edits() -> None:
    source = tags(["1.0.0", "1.2.0", "1.3.0-debug", "2.0.0"], ["4", "5", "10"])
    ctx = Context(forge=MemoryForge(), registry=source)
    result = await plan(tree(), ctx)
    assert result.messages == []
    assert result.refs_seen == 5  # 3 marked + the 2 untagged ImageRepository images
    assert result.unresolved == (
        "flux/images.yaml:5: ghcr.io/o/app: no tag",
        "flux/images.yaml:20: ghcr.io/o/db: no tag",
    )
    assert sorted(source.calls) == ["ghcr.io/o/app", "ghcr.io/o/db"]  # one fetch per repository
    by_name = {g.name: g for g in result.groups}
    assert set(by_name) == {"ghcr.io-o-app", "ghcr.io-o-db"}
    app = by_name["ghcr.io-o-app"]
    assert [(u.path, u.line, u.old, u.new) for u in app.updates] == [
        ("apps/deploy.yaml", 10, "1.0.0", "1.2.0"),
        ("apps/values.yaml", 3, "1.0.0", "1.2.0"),
    ]
    assert "semver range '>=1.0.0 <2.0.0'" in app.updates[0].policy
    # only the app's scalars change; the db line and CRLF endings stay
    assert app.file_map["apps/deploy.yaml"] == DEPLOY.replace("app:1.0.0", "app:1.2.0")
    assert app.file_map["apps/values.yaml"] == VALUES.replace('"1.0.0"', '"1.2.0"')
    db = by_name["ghcr.io-o-db"]
    assert db.file_map == {"apps/deploy.yaml": DEPLOY.replace("db:5", "db:10")}


async def test_failing_image_is_a_problem_and_others_still_plan() -> None:
    source = tags(["1.0.0", "1.1.0"])
    source.failing.add("ghcr.io/o/db")
    result = await plan(tree(), Context(forge=MemoryForge(), registry=source))
    assert [g.name for g in result.groups] == ["ghcr.io-o-app"]
    assert any("ghcr.io/o/db" in p and "500" in p for p in result.messages)
    assert "ghcr.io/o/db" in result.failed_images


async def test_policy_error_is_a_problem() -> None:
    source = tags(["0.1.0", "3.0.0"])  # nothing in >=1 <2
    result = await plan(tree(), Context(forge=MemoryForge(), registry=source))
    assert any("flux-system:app" in p for p in result.messages)
    assert result.groups == ()  # db stays on 5, the highest


async def test_run_update_lifecycle() -> None:
    forge = MemoryForge(files=tree())
    source = tags(["1.0.0", "1.1.0"])
    clock = iter(range(1_000_000, 2_000_000, 60))
    ctx = Context(forge=forge, registry=source, clock=lambda: float(next(clock)))

    first = await run_update(ctx)
    assert [a.branch for a in first.opened] == ["fluxbot/ghcr.io-o-app"]
    assert first.problems == []
    [pr] = await forge.list_prs()
    assert pr.title == "chore(deps): update ghcr.io/o/app to 1.1.0"  # the config's default
    assert PRMarker.parse(pr.body) is not None
    head = forge.branches["fluxbot/ghcr.io-o-app"]
    assert forge.commits[head].parent == forge.branches["main"]
    assert forge.commits[head].message.startswith("chore(deps): update ghcr.io/o/app to 1.1.0\n")

    # nothing new: no commit, no PR write
    calls = len(forge.calls)
    second = await run_update(ctx)
    assert [a.branch for a in second.unchanged] == ["fluxbot/ghcr.io-o-app"]
    assert forge.calls[calls:] == []

    # a newer version: same branch, same PR, new single commit
    source.tags_by_image["ghcr.io/o/app"].append("1.2.0")
    third = await run_update(ctx)
    assert [a.number for a in third.updated] == [pr.number]
    assert "1.2.0" in forge.branch_files("fluxbot/ghcr.io-o-app")["apps/deploy.yaml"]
    assert forge.prs[pr.number].title == "chore(deps): update ghcr.io/o/app to 1.2.0"

    # the base moves: the branch is recomputed on the new base
    forge.push_base({"README.yaml": "x: 1\n"})
    fourth = await run_update(ctx)
    assert [a.number for a in fourth.updated] == [pr.number]
    new_head = forge.branches["fluxbot/ghcr.io-o-app"]
    assert forge.commits[new_head].parent == forge.branches["main"]

    # merged: the plan is empty and nothing is closed or opened
    forge.merge(pr.number)
    fifth = await run_update(ctx)
    assert (fifth.opened, fifth.closed, fifth.updated) == ([], [], [])


async def test_closed_pr_becomes_ignore_and_newer_version_opens_new_pr() -> None:
    forge = MemoryForge(files=tree())
    source = tags(["1.0.0", "1.1.0"])
    ctx = Context(forge=forge, registry=source)
    await run_update(ctx)
    forge.close(1)  # a human rejects 1.1.0
    again = await run_update(ctx)
    assert again.opened == [] and again.updates == []
    source.tags_by_image["ghcr.io/o/app"].append("1.1.1")
    later = await run_update(ctx)
    assert [(a.number, a.updates[0].new) for a in later.opened] == [(2, "1.1.1")]


async def test_pr_no_longer_needed_is_closed_without_implying_ignore() -> None:
    forge = MemoryForge(files=tree())
    source = tags(["1.0.0", "1.1.0"])
    ctx = Context(forge=forge, registry=source)
    await run_update(ctx)
    # someone updates main by hand
    forge.push_base(
        {
            "apps/deploy.yaml": DEPLOY.replace("app:1.0.0", "app:1.1.0"),
            "apps/values.yaml": VALUES.replace("1.0.0", "1.1.0"),
        }
    )
    report = await run_update(ctx)
    assert [a.number for a in report.closed] == [1]
    assert forge.prs[1].state is PRState.CLOSED
    assert "no longer needed" in forge.comments[1][0][1]
    assert "fluxbot/ghcr.io-o-app" not in forge.branches
    marker = PRMarker.parse(forge.prs[1].body)
    assert marker is not None and marker.updates == ()


async def test_failed_lookup_keeps_open_pr() -> None:
    forge = MemoryForge(files=tree())
    source = tags(["1.0.0", "1.1.0"])
    ctx = Context(forge=forge, registry=source)
    await run_update(ctx)
    source.failing.add("ghcr.io/o/app")
    report = await run_update(ctx)
    assert report.closed == []
    assert forge.prs[1].state is PRState.OPEN
    assert any("500" in p for p in report.problems)


async def test_dry_run_writes_nothing() -> None:
    forge = MemoryForge(files=tree())
    ctx = Context(forge=forge, registry=tags(["1.0.0", "1.1.0"]), settings=Settings(dry_run=True))
    report = await run_update(ctx)
    assert report.dry_run and [a.branch for a in report.opened] == ["fluxbot/ghcr.io-o-app"]
    assert forge.calls == [] and forge.prs == {}
    assert report.to_json()["updates"][0]["new"] == "1.1.0"


async def test_dry_run_after_real_run_reports_unchanged_and_newer() -> None:
    forge = MemoryForge(files=tree())
    source = tags(["1.0.0", "1.1.0"])
    await run_update(Context(forge=forge, registry=source))
    dry = Context(forge=forge, registry=source, settings=Settings(dry_run=True))
    calls = len(forge.calls)
    assert [a.number for a in (await run_update(dry)).unchanged] == [1]
    source.tags_by_image["ghcr.io/o/app"].append("1.2.0")
    assert [a.number for a in (await run_update(dry)).updated] == [1]
    assert forge.calls[calls:] == []


async def test_recorded_major_ignore_is_respected() -> None:
    from bot.core.model import Ignore, IgnoreScope, PullRequest

    forge = MemoryForge(files=tree())
    # an earlier PR, closed by "ignore this major version" (its marker records the ignore)
    old = PRMarker("ghcr.io-o-db", (), (Ignore("ghcr.io/o/db", IgnoreScope.MAJOR, "10"),))
    forge.prs[7] = PullRequest(7, "fluxbot/ghcr.io-o-db", "main", "t", old.render(), PRState.CLOSED)
    source = tags(["1.0.0"], ["5", "6", "10", "10.5"])
    report = await run_update(Context(forge=forge, registry=source))
    assert [(u.image, u.new) for u in report.updates] == [("ghcr.io/o/db", "6")]
    # the ignore stays recorded on the closed PR, which every later run reads again
    again = await run_update(Context(forge=forge, registry=source))
    assert [a.branch for a in again.unchanged] == ["fluxbot/ghcr.io-o-db"]
