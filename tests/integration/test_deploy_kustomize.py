"""The kustomize manifests (deploy/kustomize): the base and the scale-out overlay rendered with
``kubectl kustomize``, every object valid for Kubernetes 1.31, and the pods the same as the chart's
(probes, hardening, work dir), so the two ways to deploy cannot drift apart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.deploy import (
    KUSTOMIZE,
    by_kind,
    helm_binary,
    helm_template,
    kustomize_build,
    one,
    validate_all,
)

BASE = KUSTOMIZE / "base"
SCALE_OUT = KUSTOMIZE / "overlays" / "scale-out"


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return kustomize_build(BASE)


@pytest.fixture(scope="module")
def scale_out() -> list[dict[str, Any]]:
    return kustomize_build(SCALE_OUT)


def pod(objs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = one(objs, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def test_base_and_overlay_are_valid_for_kubernetes_1_31(
    base: list[dict[str, Any]], scale_out: list[dict[str, Any]]
) -> None:
    assert validate_all(base) == []
    assert validate_all(scale_out) == []
    for obj in base + scale_out:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "fluxbot", obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "fluxbot"


def test_base_is_embedded_mode(base: list[dict[str, Any]]) -> None:
    assert [d["metadata"]["name"] for d in by_kind(base, "Deployment")] == ["fluxbot"]
    (serve,) = pod(base, "fluxbot")["containers"]
    assert serve["args"][0] == "serve" and "--workers" not in serve["args"]
    assert serve["envFrom"] == [{"secretRef": {"name": "fluxbot"}}]
    assert not by_kind(base, "Secret")
    assert (
        one(base, "Namespace", "fluxbot")["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"
        ]
        == "restricted"
    )


def test_scale_out_overlay_runs_workers_over_redis(scale_out: list[dict[str, Any]]) -> None:
    names = {d["metadata"]["name"] for d in by_kind(scale_out, "Deployment")}
    assert names == {"fluxbot", "fluxbot-worker", "fluxbot-redis"}
    (serve,) = pod(scale_out, "fluxbot")["containers"]
    (worker,) = pod(scale_out, "fluxbot-worker")["containers"]
    assert serve["args"][serve["args"].index("--workers") + 1] == "0"
    assert worker["args"][0] == "worker"
    for c in (serve, worker):
        env = {e["name"]: e["value"] for e in c["env"]}
        assert env["FLUXBOT_REDIS_URL"] == "redis://fluxbot-redis:6379/0"
        assert "FLUXBOT_CACHE" not in env  # the cache is in Redis, shared
    service = one(scale_out, "Service", "fluxbot-redis")
    redis_labels = one(scale_out, "Deployment", "fluxbot-redis")["spec"]["template"]["metadata"]
    assert service["spec"]["selector"].items() <= redis_labels["labels"].items()
    assert one(scale_out, "Deployment", "fluxbot")["spec"]["replicas"] == 2
    policy = one(scale_out, "NetworkPolicy", "fluxbot")["spec"]
    ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (443, "TCP"), (6379, "TCP")}
    redis_policy = one(scale_out, "NetworkPolicy", "fluxbot-redis")["spec"]
    assert "egress" not in redis_policy and redis_policy["policyTypes"] == ["Ingress", "Egress"]


def test_every_pod_is_hardened(scale_out: list[dict[str, Any]]) -> None:
    for deployment in by_kind(scale_out, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        for c in spec["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert c["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_pods_match_the_chart(base: list[dict[str, Any]], scale_out: list[dict[str, Any]]) -> None:
    helm = helm_binary()
    chart = helm_template(helm)
    chart_scaled = helm_template(helm, {"redis.url": "redis://fluxbot-redis:6379/0"})
    same = (
        "securityContext",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "volumeMounts",
        "resources",
        "ports",
        "args",
    )
    pairs = [
        (pod(base, "fluxbot"), pod(chart, "fluxbot")),
        (pod(scale_out, "fluxbot-worker"), pod(chart_scaled, "fluxbot-worker")),
    ]
    for ours, theirs in pairs:
        assert ours["securityContext"] == theirs["securityContext"]
        assert ours["volumes"] == theirs["volumes"]
        (a,), (b,) = ours["containers"], theirs["containers"]
        for key in same:
            assert a.get(key) == b.get(key), key
    serve_k = pod(scale_out, "fluxbot")["containers"][0]["args"]
    serve_h = pod(chart_scaled, "fluxbot")["containers"][0]["args"]
    assert serve_k == serve_h
