"""Asking Flux to reconcile now and watching the rollout: adapters and the ``reconcile:`` config.

Two ways to trigger, as ``flux reconcile ks --with-source`` would:

* a notification-controller **Receiver** (:class:`ReceiverTrigger`): ``POST`` to its URL
  ``/hook/<sha256(token+name+namespace)>`` with the body signed by the token, ``generic-hmac``
  (``X-Signature: sha256=<hex>``) or ``github`` (``X-Hub-Signature-256`` and ``X-GitHub-Event``);
* the **Kubernetes API** (:class:`KubeFlux`, kubernetes_asyncio): a JSON *merge* patch of
  ``metadata.annotations["reconcile.fluxcd.io/requestedAt"]`` (RFC3339Nano) on the GitRepository,
  then on each Kustomization. The content type is forced to ``application/merge-patch+json``:
  the client would send a dict as a JSON patch, and API servers answer 415 to a
  strategic-merge patch of a custom resource.

Watching (:func:`watch`) polls an observer per Kustomization (the Kubernetes API, or Flux's commit
statuses on the merge commit) until each is ready, failed or the timeout passes.

    async with KubeFlux.open(kubeconfig="~/.kube/config") as kube:
        await kube.request_reconcile(GITREPOSITORY, KsRef("flux-system", "flux-system"), at)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.app.log import get_logger
from bot.core.errors import ConfigError, ReconcileError
from bot.core.rollout import KsRef, Observation, Outcome, Result

log = get_logger(__name__)

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class FluxKind:
    """Where a Flux kind lives in the Kubernetes API."""

    kind: str
    group: str
    version: str
    plural: str


GITREPOSITORY = FluxKind("GitRepository", "source.toolkit.fluxcd.io", "v1", "gitrepositories")
KUSTOMIZATION = FluxKind("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations")


# ---------------------------------------------------------------- the Receiver contract (pure)


def receiver_path(token: str, name: str, namespace: str) -> str:
    """A Receiver's webhook path, as notification-controller computes it."""
    return "/hook/" + hashlib.sha256((token + name + namespace).encode()).hexdigest()


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: ``X-Signature``/``X-Hub-Signature-256``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ReceiverType(StrEnum):
    GENERIC_HMAC = "generic-hmac"
    GITHUB = "github"


def receiver_headers(kind: ReceiverType, body: bytes, secret: str) -> dict[str, str]:
    """The headers a Receiver of ``kind`` checks."""
    headers = {"Content-Type": "application/json", "User-Agent": "fluxbot"}
    if kind is ReceiverType.GITHUB:
        headers["X-Hub-Signature-256"] = sign(body, secret)
        headers["X-GitHub-Event"] = "push"
    else:
        headers["X-Signature"] = sign(body, secret)
    return headers


