"""``POST /webhooks/registry`` and GHCR package events on the real aiohttp app: authentication,
the sender formats, what is ignored, and the targeted update jobs from the image index."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.registry.cache import MemoryTagCache, SQLiteTagCache
from bot.adapters.registry.client import RegistryClient
from bot.adapters.registry.index import MemoryImageIndex, SQLiteImageIndex
from bot.app.freshness import Freshness, recording
from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from bot.core.dispatch import Job, JobKind
from bot.core.errors import ConfigError
from bot.core.events import Event, EventKind
from bot.core.events.registry import (
    NotificationError,
    Sender,
    parse_github_package,
    parse_notification,
)
from bot.ports import RepoRef
from tests.support.github_fixtures import WEBHOOK_SECRET
from tests.unit.test_server_webhooks import Recorder, headers

TOKEN = "registry-token-abcdef"
SETTINGS = Settings(
    github_webhook_secret=WEBHOOK_SECRET, registry_webhook_token=TOKEN, max_body_bytes=64 * 1024
)
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
GITOPS = RepoRef("github", "acme/gitops", 42)


def envelope(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events)}


def push(repository: str = "team/app", tag: str = "1.2.0", **extra: Any) -> dict[str, Any]:
    event = {
        "id": extra.pop("id", f"ev-{repository}-{tag}"),
        "timestamp": "2026-12-07T23:00:00Z",
        "action": extra.pop("action", "push"),
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + "a" * 64,
            "repository": repository,
            "url": f"http://reg.example:5000/v2/{repository}/manifests/sha256:{'a' * 64}",
            "tag": tag,
        },
        "request": {"host": "reg.example:5000", "method": "PUT"},
    }
    event.update(extra)
    return event


HARBOR = {
    "type": "PUSH_ARTIFACT",
    "occur_at": 1700000000,
    "operator": "admin",
    "event_data": {
        "resources": [
            {
                "digest": "sha256:" + "b" * 64,
                "tag": "2.0.0",
                "resource_url": "harbor.example.com/library/app:2.0.0",
            }
        ],
        "repository": {"name": "app", "namespace": "library", "repo_full_name": "library/app"},
    },
}
QUAY = {
    "repository": "acme/app",
    "namespace": "acme",
    "name": "app",
    "docker_url": "quay.io/acme/app",
    "homepage": "https://quay.io/repository/acme/app",
    "updated_tags": ["3.0.0", "latest"],
}
DOCKER_HUB = {
    "callback_url": "https://registry.hub.docker.com/u/acme/app/hook/x/",
    "push_data": {"pushed_at": 1700000000, "pusher": "acme", "tag": "4.0.0"},
    "repository": {"repo_name": "acme/app", "namespace": "acme", "name": "app"},
}


def test_formats_name_the_image_key_every_cache_uses() -> None:
    n = parse_notification(envelope(push(), push(action="pull"), push(tag="")))
    assert [(p.key, p.tag) for p in n.pushes] == [("reg.example:5000/team/app", "1.2.0")]
    assert n.ignored == 2  # a pull, a push by digest (no tag list changed)
    harbor = parse_notification(HARBOR)
    assert (harbor.sender, harbor.keys) == (Sender.HARBOR, ("harbor.example.com/library/app",))
    quay = parse_notification(QUAY)
    assert quay.keys == ("quay.io/acme/app",) and [p.tag for p in quay.pushes] == [
        "3.0.0",
        "latest",
    ]
    hub = parse_notification(DOCKER_HUB)
    assert hub.keys == ("registry-1.docker.io/acme/app",)  # what the tag cache keys Docker Hub by
    assert parse_notification({**HARBOR, "type": "DELETE_ARTIFACT"}).pushes == ()


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"something": "else"},
        {"events": "nope"},
        {"events": [42]},
        envelope({"action": "push", "target": {"tag": "1"}}),  # no repository, no host
        envelope(push(repository="UPPER/Case")),  # not an image name
        {"type": "PUSH_ARTIFACT", "event_data": {}},
        {"docker_url": "quay.io/a/b"},
        {"push_data": {"tag": "1"}, "repository": {}},
    ],
)
def test_malformed_notifications_are_errors(doc: Any) -> None:
    with pytest.raises(NotificationError):
        parse_notification(doc)


def test_ghcr_package_events(webhook_examples: dict[str, Any]) -> None:
    container = copy.deepcopy(
        next(
            p
            for p in webhook_examples["package"]
            if p["package"]["package_version"].get("container_metadata")
        )
    )
    untagged = parse_github_package("package", container)
    assert untagged is not None and untagged.pushes == ()  # the example is a digest-only version
    version = container["package"]["package_version"]
    version["container_metadata"]["tag"]["name"] = "1.4.0"
    version["package_url"] = "ghcr.io/Codertocat/hello-world:1.4.0"
    notice = parse_github_package("registry_package", container)
    assert notice is not None and notice.keys == ("ghcr.io/codertocat/hello-world",)
    assert notice.pushes[0].tag == "1.4.0"
    npm = next(p for p in webhook_examples["package"] if p["package"]["registry"]["type"] == "npm")
    assert parse_github_package("package", npm) == parse_github_package("package", {**npm})
    assert parse_github_package("package", npm).pushes == ()  # type: ignore[union-attr]
    assert parse_github_package("push", container) is None


async def _app(aiohttp_client: Any, index: MemoryImageIndex, settings: Settings = SETTINGS) -> Any:
    recorder = Recorder()
    client = await aiohttp_client(
        build_app(settings, execute=recorder, schedule=False, index=index)
    )
    return client, recorder


async def test_push_enqueues_one_update_per_indexed_repository(aiohttp_client: Any) -> None:
    index = MemoryImageIndex()
    await index.record(GITOPS, ["reg.example:5000/team/app"], replace=True)
    await index.record(RepoRef("gitlab", "grp/infra"), ["reg.example:5000/team/app"], replace=True)
    await index.record(RepoRef("github", "acme/other"), ["reg.example:5000/other"], replace=True)
    client, recorder = await _app(aiohttp_client, index)
    body = envelope(push(), push(tag="1.2.1", id="ev-2"))  # two tags, one image: one job a repo
    resp = await client.post("/webhooks/registry", json=body, headers=AUTH)
    assert resp.status == 202 and (await resp.json())["jobs"] == 2
    await client.app[RUNTIME].queue.wait_idle()
    got = sorted((j.kind, j.forge, j.repo, j.event.installation_id) for j in recorder.jobs)
    assert got == [
        (JobKind.UPDATE, "github", "acme/gitops", 42),
        (JobKind.UPDATE, "gitlab", "grp/infra", None),
    ]
    again = await client.post("/webhooks/registry", json=body, headers=AUTH)  # redelivered ids
    assert again.status == 200 and (await again.json())["result"] == "duplicate"
    for doc in (HARBOR, QUAY, DOCKER_HUB):  # known formats, images nobody uses: 200, no job
        resp = await client.post("/webhooks/registry", json=doc, headers=AUTH)
        assert resp.status == 200 and (await resp.json())["result"] == "ignored"
    assert len(recorder.jobs) == 2


async def test_registry_webhook_refusals(aiohttp_client: Any) -> None:
    index = MemoryImageIndex()
    await index.record(GITOPS, ["reg.example:5000/team/app"], replace=True)
    client, recorder = await _app(aiohttp_client, index)
    body = json.dumps(envelope(push())).encode()
    post = client.post
    assert (await post("/webhooks/registry", data=body)).status == 401
    for bad in ("Bearer wrong", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"):
        assert (
            await post("/webhooks/registry", data=body, headers={"Authorization": bad})
        ).status == 401
    big = b'{"events": [' + b" " * (70 * 1024) + b"]}"
    assert (await post("/webhooks/registry", data=big, headers=AUTH)).status == 413
    assert (await post("/webhooks/registry", data=b"{nope", headers=AUTH)).status == 400
    resp = await post("/webhooks/registry", json={"events": [{"action": "push"}]}, headers=AUTH)
    assert resp.status == 200  # a push without a tag: nothing announced
    assert (await post("/webhooks/registry", json={"x": 1}, headers=AUTH)).status == 400
    pulls = envelope(push(action="pull", id="p1"), push(action="delete", id="d1"))
    resp = await post("/webhooks/registry", json=pulls, headers=AUTH)
    assert resp.status == 200 and (await resp.json())["ignored"] == 2
    assert recorder.jobs == []
    unconfigured, _ = await _app(aiohttp_client, index, Settings(github_webhook_secret="s"))
    assert (await unconfigured.post("/webhooks/registry", data=body, headers=AUTH)).status == 404


async def test_ghcr_push_on_the_github_webhook(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    index = MemoryImageIndex()
    await index.record(GITOPS, ["ghcr.io/codertocat/hello-world"], replace=True)
    client, recorder = await _app(aiohttp_client, index)
    payload = copy.deepcopy(
        next(
            p
            for p in webhook_examples["package"]
            if p["package"]["package_version"].get("container_metadata")
        )
    )
    payload["package"]["package_version"]["container_metadata"]["tag"]["name"] = "1.4.0"
    body = json.dumps(payload).encode()
    resp = await client.post("/webhooks/github", data=body, headers=headers("package", body))
    assert resp.status == 202
    await client.app[RUNTIME].queue.wait_idle()
    assert [(j.kind, j.repo) for j in recorder.jobs] == [(JobKind.UPDATE, "acme/gitops")]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_index_replace_and_add(kind: str, tmp_path: Path) -> None:
    index = MemoryImageIndex() if kind == "memory" else SQLiteImageIndex(tmp_path / "c.db")
    await index.record(GITOPS, ["a", "b"], replace=True)
    await index.record(RepoRef("github", "acme/gitops", 43), ["c"], replace=False)
    assert await index.repositories("a") == [GITOPS]
    assert await index.repositories("c") == [RepoRef("github", "acme/gitops", 43)]
    await index.record(GITOPS, ["b"], replace=True)  # the repository stopped using a and c
    assert await index.repositories("a") == [] and await index.repositories("c") == []
    assert await index.repositories("b") == [GITOPS]
    if isinstance(index, SQLiteImageIndex):
        index.close()
        assert await SQLiteImageIndex(tmp_path / "c.db").repositories("b") == [GITOPS]


async def test_a_plan_feeds_the_index_and_a_push_invalidates(tmp_path: Path) -> None:
    """``learn`` after an update replaces the repository's images; ``pushed`` forgets the tags
    in the cache (SQLite here) and an in-flight fetch started before the push is not cached."""
    cache = SQLiteTagCache(tmp_path / "t.db", ttl=3600)
    await cache.put("reg.example:5000/team/app", ["1.0.0"])
    async with RegistryClient(cache=cache, resolve_dns=False) as client:
        fresh = Freshness(MemoryImageIndex(), invalidators=lambda: [client])
        tags = recording(client)
        assert await tags.tags("reg.example:5000/team/app") == ["1.0.0"]
        job = Job(
            JobKind.UPDATE,
            "github",
            "acme/gitops",
            Event("github", EventKind.PUSH, "acme/gitops", installation_id=42),
        )
        await fresh.learn(job, tags.keys, "ok")
        enqueued: list[Job] = []

        async def enqueue(j: Job) -> None:
            enqueued.append(j)

        jobs = await fresh.pushed(parse_notification(envelope(push())), enqueue, "d1")
        assert [(j.repo, j.event.installation_id) for j in jobs] == [("acme/gitops", 42)]
        assert enqueued == jobs and jobs[0].event.delivery_id == "d1"
        assert await cache.get("reg.example:5000/team/app") is None
        await fresh.learn(job, set(), "error")  # a failed run forgets nothing
        assert await fresh.index.repositories("reg.example:5000/team/app") != []
        await fresh.learn(job, set(), "ok")  # a plan without the image: dropped
        assert await fresh.index.repositories("reg.example:5000/team/app") == []


async def test_invalidation_during_a_fetch_keeps_the_stale_list_out(tmp_path: Path) -> None:
    import asyncio

    import httpx

    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200, json={"name": "team/app", "tags": ["1.0.0"]})

    cache = MemoryTagCache(ttl=3600)
    async with RegistryClient(
        cache=cache,
        resolve_dns=False,
        insecure=["reg.example:5000"],
        transport=httpx.MockTransport(handler),
    ) as client:
        fetch = asyncio.create_task(client.all_tags("reg.example:5000/team/app"))
        await asyncio.sleep(0.01)
        await client.invalidate("reg.example:5000/team/app")  # the push lands mid-fetch
        release.set()
        assert await fetch == ["1.0.0"]
        assert await cache.get("reg.example:5000/team/app") is None


def test_tag_ttl_setting() -> None:
    assert Settings.from_env({"FLUXBOT_TAG_TTL": "30"}).tag_ttl == 30.0
    assert Settings.from_env({}).tag_ttl is None
    for bad in ("-1", "soon", "inf"):
        with pytest.raises(ConfigError, match="FLUXBOT_TAG_TTL"):
            Settings.from_env({"FLUXBOT_TAG_TTL": bad})
    token = Settings.from_env({"FLUXBOT_REGISTRY_WEBHOOK_TOKEN": "t0k"})
    assert token.registry_webhook_token == "t0k" and "t0k" not in repr(token)


def test_tag_ttl_reaches_every_cache(tmp_path: Path) -> None:
    from bot.adapters.registry.factory import tag_cache_for

    assert tag_cache_for(Settings(tag_ttl=5.0), None).ttl == 5.0  # type: ignore[attr-defined]
    assert tag_cache_for(Settings(tag_ttl=7.0), tmp_path / "c.db").ttl == 7.0  # type: ignore[attr-defined]
    assert tag_cache_for(Settings(), None).ttl == 60.0  # type: ignore[attr-defined]
    assert tag_cache_for(Settings(), tmp_path / "d.db").ttl == 600.0  # type: ignore[attr-defined]
