"""``POST /webhooks/gitlab``: verify, normalise, deduplicate, enqueue, answer fast.

GitLab sends the hook's secret token in ``X-Gitlab-Token``; it is compared with
``FLUXBOT_GITLAB_WEBHOOK_SECRET`` in constant time. Only a missing or wrong token gets 401:
GitLab disables a hook that keeps answering 4xx, so every authentic delivery fluxbot does not act
on (other hooks, malformed or oversized bodies, redeliveries) is answered 200, and an accepted one
202 once its jobs are enqueued (the work runs later); while the server drains, 503 (GitLab retries
later) without claiming the delivery id. Redeliveries are recognised by
``Idempotency-Key``, which GitLab keeps across its retries (on older GitLab, by
``X-Gitlab-Event-UUID`` together with the hook and the payload's digest: see :func:`dedupe_key`).
fluxbot's own events are recognised by the GitLab token's username (``FLUXBOT_GITLAB_BOT_LOGIN``,
else asked from ``GET /user`` at startup), independent of the GitHub App's ``bot_login``.

    setup(app, state)   # from bot.app.server.build_app
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

from aiohttp import web

from bot.app.log import get_logger
from bot.app.webhooks import BIG_BODY, ServerState, answer, read_capped, timed
from bot.core.errors import BotError, WebhookError
from bot.core.events import Event, EventKind
from bot.core.events.gitlab import normalise

log = get_logger(__name__)

ROUTE = "/webhooks/gitlab"
FORGE = "gitlab"
STATE_KEY = web.AppKey("gitlab_webhook_state", ServerState)


def authentic(token: str | None, secret: str | None) -> bool:
    """Whether the delivery's token is the configured secret (constant time; no secret → no)."""
    if not secret or token is None:
        return False
    return hmac.compare_digest(token.encode("utf-8"), secret.encode("utf-8"))


def delivery_key(headers: Any) -> str:
    """The id GitLab keeps across retries of one delivery ("" when it sent none)."""
    return str(headers.get("Idempotency-Key") or headers.get("X-Gitlab-Event-UUID") or "")[:200]


def dedupe_key(headers: Any, hook: str, body: bytes) -> str:
    """What a redelivery shares with the first delivery, and nothing else does ("" = unknown).

    ``Idempotency-Key`` (GitLab 17.4+) is exactly that. ``X-Gitlab-Event-UUID`` is not: it is
    GitLab's webhook-recursion id, shared by every hook fired within one request (a push and the
    merge-request update it causes), so as a fallback it only counts together with the hook
    name and the payload's digest.
    """
    key = headers.get("Idempotency-Key")
    if key:
        return str(key)[:200]
    uuid = headers.get("X-Gitlab-Event-UUID")
    if not uuid:
        return ""
    digest = hashlib.sha256(body).hexdigest()[:32]
    return f"{str(uuid)[:200]}:{hook[:64]}:{digest}"


def _parse(hook: str, body: bytes, key: str) -> Event:
    return normalise(hook, json.loads(body), key)


async def _handle(request: web.Request, state: ServerState) -> web.Response:
    hook = request.headers.get("X-Gitlab-Event", "")
    if not authentic(request.headers.get("X-Gitlab-Token"), state.settings.gitlab_webhook_secret):
        state.count(FORGE, hook or "unknown", "rejected")
        log.warning("gitlab.webhook.unauthorized", hook=hook, remote=request.remote)
        return answer(401, "unauthorized")
    key = delivery_key(request.headers)
    body = await read_capped(request, state.settings.max_body_bytes)
    if body is None:
        state.count(FORGE, hook, "rejected")
        log.warning("gitlab.webhook.too_large", hook=hook, delivery=key)
        return answer(200, "ignored", reason="body too large")
    try:
        if len(body) > BIG_BODY:  # JSON of megabytes: keep the event loop free meanwhile
            event = await asyncio.to_thread(_parse, hook, body, key)
        else:
            event = _parse(hook, body, key)
    except (ValueError, RecursionError, WebhookError) as exc:  # RecursionError: nesting bomb
        state.count(FORGE, hook, "rejected")
        log.warning("gitlab.webhook.malformed", hook=hook, delivery=key, error=str(exc)[:200])
        return answer(200, "ignored", reason="malformed payload")
    if not state.accepting():  # draining: 503 and no claim, so GitLab's retry is not a duplicate
        state.count(FORGE, hook, "rejected")
        return answer(503, "shutting down")
    claim = dedupe_key(request.headers, hook, body)
    if claim and not await state.deliveries.claim(f"{FORGE}:{claim}"):
        state.count(FORGE, hook, "duplicate")
        log.info("gitlab.webhook.duplicate", hook=hook, delivery=key, repo=event.repo)
        return answer(200, "duplicate")
    if event.kind is EventKind.IGNORED:
        state.count(FORGE, hook, "ignored")
        return answer(200, "ignored")
    jobs = await state.submit(event)
    state.count(FORGE, hook, "accepted" if jobs else "ignored")
    log.info(
        "gitlab.webhook",
        hook=hook,
        delivery=key,
        repo=event.repo,
        kind=event.kind.value,
        jobs=[j.kind.value for j in jobs],
    )
    if not jobs:
        return answer(200, "ignored")
    return answer(202, "accepted", jobs=[j.kind.value for j in jobs])


handle = timed(FORGE, STATE_KEY, _handle)  # one delivery; the answers: see the module docstring


async def learn_bot_login(state: ServerState) -> None:
    """Ask GitLab whose token fluxbot holds (``GET /user``) unless ``gitlab_bot_login`` is set."""
    settings = state.settings
    if settings.gitlab_bot_login or not settings.gitlab_token:
        return
    from bot.adapters.gitlab.client import token_username

    try:
        login = await token_username(settings.gitlab_url, settings.gitlab_token, timeout=5.0)
    except BotError as exc:
        log.warning("gitlab.bot_login_unknown", error=str(exc))
        return
    if login:
        state.settings = replace(state.settings, gitlab_bot_login=login)
        log.info("gitlab.bot_login", login=login)


def setup(app: web.Application, state: ServerState) -> None:
    """Add ``POST /webhooks/gitlab`` to ``app``; at startup, learn the token's username."""
    app[STATE_KEY] = state
    app.router.add_post(ROUTE, handle)

    async def on_startup(app: web.Application) -> None:
        await learn_bot_login(state)

    app.on_startup.append(on_startup)
