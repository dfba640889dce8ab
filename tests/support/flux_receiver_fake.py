"""A fake Flux notification-controller Receiver endpoint (aiohttp), per its documented contract.

``POST /hook/<sha256(token + name + namespace)>``: an unknown path → 404; a ``generic-hmac``
receiver checks ``X-Signature: <alg>=<hex HMAC of the body>`` (sha1/sha256/sha512, as go-github's
``ValidateSignature``), a ``github`` receiver ``X-Hub-Signature-256`` (or ``X-Hub-Signature``), a
JSON content type, a known ``X-GitHub-Event`` with a JSON object body (go-github's
``ParseWebHook``) and, when ``events`` is set, that event in it → 400 when anything fails;
otherwise each resource of the receiver is asked to reconcile (``on_trigger``), answer 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

_ALGS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


# A few of the event types go-github's ParseWebHook knows (enough for what a bot sends).
_GITHUB_EVENTS = frozenset({"ping", "push", "pull_request", "release", "create", "status"})


def _json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def webhook_path(token: str, name: str, namespace: str) -> str:
    """notification-controller's ``Receiver.GetWebhookPath``: sha256 of token+name+namespace."""
    return "/hook/" + hashlib.sha256((token + name + namespace).encode()).hexdigest()


def _valid_signature(header: str, body: bytes, token: str) -> bool:
    alg, _, digest = header.partition("=")
    fn = _ALGS.get(alg)
    if fn is None or not digest:
        return False
    expected = hmac.new(token.encode(), body, fn).hexdigest()
    return hmac.compare_digest(expected, digest)


@dataclass
class FakeReceiver:
    name: str
    namespace: str
    token: str
    type: str
    events: tuple[str, ...]
    resources: tuple[tuple[str, str, str], ...]  # (kind, namespace, name)


@dataclass
class ReceiverFake:
    """Receivers by webhook path; ``calls`` records (path, status) of every delivery."""

    on_trigger: Callable[[tuple[str, str, str]], None] | None = None
    receivers: dict[str, FakeReceiver] = field(default_factory=dict)
    calls: list[tuple[str, int]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    url: str = ""

    def add(
        self,
        name: str,
        namespace: str,
        token: str,
        type: str = "generic-hmac",
        events: tuple[str, ...] = (),
        resources: tuple[tuple[str, str, str], ...] = (
            ("GitRepository", "flux-system", "flux-system"),
        ),
    ) -> str:
        """Register a Receiver; returns its full URL."""
        path = webhook_path(token, name, namespace)
        self.receivers[path] = FakeReceiver(name, namespace, token, type, events, resources)
        return self.url + path

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook/{digest}", self._handle)
        return app

    def _validate(self, rec: FakeReceiver, request: web.Request, body: bytes) -> bool:
        if rec.type == "generic":
            return True
        if rec.type == "generic-hmac":
            return _valid_signature(request.headers.get("X-Signature", ""), body, rec.token)
        if rec.type == "github":
            sig = (
                request.headers.get("X-Hub-Signature-256")
                or request.headers.get("X-Hub-Signature")
                or ""
            )
            if not _valid_signature(sig, body, rec.token):
                return False
            if request.content_type not in (
                "application/json",
                "application/x-www-form-urlencoded",
            ):
                return False
            event = request.headers.get("X-GitHub-Event", "")
            # go-github's ParseWebHook: an unknown event type, or a body that is not a JSON
            # object of that event, is refused before the events filter.
            if event.lower() not in _GITHUB_EVENTS or not _json_object(body):
                return False
            return not rec.events or any(event.lower() == e.lower() for e in rec.events)
        return False

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        rec = self.receivers.get(request.path)
        if rec is None:
            self.calls.append((request.path, 404))
            return web.Response(status=404)
        if not self._validate(rec, request, body):
            self.calls.append((request.path, 400))
            return web.Response(status=400)
        self.bodies.append(body)
        for resource in rec.resources:
            if self.on_trigger is not None:
                self.on_trigger(resource)
        self.calls.append((request.path, 200))
        return web.Response(status=200)
