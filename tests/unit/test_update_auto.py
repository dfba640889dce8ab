"""Planning auto-detected references (no markers): shape default, config rules, digest pins,
registry mirrors, grouping, and groups that share a file."""

from __future__ import annotations

from typing import Any

from bot.app.settings import Settings
from bot.core.config import load_config
from bot.jobs.context import Context
from bot.jobs.update import plan
from tests.support.fake_tags import FakeTags
from tests.support.memory_forge import MemoryForge

OLD_DIGEST = "sha256:" + "0" * 64

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: wait
          image: "busybox:1.36.0"
      containers:
        - name: nginx
          image: nginx:1.25.3-alpine   # keep me
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml]
images:
  - name: ghcr.io/example/api
    newTag: 1.4.0
"""

HELM = f"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: redis, namespace: db}}
spec:
  chart: {{spec: {{chart: redis, sourceRef: {{kind: HelmRepository, name: bitnami}}}}}}
  values:
    image:
      registry: docker.io
      repository: bitnami/redis
      tag: 7.2.4@{OLD_DIGEST}
"""

TAGS = {
    "busybox": ["1.36.0", "1.36.1", "1.37.0", "1.37.0-glibc"],
    "nginx": ["1.25.3-alpine", "1.27.3-alpine", "1.27.3", "1.28.0-alpine-rc1"],
    "ghcr.io/example/api": ["1.4.0", "1.5.2", "2.0.0"],
    "docker.io/bitnami/redis": ["7.2.4", "7.4.1", "8.0.0-debian-12-r0"],
}


def tree() -> dict[str, str]:
    return {
        "apps/web/deployment.yaml": DEPLOY,
        "apps/api/kustomization.yaml": KUSTOMIZATION,
        "apps/db/release.yaml": HELM,
    }


async def run_plan(config: Any = None, **settings: Any) -> Any:
    source = FakeTags({k: list(v) for k, v in TAGS.items()})
    ctx = Context(forge=MemoryForge(), registry=source, settings=Settings(**settings))
    return await plan(tree(), ctx, config=config), source


async def test_shape_default_every_site_kind() -> None:
    result, source = await run_plan()
    assert result.messages == []
    got = {(u.path, u.line, u.image, u.old, u.new, u.site) for u in result.updates}
    assert got == {
        ("apps/web/deployment.yaml", 10, "busybox", "1.36.0", "1.37.0", "container"),
        ("apps/web/deployment.yaml", 13, "nginx", "1.25.3-alpine", "1.27.3-alpine", "container"),
        ("apps/api/kustomization.yaml", 6, "ghcr.io/example/api", "1.4.0", "2.0.0",
         "kustomize-images"),
        ("apps/db/release.yaml", 10, "docker.io/bitnami/redis", "7.2.4", "7.4.1",
         "helm-values-map"),
    }  # fmt: skip
    # the pin stays a pin: tag and digest written together, digest looked up once
    [redis] = [g for g in result.groups if "redis" in g.name]
    new_digest = redis.updates[0].new_digest
    assert new_digest and new_digest != OLD_DIGEST
    assert redis.file_map["apps/db/release.yaml"] == HELM.replace(
        f"7.2.4@{OLD_DIGEST}", f"7.4.1@{new_digest}"
    )
    assert source.digest_calls == ["docker.io/bitnami/redis:7.4.1"]
    # each image its own group; the deployment's two groups each carry only their own edit
    by_name = {g.name: g for g in result.groups}
    assert set(by_name) == {"busybox", "nginx", "ghcr.io-example-api", "docker.io-bitnami-redis"}
    assert by_name["nginx"].file_map["apps/web/deployment.yaml"] == DEPLOY.replace(
        "1.25.3-alpine", "1.27.3-alpine"
    )
    assert by_name["busybox"].file_map["apps/web/deployment.yaml"] == DEPLOY.replace(
        '"busybox:1.36.0"', '"busybox:1.37.0"'
    )


RULES = """\
group: all
policies:
  api-v1: {policy: {semver: {range: "^1.0"}}}
rules:
  - images: ["ghcr.io/example/*"]
    policy: api-v1
  - images: ["docker.io/bitnami/*"]
    ignore: true
"""


