"""``fluxbot reconcile`` as a process against the fake cluster and Receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.support.flux_receiver_fake import ReceiverFake
from tests.support.kube_fake import REQUESTED_AT, Behaviour, KubeFake

SHA = "feedfacefeedfacefeedfacefeedfacefeedface"


async def fluxbot(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLUXBOT_", "KUBE"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**clean, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_kubernetes_ready_json(kube_api: KubeFake, tmp_path: Path) -> None:
    kube_api.add_kustomization("apps", "web", Behaviour("ready", after=2))
    kube_api.push(SHA)
    kc = str(kube_api.kubeconfig(tmp_path / "kc"))
    code, out, err = await fluxbot(
        "reconcile", "-k", "apps/web", "--kubeconfig", kc, "--revision", SHA,
        "--interval", "20ms", "--timeout", "20s", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["state"] == "success" and data["triggered_via"] == "kubernetes"
    assert data["kustomizations"] == [
        {
            "kustomization": "apps/web",
            "result": "ready",
            "message": f"Applied revision: main@sha1:{SHA}",
        }
    ]
    paths = [p for p, _ in kube_api.patches()]
    assert paths[0].endswith("/gitrepositories/flux-system") and paths[1].endswith(
        "/apps/kustomizations/web"
    )


async def test_failure_exits_1_with_one_line(kube_api: KubeFake, tmp_path: Path) -> None:
    kube_api.add_kustomization("flux-system", "flux-system", Behaviour("failed", message="bad"))
    kc = str(kube_api.kubeconfig(tmp_path / "kc"))
    code, out, err = await fluxbot("reconcile", "--kubeconfig", kc, "--interval", "20ms")
    assert code == 1, err
    assert "flux-system/flux-system\tfailed\tbad" in out, err
    assert err.strip().splitlines() == ["error: 1 of 1 Kustomizations failed"]


async def test_timeout_exits_1(kube_api: KubeFake, tmp_path: Path) -> None:
    kube_api.add_kustomization("flux-system", "flux-system", Behaviour("stuck"))
    kc = str(kube_api.kubeconfig(tmp_path / "kc"))
    code, out, err = await fluxbot(
        "reconcile", "--kubeconfig", kc, "--interval", "20ms", "--timeout", "300ms"
    )
    assert code == 1 and "timed out" in out and "timed out" in err


async def test_receiver_no_wait(
    flux_receiver: ReceiverFake, kube_api: KubeFake, tmp_path: Path
) -> None:
    url = flux_receiver.add("fluxbot", "flux-system", "tok", "github", events=("push",))
    secret = tmp_path / "secret"
    secret.write_text("tok\n")
    code, _out, err = await fluxbot(
        "reconcile", "--receiver-url", url, "--receiver-secret-file", str(secret),
        "--receiver-type", "github", "--no-wait",
    )  # fmt: skip
    assert code == 0, err
    assert flux_receiver.calls[-1][1] == 200
    repo = kube_api.objects[("gitrepositories", "flux-system", "flux-system")]
    assert REQUESTED_AT in repo["metadata"]["annotations"]
    # the secret from the environment works too; a wrong one is a one-line error
    code, _out, err = await fluxbot(
        "reconcile", "--receiver-url", url, "--no-wait", "--receiver-type", "github",
        env={"FLUXBOT_RECEIVER_SECRET": "wrong"},
    )  # fmt: skip
    assert code == 1 and err.strip().splitlines() == [
        f"error: Flux receiver at {url.split('/')[2]}: HTTP 400 (signature or event refused)"
    ]


def test_usage_errors() -> None:
    from click.testing import CliRunner

    from bot.app.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["reconcile", "-k", "a/b/c"])
    assert result.exit_code == 1 and "NAMESPACE/NAME" in result.output
    result = runner.invoke(main, ["reconcile", "--receiver-url", "http://x/hook/y"])
    assert result.exit_code == 1 and "--revision" in result.output
    assert runner.invoke(main, ["reconcile", "--bogus"]).exit_code == 2
    assert runner.invoke(main, ["reconcile", "--timeout", "soon"]).exit_code == 1
