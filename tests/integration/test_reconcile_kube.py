"""The Kubernetes adapter (kubernetes_asyncio) against the fake API server on loopback."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from bot.adapters.kube import GITREPOSITORY, KUSTOMIZATION, REQUESTED_AT, KubeFlux, watch
from bot.core.errors import ReconcileError
from bot.core.rollout import KsRef, Observation, Outcome, evaluate, rfc3339nano
from tests.support.kube_fake import Behaviour, KubeFake, validate_object

GITREPO = KsRef("flux-system", "flux-system")
SHA = "1234567890abcdef1234567890abcdef12345678"


async def test_merge_patch_annotates_and_source_fetches_head(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    kube_api.push(SHA)
    at = rfc3339nano(time.time_ns())
    async with KubeFlux.open(kubeconfig=str(kube_api.kubeconfig(tmp_path / "kc"))) as kube:
        await kube.request_reconcile(GITREPOSITORY, GITREPO, at)
        obj = await kube.get(GITREPOSITORY, GITREPO)
    assert obj is not None
    assert obj["metadata"]["annotations"][REQUESTED_AT] == at
    assert obj["status"]["lastHandledReconcileAt"] == at
    assert obj["status"]["artifact"]["revision"] == f"main@sha1:{SHA}"
    assert validate_object("source.toolkit.fluxcd.io_gitrepositories.yaml", "v1", obj) == []
    assert kube_api.patches() == [
        (
            "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system",
            "application/merge-patch+json",
        )
    ]


async def test_fake_refuses_what_a_real_api_server_refuses(kube_api: KubeFake) -> None:
    path = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system"
    patch = {"metadata": {"annotations": {REQUESTED_AT: "2026-01-01T00:00:00Z"}}}
    auth = {"Authorization": f"Bearer {kube_api.token}"}
    async with httpx.AsyncClient(base_url=kube_api.url) as http:
        smp = await http.patch(
            path,
            json=patch,
            headers={**auth, "Content-Type": "application/strategic-merge-patch+json"},
        )
        assert smp.status_code == 415 and smp.json()["reason"] == "UnsupportedMediaType"
        jp = await http.patch(
            path, json=patch, headers={**auth, "Content-Type": "application/json-patch+json"}
        )
        assert jp.status_code == 400
        bad = {"metadata": {"annotations": {REQUESTED_AT: 12}}}
        typed = await http.patch(
            path, json=bad, headers={**auth, "Content-Type": "application/merge-patch+json"}
        )
        assert typed.status_code == 422 and "must be a string" in typed.json()["message"]
        schema = {"spec": {"interval": "ten minutes"}}
        invalid = await http.patch(
            path, json=schema, headers={**auth, "Content-Type": "application/merge-patch+json"}
        )
        assert invalid.status_code == 422 and "spec.interval" in invalid.json()["message"]
        anon = await http.get(path)
        assert anon.status_code == 401
    # nothing was applied by the refused patches
    assert REQUESTED_AT not in kube_api.objects[("gitrepositories", "flux-system", "flux-system")][
        "metadata"
    ].get("annotations", {})


async def test_client_default_content_type_would_fail(kube_api: KubeFake, tmp_path: Path) -> None:
    """kubernetes_asyncio sends a dict as a JSON patch unless told otherwise: the fake refuses."""
    from kubernetes_asyncio import config
    from kubernetes_asyncio.client import ApiClient, Configuration, CustomObjectsApi
    from kubernetes_asyncio.client.exceptions import ApiException

    conf = Configuration()
    await config.load_kube_config(
        config_file=str(kube_api.kubeconfig(tmp_path / "kc")), client_configuration=conf
    )
    async with ApiClient(conf) as api:
        objects = CustomObjectsApi(api)
        with pytest.raises(ApiException) as info:
            await objects.patch_namespaced_custom_object(
                "source.toolkit.fluxcd.io",
                "v1",
                "flux-system",
                "gitrepositories",
                "flux-system",
                {"metadata": {"annotations": {REQUESTED_AT: "x"}}},
            )
    assert info.value.status == 400
    assert kube_api.patches()[-1][1] == "application/json-patch+json"


async def test_errors_are_reconcile_errors_without_token(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    kubeconfig = kube_api.kubeconfig(tmp_path / "kc")
    kube_api.token = "rotated"
    async with KubeFlux.open(kubeconfig=str(kubeconfig)) as kube:
        with pytest.raises(ReconcileError, match="HTTP 401") as info:
            await kube.request_reconcile(GITREPOSITORY, GITREPO, "2026-01-01T00:00:00Z")
    assert "kube-test-token" not in str(info.value)


async def test_missing_objects(kube_api: KubeFake, tmp_path: Path) -> None:
    async with KubeFlux.open(kubeconfig=str(kube_api.kubeconfig(tmp_path / "kc"))) as kube:
        assert await kube.get(KUSTOMIZATION, KsRef("flux-system", "nope")) is None
        with pytest.raises(ReconcileError, match="HTTP 404"):
            await kube.request_reconcile(KUSTOMIZATION, KsRef("flux-system", "nope"), "x")


async def test_no_kubeconfig_is_a_reconcile_error(tmp_path: Path) -> None:
    with pytest.raises(ReconcileError, match="no Kubernetes access"):
        async with KubeFlux.open(kubeconfig=str(tmp_path / "missing")):
            pass


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        (Behaviour("ready", after=2), Outcome.READY),
        (Behaviour("failed", after=1, message="Deployment/app: image pull failed"), Outcome.FAILED),
        (Behaviour("stuck"), Outcome.TIMED_OUT),
    ],
)
async def test_watch_kustomizations(
    kube_api: KubeFake, tmp_path: Path, behaviour: Behaviour, expected: Outcome
) -> None:
    kube_api.add_kustomization("flux-system", "apps", behaviour)
    kube_api.add_kustomization("flux-system", "infra")
    kube_api.push(SHA)
    at = rfc3339nano(time.time_ns())
    apps, infra = KsRef("flux-system", "apps"), KsRef("flux-system", "infra")
    async with KubeFlux.open(kubeconfig=str(kube_api.kubeconfig(tmp_path / "kc"))) as kube:
        await kube.request_reconcile(GITREPOSITORY, GITREPO, at)
        for ref in (apps, infra):
            await kube.request_reconcile(KUSTOMIZATION, ref, at)

        async def observe(ref: KsRef) -> Observation:
            obj = await kube.get(KUSTOMIZATION, ref)
            assert obj is not None
            assert (
                validate_object("kustomize.toolkit.fluxcd.io_kustomizations.yaml", "v1", obj) == []
            )
            return evaluate(obj, SHA, at)

        results = await watch(
            [apps, infra],
            observe,
            timeout=0.3,
            interval=0.02,
            clock=time.monotonic,
            sleep=asyncio.sleep,
        )
    by = {r.ks: r for r in results}
    assert by[infra].outcome is Outcome.READY
    assert by[infra].revision == f"main@sha1:{SHA}"
    assert by[apps].outcome is expected
    if expected is Outcome.FAILED:
        assert by[apps].message == "Deployment/app: image pull failed"
    if expected is Outcome.TIMED_OUT:
        assert "Reconciliation in progress" in by[apps].message
