"""The planner's pure steps one at a time (extract → decide → settle → group → write), with
lookups given as values: what each step returns, and the problems it reports instead of raising."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.config import Config
from bot.core.plan.decide import decide, failed_images, settle
from bot.core.plan.extract import EXTRACTORS, extract
from bot.core.plan.group import group, unwritten, write
from bot.core.plan.model import Digest, Found, Problem, Scope, Tags

OLD = "sha256:" + "0" * 64
NEW = "sha256:" + "1" * 64

POLICY = """\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec: {image: ghcr.io/o/app}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: app, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app}
  policy: {semver: {range: ">=1.0.0"}}
"""

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/o/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
        - name: web
          image: nginx:1.25.3@OLD
""".replace("OLD", OLD)


def tree() -> dict[str, str]:
    return {"flux/app.yaml": POLICY, "apps/deploy.yaml": DEPLOY}


def test_extract_returns_markers_sites_and_the_images_to_look_up() -> None:
    found = extract(tree(), Config.default(), mirrors={"docker.io": "127.0.0.1:5000"})
    assert set(found.policies) == {"flux-system:app"}
    assert [(s.image, s.tag, s.digest, s.fetch) for s in found.sites] == [
        ("nginx", "1.25.3", OLD, "127.0.0.1:5000/library/nginx")
    ]
    assert found.images == ["127.0.0.1:5000/library/nginx", "ghcr.io/o/app"]
    assert found.problems == ()


def test_extract_reports_unreadable_files_as_problems() -> None:
    found = extract(
        {**tree(), "apps/bad.yaml": "kind: Pod\nimage: [nginx:1\n"}, Config.default(), mirrors={}
    )
    assert [p.text for p in found.problems if p.text.startswith("apps/bad.yaml")]
    assert all(p.failed is None for p in found.problems)


def test_extractors_are_a_seam_new_site_kinds_plug_into() -> None:
    seen: list[frozenset[str]] = []

    def extra(files: Mapping[str, str], scope: Scope) -> Found:
        seen.append(scope.known_policies)
        return Found(problems=(Problem.at("compose.yaml", "not parsed"),), refs_seen=2)

    found = extract(tree(), Config.default(), {}, extractors=(*EXTRACTORS, extra))
    assert seen == [frozenset({"flux-system:app"})]
    assert found.refs_seen == extract(tree(), Config.default(), {}).refs_seen + 2
    assert "compose.yaml: not parsed" in [str(p) for p in found.problems]


def test_decide_then_settle_with_lookups_given_as_values() -> None:
    found = extract(tree(), Config.default(), mirrors={})
    tags = {
        "ghcr.io/o/app": Tags(("1.0.0", "1.2.0", "2.0.0-rc.1")),
        "nginx": Tags(("1.25.3", "1.27.0")),
    }
    decided = decide(found, tags, ignores=())
    assert decided.digest_refs == ["nginx:1.27.0"]  # the pinned site; the policy reflects none
    settled = settle(found, decided, {"nginx:1.27.0": Digest(NEW)})
    assert settled.problems == ()
    got = {
        (p.update.image, p.update.old, p.update.new, p.update.new_digest) for p in settled.planned
    }
    assert got == {("ghcr.io/o/app", "1.0.0", "1.2.0", None), ("nginx", "1.25.3", "1.27.0", NEW)}
    assert settled.results == {"flux-system:app": {"image": "ghcr.io/o/app", "tag": "1.2.0"}}


def test_a_failed_digest_is_a_problem_naming_the_image_and_leaves_it_undecided() -> None:
    found = extract(tree(), Config.default(), mirrors={})
    tags = {"ghcr.io/o/app": Tags(("1.0.0",)), "nginx": Tags(("1.25.3", "1.27.0"))}
    decided = decide(found, tags, ignores=())
    settled = settle(found, decided, {"nginx:1.27.0": Digest(error="registry said 500")})
    assert settled.problems == (Problem("nginx:1.27.0: digest: registry said 500", failed="nginx"),)
    assert settled.planned == ()  # the app is already on its latest tag
    assert failed_images(found, tags, settled.problems) == {"nginx"}


def test_a_failed_tag_lookup_fails_every_image_read_from_that_repository() -> None:
    found = extract(tree(), Config.default(), mirrors={})
    tags = {"ghcr.io/o/app": Tags(error="down"), "nginx": Tags(("1.25.3",))}
    decided = decide(found, tags, ignores=())
    assert decided.markers == ()  # nothing to decide without tags; the lookup says why
    assert failed_images(found, tags, ()) == {"ghcr.io/o/app"}


def test_a_policy_error_is_a_problem_not_an_exception() -> None:
    bad = POLICY.replace('">=1.0.0"', '"not a range"')
    found = extract({**tree(), "flux/app.yaml": bad}, Config.default(), mirrors={})
    tags = {"ghcr.io/o/app": Tags(("1.0.0",)), "nginx": Tags(("1.25.3",))}
    (problem,) = decide(found, tags, ignores=()).markers
    assert isinstance(problem, Problem)
    assert problem.text.startswith("ImagePolicy flux-system:app (ghcr.io/o/app): ")
    assert problem.failed == "ghcr.io/o/app"


def test_group_and_write_return_groups_and_their_problems() -> None:
    found = extract(tree(), Config.default(), mirrors={})
    tags = {"ghcr.io/o/app": Tags(("1.2.0",)), "nginx": Tags(("1.27.0",))}
    settled = settle(found, decide(found, tags, ()), {"nginx:1.27.0": Digest(NEW)})
    groups, problems = group(settled.planned, "nonsense")
    assert problems == (Problem("unknown grouping 'nonsense': grouping by image"),)
    assert [name for name, _ in groups] == ["ghcr.io-o-app", "nginx"]
    assert [g.files for g in unwritten(groups)] == [(), ()]
    written, failures = write(tree(), groups, settled.results)
    assert failures == ()
    app, web = written
    assert app.file_map["apps/deploy.yaml"] == DEPLOY.replace("app:1.0.0", "app:1.2.0")
    assert web.file_map["apps/deploy.yaml"] == DEPLOY.replace(f"1.25.3@{OLD}", f"1.27.0@{NEW}")
    (one,) = group(settled.planned, "all")[0]
    assert one[0] == "all" and len(one[1]) == 2
