"""A real push to Distribution 2.8 → its real notification → ``POST /webhooks/registry`` → the
cached tags are forgotten and the repository that uses the image is re-planned → the open PR
carries the new tag. The tag cache TTL is an hour: only the notification can explain the update.

Real components: ``docker-registry`` with a ``notifications.endpoints`` entry pointing at the
test server, the aiohttp app of ``fluxbot serve``, the fake GitHub (OpenAPI-checked).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from bot.adapters.registry import RegistryClient
from bot.adapters.registry.cache import MemoryTagCache
from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from tests.integration.test_github_e2e import DEPLOY, FLUX, REPO_NAME, _until, push_delivery
from tests.support.github_fixtures import GITHUB_TEST_TOKEN, WEBHOOK_SECRET
from tests.support.registry_fixtures import _require_binary
from tests.support.registry_process import Notify, start_registry

TOKEN = "registry-notify-token-0123456789"


async def test_real_push_notification_moves_the_open_pr(
    aiohttp_client: Any, github_fake: Any, webhook_examples: dict[str, Any], tmp_path: Path
) -> None:
    _require_binary()
    settings = Settings(
        github_api_url=github_fake.url,
        github_token=GITHUB_TEST_TOKEN,
        github_webhook_secret=WEBHOOK_SECRET,
        github_write_interval=0.0,
        insecure_registries=("127.0.0.1",),
        registry_webhook_token=TOKEN,
    )
    cache = MemoryTagCache(ttl=3600.0)  # stale for an hour, unless a notification says so
    async with RegistryClient(insecure=["127.0.0.1"], cache=cache) as tags:
        client = await aiohttp_client(build_app(settings, registry=tags, schedule=False))
        url = f"http://127.0.0.1:{client.port}/webhooks/registry"
        with start_registry(tmp_path, notify=Notify(url, TOKEN)) as registry:
            repository = f"notify/app-{uuid.uuid4().hex[:8]}"
            image = f"{registry.host}/{repository}"
            await asyncio.to_thread(registry.seed, repository, ["1.0.0", "1.1.0"])
            github_fake.create_repo(
                REPO_NAME,
                {
                    "flux/images.yaml": FLUX.format(image=image),
                    "apps/deploy.yaml": DEPLOY.format(image=image),
                },
            )
            queue = client.app[RUNTIME].queue
            resp = await client.post(
                "/webhooks/github",
                data=push_delivery(webhook_examples)[0],
                headers=push_delivery(webhook_examples)[1],
            )
            assert resp.status == 202
            await asyncio.wait_for(queue.wait_idle(), 60)
            (pr,) = github_fake.pulls(REPO_NAME)
            assert "1.1.0" in pr["title"]
            assert await cache.get(f"{registry.host}/{repository}") is not None  # cached

            started = time.monotonic()
            await asyncio.to_thread(registry.seed, repository, ["1.2.0"])  # the real push

            def moved() -> bool:
                pulls = github_fake.pulls(REPO_NAME)
                return len(pulls) == 1 and "1.2.0" in pulls[0]["title"]

            await _until(moved, timeout=20)
            latency = time.monotonic() - started
            await asyncio.wait_for(queue.wait_idle(), 60)
        (pull,) = github_fake.pulls(REPO_NAME)
        assert pull["number"] == pr["number"]  # the same PR moved
        files = github_fake.files(REPO_NAME, pull["head"]["ref"])
        assert f"{image}:1.2.0" in files["apps/deploy.yaml"]
        metrics = await (await client.get("/metrics")).text()
        assert (
            'fluxbot_webhook_deliveries_total{event="distribution",forge="registry",result="accepted"}'
            in metrics
        ), metrics
        print(f"push-to-PR latency {latency:.2f} s")
        assert latency < 20