class ReceiverTrigger:
    """Trigger a Flux Receiver (its Resources list says what reconciles)."""

    def __init__(
        self,
        url: str,
        secret: str,
        kind: ReceiverType = ReceiverType.GENERIC_HMAC,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.path.startswith("/hook/"):
            raise ConfigError("receiver URL must be http(s)://HOST/hook/<digest>")
        self.url, self.kind, self._secret = url, kind, secret
        self.host = parts.netloc
        self._client = client
        self._timeout = timeout

    async def trigger(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        headers = receiver_headers(self.kind, body, self._secret)
        try:
            if self._client is not None:
                resp = await self._client.post(self.url, content=body, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    resp = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ReconcileError(f"Flux receiver at {self.host}: {type(exc).__name__}") from None
        if resp.status_code != 200:
            why = {404: "no such receiver", 400: "signature or event refused"}.get(
                resp.status_code, "failed"
            )
            raise ReconcileError(f"Flux receiver at {self.host}: HTTP {resp.status_code} ({why})")
        log.info("receiver_triggered", host=self.host, type=self.kind.value)


# ---------------------------------------------------------------- the Kubernetes API


class KubeFlux:
    """Flux objects through the Kubernetes API (kubernetes_asyncio's CustomObjectsApi)."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes_asyncio.client import CustomObjectsApi

        self._api = api_client
        self._objects = CustomObjectsApi(api_client)

    @classmethod
    @asynccontextmanager
    async def open(
        cls, kubeconfig: str | None = None, context: str | None = None, in_cluster: bool = False
    ) -> AsyncIterator[KubeFlux]:
        """A client from a kubeconfig file, or the pod's service account when ``in_cluster``."""
        from kubernetes_asyncio import config
        from kubernetes_asyncio.client import ApiClient, Configuration

        conf = Configuration()
        try:
            if in_cluster and not kubeconfig:
                load_incluster: Any = config.load_incluster_config
                load_incluster(client_configuration=conf)
            else:
                await config.load_kube_config(
                    config_file=kubeconfig, context=context, client_configuration=conf
                )
        except (config.ConfigException, OSError, ValueError) as exc:
            raise ReconcileError(f"no Kubernetes access: {type(exc).__name__}: {exc}") from None
        async with ApiClient(conf) as api:
            yield cls(api)

    async def request_reconcile(self, kind: FluxKind, ref: KsRef, at: str) -> None:
        """Merge-patch the ``requestedAt`` annotation (what ``flux reconcile`` does)."""
        body = {"metadata": {"annotations": {REQUESTED_AT: at}}}
        # Forced: a dict body would otherwise go out as application/json-patch+json.
        options: dict[str, Any] = {"_content_type": MERGE_PATCH}
        await self._call(
            f"annotate {kind.kind} {ref}",
            self._objects.patch_namespaced_custom_object(
                kind.group,
                kind.version,
                ref.namespace,
                kind.plural,
                ref.name,
                body,
                **options,
            ),
        )

    async def get(self, kind: FluxKind, ref: KsRef) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        obj = await self._call(
            f"read {kind.kind} {ref}",
            self._objects.get_namespaced_custom_object(
                kind.group, kind.version, ref.namespace, kind.plural, ref.name
            ),
            missing_ok=True,
        )
        return obj if isinstance(obj, dict) else None

    async def _call(self, what: str, call: Awaitable[Any], missing_ok: bool = False) -> Any:
        import aiohttp
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            return await call
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise ReconcileError(
                f"Kubernetes API: {what}: HTTP {exc.status} {exc.reason}"
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ReconcileError(f"Kubernetes API: {what}: {type(exc).__name__}") from None


# ---------------------------------------------------------------- watching


Observer = Callable[[KsRef], Awaitable[Observation]]


async def watch(
    refs: Iterable[KsRef],
    observe: Observer,
    *,
    timeout: float,
    interval: float,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    concurrency: int = 8,
) -> list[Result]:
    """Poll each Kustomization until ready/failed, or until ``timeout`` seconds have passed.

    Each round reads the pending Kustomizations concurrently (at most ``concurrency`` at once).
    """
    pending = sorted(set(refs))
    last: dict[KsRef, Observation] = {}
    done: dict[KsRef, Result] = {}
    deadline = clock() + timeout
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(ref: KsRef) -> Observation:
        async with gate:
            try:
                return await observe(ref)
            except ReconcileError as exc:  # transient: keep polling until the deadline
                return Observation(Outcome.PROGRESSING, str(exc))

    while pending:
        observed = await asyncio.gather(*(one(ref) for ref in pending))
        for ref, obs in zip(list(pending), observed, strict=True):
            last[ref] = obs
            if obs.outcome in (Outcome.READY, Outcome.FAILED):
                done[ref] = Result(ref, obs.outcome, obs.message, obs.revision)
                pending.remove(ref)
        remaining = deadline - clock()
        if not pending or remaining <= 0:
            break
        await sleep(min(interval, remaining))
    for ref in pending:
        obs = last.get(ref, Observation(Outcome.PROGRESSING))
        note = f"still progressing after {timeout:g}s" + (f": {obs.message}" if obs.message else "")
        done[ref] = Result(ref, Outcome.TIMED_OUT, note, obs.revision)
    return [done[r] for r in sorted(done)]


# ---------------------------------------------------------------- the ``reconcile:`` config


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any, what: str) -> float:
    """Seconds from a number or a Go-style duration (``90s``, ``10m``, ``1h30m``)."""
    if isinstance(value, bool):
        raise ConfigError(f"reconcile.{what}: expected seconds or a duration like 10m")
    if isinstance(value, int | float):
        if value <= 0:
            raise ConfigError(f"reconcile.{what}: must be positive")
        return float(value)
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ConfigError(f"reconcile.{what}: expected seconds or a duration like 10m")
    return sum(float(n) * _UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class ReceiverConfig:
    url: str
    type: ReceiverType = ReceiverType.GENERIC_HMAC


@dataclass(frozen=True)
class ReconcileConfig:
    """The ``reconcile:`` section of ``.fluxbot.yaml`` (see docs/reconcile.md)."""

    enabled: bool = True
    branches: tuple[str, ...] = ()  # empty: the default branch
    sources: tuple[KsRef, ...] = ()  # empty: the affected Kustomizations' GitRepositories
    receiver: ReceiverConfig | None = None
    kubernetes: bool | None = None  # None: when the bot has cluster access
    statuses: bool = True  # without cluster access, read Flux's commit statuses
    timeout: float = 600.0
    interval: float = 5.0

    @classmethod
    def parse(cls, raw: Any) -> ReconcileConfig:
        if raw is None:
            return cls()
        if isinstance(raw, bool):
            return cls(enabled=raw)
        if not isinstance(raw, Mapping):
            raise ConfigError("reconcile: expected a mapping")
        known = {"enabled", "branches", "sources", "receiver", "kubernetes", "statuses"}
        known |= {"timeout", "interval"}
        unknown = sorted(set(map(str, raw)) - known)
        if unknown:
            raise ConfigError(f"reconcile: unknown key(s) {', '.join(unknown)}")
        receiver = None
        if raw.get("receiver") is not None:
            rec = raw["receiver"]
            if not isinstance(rec, Mapping) or not isinstance(rec.get("url"), str):
                raise ConfigError("reconcile.receiver: expected {url: ..., type: ...}")
            try:
                rtype = ReceiverType(str(rec.get("type", ReceiverType.GENERIC_HMAC.value)))
            except ValueError:
                raise ConfigError("reconcile.receiver.type: generic-hmac or github") from None
            receiver = ReceiverConfig(rec["url"], rtype)
        kube = raw.get("kubernetes")
        if kube not in (None, True, False, "auto"):
            raise ConfigError("reconcile.kubernetes: true, false or auto")
        branches = raw.get("branches") or ()
        if isinstance(branches, str):
            branches = (branches,)
        return cls(
            enabled=bool(raw.get("enabled", True)),
            branches=tuple(str(b) for b in branches),
            sources=tuple(KsRef.parse(str(s)) for s in raw.get("sources") or ()),
            receiver=receiver,
            kubernetes=None if kube in (None, "auto") else bool(kube),
            statuses=bool(raw.get("statuses", True)),
            timeout=parse_duration(raw.get("timeout", 600), "timeout"),
            interval=parse_duration(raw.get("interval", 5), "interval"),
        )
