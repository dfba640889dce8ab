"""``fluxbot reconcile``: ask Flux to reconcile now and (by default) wait for the rollout.

    fluxbot reconcile                                    # flux-system/flux-system, kubeconfig
    fluxbot reconcile -k apps/web -k infra/ingress --revision $GITHUB_SHA --timeout 5m
    fluxbot reconcile --receiver-url https://flux.example.com/hook/… \\
        --receiver-secret-file /run/secrets/receiver --no-wait

Through the Kubernetes API (``--kubeconfig``, ``FLUXBOT_KUBECONFIG``, the pod's service account
with ``--in-cluster``, or ``~/.kube/config``) it merge-patches
``reconcile.fluxcd.io/requestedAt`` on the GitRepository (``--source``, default
``flux-system/flux-system``) and then on each Kustomization, as ``flux reconcile ks
--with-source`` does. With ``--receiver-url`` it signs a request to a Flux
Receiver instead (secret from ``--receiver-secret-file`` or ``FLUXBOT_RECEIVER_SECRET``).
Waiting needs the Kubernetes API; ready means Ready=True at ``--revision`` (or, without one,
after handling this request). Exit 0 when every Kustomization is ready, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from bot.adapters.kube import (
    GITREPOSITORY,
    KUSTOMIZATION,
    KubeFlux,
    ReceiverTrigger,
    ReceiverType,
    parse_duration,
    watch,
)
from bot.app.cli.app import echo_json, main
from bot.app.settings import Settings
from bot.core.errors import ConfigError, ReconcileError
from bot.core.rollout import KsRef, Observation, Outcome, Result, evaluate, overall, rfc3339nano


@dataclass(frozen=True)
class _Options:
    kustomizations: tuple[KsRef, ...]
    sources: tuple[KsRef, ...]
    receiver_url: str | None
    receiver_secret: str | None
    receiver_type: ReceiverType
    kubeconfig: str | None
    context: str | None
    in_cluster: bool
    revision: str
    branch: str
    wait: bool
    timeout: float
    interval: float


def _refs(values: Sequence[str]) -> tuple[KsRef, ...]:
    return tuple(dict.fromkeys(KsRef.parse(v) for v in values))


async def _run(opts: _Options) -> tuple[str, list[Result]]:
    at = rfc3339nano(time.time_ns())
    use_kube = opts.receiver_url is None or opts.wait
    how = ""
    if opts.receiver_url is not None:
        if not opts.receiver_secret:
            raise ConfigError(
                "--receiver-url needs --receiver-secret-file or FLUXBOT_RECEIVER_SECRET"
            )
        trigger = ReceiverTrigger(opts.receiver_url, opts.receiver_secret, opts.receiver_type)
        payload = {"source": "fluxbot", "ref": f"refs/heads/{opts.branch}"}
        if opts.revision:
            payload["after"] = opts.revision
        await trigger.trigger(payload)
        how = "receiver"
    if not use_kube:
        return how, []
    async with KubeFlux.open(opts.kubeconfig, opts.context, opts.in_cluster) as kube:
        if not how:
            for src in opts.sources:
                await kube.request_reconcile(GITREPOSITORY, src, at)
            for ks in opts.kustomizations:
                await kube.request_reconcile(KUSTOMIZATION, ks, at)
            how = "kubernetes"
        if not opts.wait:
            return how, []
        requested = at if how == "kubernetes" else None

        async def observe(ref: KsRef) -> Observation:
            obj = await kube.get(KUSTOMIZATION, ref)
            if obj is None:
                return Observation(Outcome.FAILED, "Kustomization not found in the cluster")
            return evaluate(obj, opts.revision, requested)

        results = await watch(
            opts.kustomizations,
            observe,
            timeout=opts.timeout,
            interval=opts.interval,
            clock=time.monotonic,
            sleep=asyncio.sleep,
        )
    return how, results


@main.command("reconcile")
@click.option(
    "-k",
    "--kustomization",
    "kustomizations",
    multiple=True,
    metavar="NS/NAME",
    help="Kustomization to reconcile (repeatable; default flux-system/flux-system).",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NS/NAME",
    help="GitRepository to reconcile first (repeatable; default flux-system/flux-system).",
)
@click.option("--receiver-url", help="Trigger this Flux Receiver instead of the Kubernetes API.")
@click.option(
    "--receiver-secret-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the Receiver's token.",
)
@click.option(
    "--receiver-type",
    type=click.Choice([t.value for t in ReceiverType]),
    default=ReceiverType.GENERIC_HMAC.value,
    show_default=True,
)
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="kubeconfig file.")
@click.option("--context", "kube_context", help="kubeconfig context.")
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account.")
@click.option("--revision", default="", help="Commit the rollout must reach (merge commit sha).")
@click.option("--branch", default="main", show_default=True, help="Branch Flux follows.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Watch the rollout.")
@click.option("--timeout", default="10m", show_default=True, help="How long to wait.")
@click.option("--interval", default="5s", show_default=True, help="Polling interval.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def reconcile_cmd(
    kustomizations: tuple[str, ...],
    sources: tuple[str, ...],
    receiver_url: str | None,
    receiver_secret_file: Path | None,
    receiver_type: str,
    kubeconfig: str | None,
    kube_context: str | None,
    in_cluster: bool,
    revision: str,
    branch: str,
    wait: bool,
    timeout: str,
    interval: str,
    as_json: bool,
) -> None:
    """Ask Flux to reconcile now and report each Kustomization's rollout."""
    settings = Settings.from_env()
    secret = settings.receiver_secret
    if receiver_secret_file is not None:
        secret = receiver_secret_file.read_text(encoding="utf-8").strip()
    default = ("flux-system/flux-system",)
    opts = _Options(
        kustomizations=_refs(kustomizations or default),
        sources=_refs(sources or default),
        receiver_url=receiver_url,
        receiver_secret=secret,
        receiver_type=ReceiverType(receiver_type),
        kubeconfig=kubeconfig or settings.kubeconfig,
        context=kube_context,
        in_cluster=(in_cluster or settings.in_cluster) and not (kubeconfig or settings.kubeconfig),
        revision=revision,
        branch=branch,
        wait=wait,
        timeout=parse_duration(timeout, "timeout"),
        interval=parse_duration(interval, "interval"),
    )
    if receiver_url and wait and not revision:
        raise ConfigError("waiting after a Receiver trigger needs --revision (or use --no-wait)")
    how, results = asyncio.run(_run(opts))
    state, summary = overall(results) if results else (None, "reconcile requested")
    if as_json:
        echo_json(
            {
                "triggered_via": how,
                "state": state.value if state else "requested",
                "summary": summary,
                "kustomizations": [
                    {"kustomization": str(r.ks), "result": r.outcome.value, "message": r.message}
                    for r in results
                ],
            }
        )
    else:
        for r in results:
            click.echo(f"{r.ks}\t{r.outcome.value}\t{r.message}")
        click.echo(summary)
    if any(r.outcome is not Outcome.READY for r in results):
        raise ReconcileError(summary)