async def test_config_rule_and_grouping_all() -> None:
    result, _ = await run_plan(load_config(RULES))
    [group] = result.groups
    assert group.name == "all"
    api = [u for u in group.updates if u.image == "ghcr.io/example/api"]
    assert [(u.old, u.new) for u in api] == [("1.4.0", "1.5.2")]
    assert api[0].policy == "api-v1: semver range '^1.0'"
    assert not any("redis" in u.image for u in group.updates)  # ignore: true
    # one group, so the deployment file carries both edits
    text = group.file_map["apps/web/deployment.yaml"]
    assert '"busybox:1.37.0"' in text and "nginx:1.27.3-alpine   # keep me" in text


async def test_mirrors_change_where_tags_come_from_not_the_manifests() -> None:
    source = FakeTags(
        {
            "127.0.0.1:5000/library/busybox": TAGS["busybox"],
            "127.0.0.1:5000/library/nginx": TAGS["nginx"],
            "127.0.0.1:5000/bitnami/redis": TAGS["docker.io/bitnami/redis"],
            "ghcr.io/example/api": TAGS["ghcr.io/example/api"],
        }
    )
    settings = Settings(registry_mirrors=(("docker.io", "127.0.0.1:5000"),))
    ctx = Context(forge=MemoryForge(), registry=source, settings=settings)
    result = await plan(tree(), ctx)
    assert result.messages == []
    assert sorted(source.calls) == sorted(
        [
            "127.0.0.1:5000/bitnami/redis",
            "127.0.0.1:5000/library/busybox",
            "127.0.0.1:5000/library/nginx",
            "ghcr.io/example/api",
        ]
    )
    assert {u.image for u in result.updates} >= {"nginx", "busybox"}


async def test_unknown_marker_policy_falls_back_to_detection() -> None:
    text = DEPLOY.replace("# keep me", '# {"$imagepolicy": "flux-system:elsewhere"}')
    source = FakeTags({k: list(v) for k, v in TAGS.items()})
    ctx = Context(forge=MemoryForge(), registry=source)
    result = await plan({"d.yaml": text}, ctx)
    assert {(u.image, u.new) for u in result.updates} == {
        ("nginx", "1.27.3-alpine"),
        ("busybox", "1.37.0"),
    }


async def test_ignores_and_registry_failure_per_image() -> None:
    from bot.core.model import Ignore, IgnoreScope

    source = FakeTags({k: list(v) for k, v in TAGS.items()})
    source.failing.add("nginx")
    ctx = Context(forge=MemoryForge(), registry=source)
    ignores = [Ignore("docker.io/library/busybox", IgnoreScope.MINOR, "1.37.0")]
    result = await plan(tree(), ctx, ignores=ignores)
    news = {u.image: u.new for u in result.updates}
    assert news["busybox"] == "1.36.1"
    assert "nginx" not in news and "nginx" in result.failed_images
    assert any(p.startswith("nginx:") for p in result.messages)


async def test_broken_yaml_file_is_one_problem_naming_file_and_document() -> None:
    files = {
        **tree(),
        "apps/broken.yaml": "kind: ConfigMap\n---\nkind: Deployment\nspec: [x\n  a: b\n",
    }
    source = FakeTags({k: list(v) for k, v in TAGS.items()})
    result = await plan(files, Context(forge=MemoryForge(), registry=source))
    broken = [p for p in result.messages if "broken.yaml" in p]
    assert len(broken) == 1, result.messages
    assert broken[0].startswith("apps/broken.yaml: document 2, line 5: ")
    # the rest of the repository is still planned
    assert {u.image for u in result.updates} >= {"nginx", "busybox", "ghcr.io/example/api"}


async def test_progress_reports_each_repository_fetched_once() -> None:
    seen: list[tuple[int, int]] = []
    source = FakeTags({k: list(v) for k, v in TAGS.items()})
    ctx = Context(forge=MemoryForge(), registry=source)
    files = {**tree(), "apps/web/again.yaml": DEPLOY}  # the same images twice: still one fetch
    await plan(files, ctx, progress=lambda done, total: seen.append((done, total)))
    assert sorted(source.calls) == sorted(TAGS)
    assert seen == [(i, len(TAGS)) for i in range(1, len(TAGS) + 1)]


def test_progress_bar_only_on_a_tty(monkeypatch: Any) -> None:
    import io
    import sys

    from bot.app.cli.plan import _progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with _progress(True) as update:
        assert update is None
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    with _progress(False) as update:
        assert update is None  # --json: no bar
    with _progress(True) as update:
        assert update is not None
        update(2, 3)
    assert "fetching tags" in tty.getvalue() and pipe.getvalue() == ""
