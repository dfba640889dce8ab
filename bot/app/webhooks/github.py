"""``POST /webhooks/github``: verify, normalise, deduplicate, enqueue, answer 202 at once.

Answers: 401 for an unsigned, sha1-only or forged delivery (``X-Hub-Signature-256`` is checked by
gidgethub's ``sansio.Event.from_http`` against ``FLUXBOT_GITHUB_WEBHOOK_SECRET``); 413 for a body
over ``max_body_bytes``; 400/415 for one that is not JSON; 503 when no secret is configured or
while shutting down; 200 for ``ping``, for an event fluxbot does not act on and for a redelivery
of an ``X-GitHub-Delivery`` already seen; 202 once the jobs are enqueued (the work runs later).

    setup(app, state)   # from bot.app.server.build_app
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from gidgethub import BadRequest, ValidationFailure, sansio

from bot.app.log import get_logger
from bot.app.webhooks import BIG_BODY, ServerState, answer, read_capped, timed
from bot.core.events.github import label, normalise
from bot.core.events.registry import NotificationError, parse_github_package

log = get_logger(__name__)
ROUTE = "/webhooks/github"
FORGE = "github"
STATE_KEY = web.AppKey("github_webhook_state", ServerState)


async def _handle(request: web.Request, state: ServerState) -> web.Response:
    name = request.headers.get("X-GitHub-Event", "unknown")[:64]
    delivery = request.headers.get("X-GitHub-Delivery", "")[:128]
    secret = state.settings.github_webhook_secret
    if not secret:
        log.error("github.webhook.no_secret")
        return answer(503, "webhook secret not configured")
    signature = request.headers.get("X-Hub-Signature-256")
    if not signature or not signature.startswith("sha256="):
        state.count(FORGE, name, "rejected")
        log.warning("github.webhook.unsigned", hook=name, delivery=delivery, remote=request.remote)
        return answer(401, "X-Hub-Signature-256 required")
    body = await read_capped(request, state.settings.max_body_bytes)
    if body is None:
        state.count(FORGE, name, "rejected")
        log.warning("github.webhook.too_large", hook=name, delivery=delivery)
        return answer(413, "body too large")
    headers = {
        "x-hub-signature-256": signature,  # never the sha1 header: gidgethub would accept it
        "content-type": request.headers.get("Content-Type", ""),
        "x-github-event": name,
        "x-github-delivery": delivery,
    }
    try:
        if len(body) > BIG_BODY:  # HMAC and JSON of megabytes: keep the loop free meanwhile
            event = await asyncio.to_thread(sansio.Event.from_http, headers, body, secret=secret)
        else:
            event = sansio.Event.from_http(headers, body, secret=secret)
    except ValidationFailure:
        state.count(FORGE, name, "rejected")
        log.warning("github.webhook.bad_signature", hook=name, delivery=delivery)
        return answer(401, "signature does not match")
    except BadRequest as exc:
        state.count(FORGE, name, "rejected")
        return answer(int(exc.status_code), "not a JSON delivery")
    if not isinstance(event.data, dict):
        state.count(FORGE, name, "rejected")
        return answer(400, "payload is not an object")
    metric = label(name, event.data)
    if name == "ping":
        state.count(FORGE, metric, "ignored")
        return answer(200, "pong")
    if not state.accepting():  # shutting down: let GitHub's redelivery find the id unclaimed
        state.count(FORGE, metric, "rejected")
        return answer(503, "shutting down")
    if delivery and not await state.deliveries.claim(f"{FORGE}:{delivery}"):
        state.count(FORGE, metric, "duplicate")
        log.info("github.webhook.duplicate", hook=metric, delivery=delivery)
        return answer(200, "duplicate")
    try:
        package = parse_github_package(name, event.data)  # GHCR announces pushes this way
    except NotificationError as exc:
        state.count(FORGE, metric, "rejected")
        return answer(400, "not a container package event", reason=str(exc))
    if package is not None:
        jobs = await state.pushed(package, f"{FORGE}:{delivery}") if package.pushes else []
        state.count(FORGE, metric, "accepted" if jobs else "ignored")
        log.info("github.webhook", hook=metric, delivery=delivery, images=list(package.keys))
        return answer(202 if jobs else 200, "accepted" if jobs else "ignored", jobs=len(jobs))
    normalised = normalise(name, event.data, delivery)
    jobs = await state.submit(normalised)
    state.count(FORGE, metric, "accepted" if jobs else "ignored")
    log.info(
        "github.webhook",
        hook=metric,
        delivery=delivery,
        repo=normalised.repo,
        jobs=[j.kind.value for j in jobs],
    )
    return answer(202 if jobs else 200, "accepted" if jobs else "ignored", jobs=len(jobs))


handle = timed(FORGE, STATE_KEY, _handle)


def setup(app: web.Application, state: ServerState) -> None:
    """Mount ``POST /webhooks/github`` on ``app``."""
    app[STATE_KEY] = state
    app.router.add_post(ROUTE, handle)
