"""The Helm chart (deploy/chart/fluxbot): ``helm lint --strict`` clean, rendered by a real helm in
the embedded and the scale-out mode, every object valid for Kubernetes 1.31 (strict schemas), and
the properties the chart promises (probes, hardening, credentials only from a Secret, network
policy) read back from the rendered objects."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.deploy import (
    CHART,
    by_kind,
    helm_binary,
    helm_template,
    one,
    problems,
    run,
    validate_all,
)

SCALE_OUT = {"redis.url": "redis://redis.fluxbot:6379/0", "worker.replicas": "3"}
EVERYTHING = {
    **SCALE_OUT,
    "worker.autoscaling.enabled": "true",
    "rbac.reconcile": "true",
    "serviceMonitor.enabled": "true",
    "serve.replicas": "2",
}


@pytest.fixture(scope="module")
def helm() -> str:
    return helm_binary()


def containers(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]
        for d in by_kind(objs, "Deployment")
    }


def test_lint_is_clean(helm: str) -> None:
    for values in ({}, SCALE_OUT, EVERYTHING):
        argv = [helm, "lint", "--strict", str(CHART)]
        for key, value in values.items():
            argv += ["--set", f"{key}={value}"]
        out = run(argv)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "0 chart(s) failed" in out.stdout


@pytest.mark.parametrize("values", [{}, SCALE_OUT, EVERYTHING], ids=["embedded", "scale", "all"])
def test_every_object_is_valid_for_kubernetes_1_31(helm: str, values: dict[str, str]) -> None:
    objs = helm_template(helm, values)
    builtin = [o for o in objs if o["kind"] != "ServiceMonitor"]
    assert validate_all(builtin) == []
    assert len(builtin) >= 5


def test_the_validator_catches_a_broken_object(helm: str) -> None:
    deployment = one(helm_template(helm), "Deployment", "fluxbot")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] = 7
    assert problems(deployment)
    deployment["spec"]["replicas"] = "one"
    assert any("replicas" in p for p in problems(deployment))


def test_embedded_mode_is_one_serve_deployment(helm: str) -> None:
    objs = helm_template(helm)
    kinds = sorted(o["kind"] for o in objs)
    assert kinds == [
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    serve = containers(objs)["fluxbot"]
    assert serve["args"][0] == "serve" and "--workers" not in serve["args"]
    env = {e["name"]: e.get("value") for e in serve["env"]}
    assert "FLUXBOT_REDIS_URL" not in env
    assert env["FLUXBOT_CACHE"].startswith("/work/")  # the cache lives on the emptyDir


def test_scale_out_mode_adds_workers_and_redis(helm: str) -> None:
    objs = helm_template(helm, SCALE_OUT)
    by_name = containers(objs)
    serve, worker = by_name["fluxbot"], by_name["fluxbot-worker"]
    assert serve["args"][serve["args"].index("--workers") + 1] == "0"
    assert worker["args"][0] == "worker"
    assert one(objs, "Deployment", "fluxbot-worker")["spec"]["replicas"] == 3
    for c in (serve, worker):
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["FLUXBOT_REDIS_URL"] == "redis://redis.fluxbot:6379/0"
    assert {p["metadata"]["name"] for p in by_kind(objs, "PodDisruptionBudget")} == {
        "fluxbot",
        "fluxbot-worker",
    }
    assert not by_kind(objs, "HorizontalPodAutoscaler")


def test_worker_autoscaling(helm: str) -> None:
    objs = helm_template(helm, EVERYTHING)
    hpa = one(objs, "HorizontalPodAutoscaler", "fluxbot-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "fluxbot-worker"
    assert "replicas" not in one(objs, "Deployment", "fluxbot-worker")["spec"]  # the HPA owns it


def test_probes_and_hardening(helm: str) -> None:
    objs = helm_template(helm, SCALE_OUT)
    for deployment in by_kind(objs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False  # no cluster access unless asked
        (c,) = pod["containers"]
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert mounts == {"/work": "work", "/tmp": "work"}
        (volume,) = pod["volumes"]
        assert "emptyDir" in volume and volume["emptyDir"]["sizeLimit"]
    serve = containers(objs)["fluxbot"]
    assert serve["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert serve["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_credentials_only_from_the_existing_secret(helm: str) -> None:
    objs = helm_template(helm, {"existingSecret": "my-app"})
    assert not by_kind(objs, "Secret")
    for c in containers(objs).values():
        assert c["envFrom"] == [{"secretRef": {"name": "my-app"}}]
        names = {e["name"] for e in c["env"]}
        assert not {n for n in names if "KEY" in n or "SECRET" in n or "TOKEN" in n}
    out = run([helm, "template", "x", str(CHART), "--set", "existingSecret="])
    assert out.returncode != 0 and "existingSecret is required" in out.stderr


def test_more_than_one_serve_replica_needs_redis(helm: str) -> None:
    out = run([helm, "template", "x", str(CHART), "--set", "serve.replicas=2"])
    assert out.returncode != 0 and "needs redis.url" in out.stderr
    objs = helm_template(helm, {**SCALE_OUT, "serve.replicas": "2"})
    assert one(objs, "Deployment", "fluxbot")["spec"]["replicas"] == 2


def test_network_policy_ingress_webhook_port_egress_dns_https_redis(helm: str) -> None:
    policy = one(helm_template(helm, SCALE_OUT), "NetworkPolicy", "fluxbot")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"port": "http", "protocol": "TCP"}]
    egress = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress == {(53, "UDP"), (53, "TCP"), (443, "TCP"), (6379, "TCP")}
    embedded = one(helm_template(helm), "NetworkPolicy", "fluxbot")["spec"]
    assert (6379, "TCP") not in {
        (p["port"], p["protocol"]) for r in embedded["egress"] for p in r["ports"]
    }


def test_service_monitor_scrapes_metrics_on_the_service_port(helm: str) -> None:
    objs = helm_template(helm, {"serviceMonitor.enabled": "true"})
    monitor = one(objs, "ServiceMonitor", "fluxbot")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics" and endpoint["port"] == "http"
    service = one(objs, "Service", "fluxbot")
    assert {p["name"] for p in service["spec"]["ports"]} == {"http"}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["spec"]["selector"].items()


def test_reconcile_rbac_is_get_and_patch_on_two_flux_kinds(helm: str) -> None:
    objs = helm_template(helm, {"rbac.reconcile": "true"})
    role = one(objs, "ClusterRole", "fluxbot-reconcile")
    rules = {(r["apiGroups"][0], r["resources"][0]): sorted(r["verbs"]) for r in role["rules"]}
    assert rules == {
        ("source.toolkit.fluxcd.io", "gitrepositories"): ["get", "patch"],
        ("kustomize.toolkit.fluxcd.io", "kustomizations"): ["get", "patch"],
    }
    binding = one(objs, "ClusterRoleBinding", "fluxbot-reconcile")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "fluxbot", "namespace": "fluxbot"}
    ]
    pod = one(objs, "Deployment", "fluxbot")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["FLUXBOT_KUBE_IN_CLUSTER"] == "true"
    scoped = helm_template(
        helm, {"rbac.reconcile": "true", "rbac.namespaces": "{flux-system,apps}"}
    )
    assert {b["metadata"]["namespace"] for b in by_kind(scoped, "RoleBinding")} == {
        "flux-system",
        "apps",
    }
    assert not by_kind(scoped, "ClusterRoleBinding")
