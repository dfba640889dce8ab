"""Diff-aware automerge decisions on rendered objects (bot.core.automerge)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.core.automerge import (
    AutomergeRule,
    Checks,
    PRState,
    Render,
    When,
    changed_paths,
    decide,
)
from bot.core.errors import ConfigError

IMAGE_ONLY = AutomergeRule(when=When.IMAGE_ONLY)


def deployment(image: str = "nginx:1.25.0", replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {
                    "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                    "containers": [{"name": "web", "image": image}],
                }
            },
        },
    }


def obj(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    api = {"Secret": "v1", "Service": "v1", "ClusterRole": "rbac.authorization.k8s.io/v1"}
    return {
        "apiVersion": api.get(kind, "v1"),
        "kind": kind,
        "metadata": {"name": name, "namespace": "apps"},
        "spec": spec,
    }


def render(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> Render:
    return Render("flux-system/apps", base, head)


def test_an_image_bump_of_a_workload_merges() -> None:
    decision = decide(IMAGE_ONLY, [render([deployment()], [deployment("nginx:1.25.1")])], PRState())
    assert decision.merge, decision.reasons
    assert decision.changed == ("Deployment apps/web: spec.template.spec.containers[0].image",)


def test_a_cronjob_init_container_image_is_an_image_field() -> None:
    base = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}}
    base["spec"] = {
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "a:1"}]}}}}
    }
    head = copy.deepcopy(base)
    head["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] = "a:2"
    assert decide(IMAGE_ONLY, [render([base], [head])], PRState()).merge


@pytest.mark.parametrize(
    ("base", "head", "reason"),
    [
        (
            [deployment()],
            [deployment("nginx:1.25.1", replicas=2)],
            "Deployment apps/web: spec.replicas changes",
        ),
        (
            [obj("Secret", "db", a=1)],
            [obj("Secret", "db", a=2)],
            "Secret apps/db: secrets block automerge",
        ),
        (
            [obj("ClusterRole", "r", a=1)],
            [obj("ClusterRole", "r", a=2)],
            "ClusterRole apps/r: RBAC block automerge",
        ),
        (
            [obj("Service", "s", type="ClusterIP")],
            [obj("Service", "s", type="LoadBalancer")],
            "Service apps/s: Service type changes",
        ),
        ([], [obj("PersistentVolumeClaim", "data")], "PersistentVolumeClaim apps/data: created"),
        ([deployment()], [], "Deployment apps/web: deleted"),
    ],
)
def test_anything_but_images_blocks_and_names_the_object(
    base: list[dict[str, Any]], head: list[dict[str, Any]], reason: str
) -> None:
    decision = decide(IMAGE_ONLY, [render(base, head)], PRState())
    assert not decision.merge
    assert decision.reasons == (reason,)


def test_a_render_failure_blocks() -> None:
    failed = Render("flux-system/apps", None, None, error="kustomize: missing resource")
    decision = decide(IMAGE_ONLY, [failed], PRState())
    assert decision.reasons == (
        "Kustomization flux-system/apps: render failed (kustomize: missing resource)",
    )


def test_helmrelease_values_image_tags_pass_chart_versions_only_when_allowed() -> None:
    hr = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {
            "chart": {"spec": {"chart": "app", "version": "1.0.0"}},
            "values": {"controllers": {"app": {"containers": {"app": {"image": {"tag": "1"}}}}}},
        },
    }
    tag = copy.deepcopy(hr)
    tag["spec"]["values"]["controllers"]["app"]["containers"]["app"]["image"]["tag"] = "2"
    assert decide(IMAGE_ONLY, [render([hr], [tag])], PRState()).merge
    chart = copy.deepcopy(hr)
    chart["spec"]["chart"]["spec"]["version"] = "1.1.0"
    assert not decide(IMAGE_ONLY, [render([hr], [chart])], PRState()).merge
    charts_rule = AutomergeRule(when=When.IMAGE_ONLY, charts=True)
    assert decide(charts_rule, [render([hr], [chart])], PRState()).merge


@pytest.mark.parametrize(
    ("pr", "reason"),
    [
        (PRState(draft=True), "the pull request is a draft"),
        (PRState(mergeable=False), "the branch is not mergeable"),
        (PRState(checks=Checks.PENDING), "required checks are pending"),
        (PRState(checks=Checks.FAILED), "required checks are failed"),
        (PRState(human_commits=("alice",)), "commits by alice on the branch"),
        (PRState(bumps=("minor",)), None),
    ],
)
def test_pr_state_gates(pr: PRState, reason: str | None) -> None:
    good = [render([deployment()], [deployment("nginx:1.25.1")])]
    decision = decide(IMAGE_ONLY, good, pr)
    assert decision.reasons == ((reason,) if reason else ())
    patch = decide(AutomergeRule(when=When.PATCH), good, PRState(bumps=("minor",)))
    assert patch.reasons == ("not every update is a patch",)


def test_never_is_the_default_and_parse_rejects_typos() -> None:
    assert AutomergeRule.parse(None).when is When.NEVER
    assert not decide(AutomergeRule(), [], PRState()).merge
    with pytest.raises(ConfigError, match="expected one of"):
        AutomergeRule.parse({"when": "always"})
    with pytest.raises(ConfigError, match="unknown key"):
        AutomergeRule.parse({"when": "patch", "check": "required"})


def test_changed_paths() -> None:
    assert list(changed_paths({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}], "c": 1})) == [
        "a[1].b",
        "c",
    ]
