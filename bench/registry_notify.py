"""Push-to-PR latency of registry notifications, on loopback (target: under 5 s).

    python bench/registry_notify.py [--pushes 10]

1. Starts the fake GitHub (every request checked against GitHub's OpenAPI), the real server
   application (``bot.app.server.build_app``) on 127.0.0.1 with a one-hour tag cache, and Debian's
   ``docker-registry`` whose ``notifications.endpoints`` entry points at ``/webhooks/registry``.
2. One repository uses one image; a first plan opens the PR (and fills the image index).
3. ``--pushes`` times: push the next tag with the registry's HTTP API, and time until the open PR's
   title carries it (the notification, the invalidation, the re-plan and the GitHub writes).
4. Prints each latency, p50 and max, and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from openapi_core import Config, OpenAPI  # noqa: E402

from bot.adapters.registry import RegistryClient  # noqa: E402
from bot.adapters.registry.cache import MemoryTagCache  # noqa: E402
from bot.app.server import RUNTIME, build_app  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from tests.integration.test_github_e2e import DEPLOY, FLUX, _until  # noqa: E402
from tests.support.github_fake import FakeGitHub  # noqa: E402
from tests.support.registry_process import Notify, start_registry  # noqa: E402

SPEC = ROOT / "tests/node_modules/@octokit/openapi/generated/api.github.com.json"
TOKEN = "ghp_bench_token_0123456789"
NOTIFY = "bench-registry-token"
REPO = "bench/gitops"


async def run(pushes: int) -> None:
    spec = OpenAPI.from_dict(
        json.loads(SPEC.read_text("utf-8")), config=Config(spec_validator_cls=None)
    )
    fake = FakeGitHub(spec).start()
    fake.add_token(TOKEN)
    settings = Settings(
        github_api_url=fake.url,
        github_token=TOKEN,
        github_webhook_secret="bench",
        github_write_interval=0.0,
        insecure_registries=("127.0.0.1",),
        registry_webhook_token=NOTIFY,
    )
    async with RegistryClient(insecure=["127.0.0.1"], cache=MemoryTagCache(3600.0)) as tags:
        app = build_app(settings, registry=tags, schedule=False)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        with tempfile.TemporaryDirectory() as tmp:
            url = f"http://127.0.0.1:{port}/webhooks/registry"
            registry = start_registry(Path(tmp), notify=Notify(url, NOTIFY))
            try:
                image = f"{registry.host}/bench/app"
                await asyncio.to_thread(registry.seed, "bench/app", ["1.0.0", "1.1.0"])
                fake.create_repo(
                    REPO,
                    {
                        "flux/images.yaml": FLUX.format(image=image),
                        "apps/deploy.yaml": DEPLOY.format(image=image),
                    },
                )
                from bot.app.freshness import update_job
                from bot.ports import RepoRef

                rt = app[RUNTIME]
                await rt.queue.enqueue(update_job(RepoRef("github", REPO), "bench-first"))
                await _until(lambda: len(fake.pulls(REPO)) == 1)
                await rt.queue.wait_idle()
                latencies: list[float] = []
                for n in range(pushes):
                    tag = f"1.2.{n}"
                    started = time.monotonic()
                    await asyncio.to_thread(registry.seed, "bench/app", [tag])

                    def carried(tag: str = tag) -> bool:
                        pulls = [p for p in fake.pulls(REPO) if p["state"] == "open"]
                        return len(pulls) == 1 and tag in pulls[0]["title"]

                    await _until(carried)
                    latencies.append(time.monotonic() - started)
                    print(f"push {tag}: PR carried it after {latencies[-1]:.3f} s", flush=True)
                    await rt.queue.wait_idle()
            finally:
                registry.close()
        await runner.cleanup()
    fake.close()
    print(
        f"push-to-PR latency over {pushes} pushes: p50 {statistics.median(latencies):.3f} s, "
        f"max {max(latencies):.3f} s (target < 5 s); load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(run(args.pushes))


if __name__ == "__main__":
    main()
