"""``POST /webhooks/registry``: a registry announces a push; invalidate its tags, re-plan its users.

Authenticated by ``Authorization: Bearer $FLUXBOT_REGISTRY_WEBHOOK_TOKEN`` (compared in constant
time). Formats: :mod:`bot.core.events.registry` (Distribution envelopes, Harbor, Quay, Docker Hub;
GHCR arrives on ``/webhooks/github``). Answers: 404 when no token is configured (the endpoint does
not exist), 401 for a missing or wrong token, 413 past ``max_body_bytes``, 400 for a body that is
not one of the formats, 503 while shutting down or when the queue is unreachable, 200 for a
delivery with nothing to do (pulls, deletes, an image no repository uses, a redelivered event id),
202 once update jobs are enqueued. A Distribution registry configured like this reaches it::

    notifications:
      endpoints:
        - name: fluxbot
          url: https://fluxbot.example.com/webhooks/registry
          headers: {Authorization: [Bearer <token>]}
          ignoredmediatypes: [application/octet-stream]
"""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from bot.app.log import get_logger
from bot.app.webhooks import ServerState, answer, read_capped, timed
from bot.core.events.registry import NotificationError, parse_notification

log = get_logger(__name__)
ROUTE = "/webhooks/registry"
FORGE = "registry"
STATE_KEY = web.AppKey("registry_webhook_state", ServerState)


def _authorised(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


async def _handle(request: web.Request, state: ServerState) -> web.Response:
    token = state.settings.registry_webhook_token
    if not token:
        return answer(404, "not found")
    if not _authorised(request.headers.get("Authorization", ""), token):
        state.count(FORGE, "unknown", "rejected")
        log.warning("registry.webhook.unauthorised", remote=request.remote)
        return answer(401, "bearer token required")
    body = await read_capped(request, state.settings.max_body_bytes)
    if body is None:
        state.count(FORGE, "unknown", "rejected")
        return answer(413, "body too large")
    try:
        notice = parse_notification(json.loads(body))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and NotificationError
        state.count(FORGE, "unknown", "rejected")
        reason = str(exc) if isinstance(exc, NotificationError) else "not JSON"
        log.warning("registry.webhook.malformed", reason=reason)
        return answer(400, "not a registry notification", reason=reason)
    kind = notice.sender.value
    if not notice.pushes:
        state.count(FORGE, kind, "ignored")
        return answer(200, "ignored", ignored=notice.ignored)
    if not state.accepting():
        state.count(FORGE, kind, "rejected")
        return answer(503, "shutting down")
    ids = [p.event_id for p in notice.pushes if p.event_id]
    delivery = ids[0] if ids else ""
    if ids and not any([await state.deliveries.claim(f"{FORGE}:{i}") for i in ids]):
        state.count(FORGE, kind, "duplicate")
        return answer(200, "duplicate")
    jobs = await state.pushed(notice, delivery)
    state.count(FORGE, kind, "accepted" if jobs else "ignored")
    log.info("registry.webhook", sender=kind, images=list(notice.keys), jobs=len(jobs))
    return answer(202 if jobs else 200, "accepted" if jobs else "ignored", jobs=len(jobs))


handle = timed(FORGE, STATE_KEY, _handle)


def setup(app: web.Application, state: ServerState) -> None:
    """Mount ``POST /webhooks/registry`` on ``app``."""
    app[STATE_KEY] = state
    app.router.add_post(ROUTE, handle)
