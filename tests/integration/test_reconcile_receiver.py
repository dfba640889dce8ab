"""The Flux Receiver trigger against the fake notification-controller Receiver on loopback."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from bot.adapters.kube import ReceiverTrigger, ReceiverType, receiver_path, sign
from bot.core.errors import ConfigError, ReconcileError
from tests.support.flux_receiver_fake import ReceiverFake, webhook_path
from tests.support.kube_fake import REQUESTED_AT, KubeFake

TOKEN = "s3cr3t-receiver-token"
SHA = "abcdef0123456789abcdef0123456789abcdef01"


def test_path_digest_is_sha256_of_token_name_namespace() -> None:
    digest = hashlib.sha256(b"tokenreceiverflux-system").hexdigest()
    assert receiver_path("token", "receiver", "flux-system") == "/hook/" + digest
    assert webhook_path("token", "receiver", "flux-system") == "/hook/" + digest
    # order matters: name and namespace swapped is another receiver
    assert receiver_path("token", "flux-system", "receiver") != "/hook/" + digest


def test_signature_format() -> None:
    assert sign(b"{}", "k") == "sha256=" + (
        __import__("hmac").new(b"k", b"{}", hashlib.sha256).hexdigest()
    )


@pytest.mark.parametrize(
    ("kind", "events"),
    [(ReceiverType.GENERIC_HMAC, ()), (ReceiverType.GITHUB, ("ping", "push"))],
)
async def test_trigger_reconciles_the_source(
    flux_receiver: ReceiverFake, kube_api: KubeFake, kind: ReceiverType, events: tuple[str, ...]
) -> None:
    url = flux_receiver.add("fluxbot", "flux-system", TOKEN, kind.value, events)
    kube_api.push(SHA)
    await ReceiverTrigger(url, TOKEN, kind).trigger({"after": SHA})
    assert flux_receiver.calls[-1][1] == 200
    assert json.loads(flux_receiver.bodies[-1]) == {"after": SHA}
    repo = kube_api.objects[("gitrepositories", "flux-system", "flux-system")]
    assert REQUESTED_AT in repo["metadata"]["annotations"]
    assert repo["status"]["artifact"]["revision"] == f"main@sha1:{SHA}"


async def test_wrong_secret_is_400(flux_receiver: ReceiverFake) -> None:
    url = flux_receiver.add("fluxbot", "flux-system", TOKEN)
    with pytest.raises(ReconcileError, match="HTTP 400") as info:
        await ReceiverTrigger(url, "not-the-token").trigger({})
    assert TOKEN not in str(info.value) and "/hook/" not in str(info.value)


async def test_github_receiver_checks_the_event(flux_receiver: ReceiverFake) -> None:
    url = flux_receiver.add("gh", "flux-system", TOKEN, "github", events=("ping",))
    with pytest.raises(ReconcileError, match="HTTP 400"):
        await ReceiverTrigger(url, TOKEN, ReceiverType.GITHUB).trigger({})
    # an event type go-github cannot parse is refused even without an events filter
    url3 = flux_receiver.add("gh3", "flux-system", TOKEN, "github")
    async with httpx.AsyncClient() as http:
        body = b'{"ref":"refs/heads/main"}'
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, TOKEN)}
        for event, status in (("fluxbot", 400), ("", 400), ("push", 200)):
            resp = await http.post(url3, content=body, headers={**headers, "X-GitHub-Event": event})
            assert resp.status_code == status, event
        resp = await http.post(url3, content=b"[]", headers={**headers, "X-GitHub-Event": "push",
                               "X-Hub-Signature-256": sign(b"[]", TOKEN)})  # fmt: skip
        assert resp.status_code == 400
    # the generic-hmac header is not what a github receiver reads
    url2 = flux_receiver.add("gh2", "flux-system", TOKEN, "github")
    with pytest.raises(ReconcileError, match="HTTP 400"):
        await ReceiverTrigger(url2, TOKEN, ReceiverType.GENERIC_HMAC).trigger({})


async def test_unknown_path_is_404(flux_receiver: ReceiverFake) -> None:
    flux_receiver.add("fluxbot", "flux-system", TOKEN)
    wrong = flux_receiver.url + receiver_path(TOKEN, "flux-system", "fluxbot")
    with pytest.raises(ReconcileError, match="HTTP 404"):
        await ReceiverTrigger(wrong, TOKEN).trigger({})
    assert flux_receiver.calls == [(wrong.removeprefix(flux_receiver.url), 404)]


async def test_unsigned_and_forged_requests_are_refused(flux_receiver: ReceiverFake) -> None:
    url = flux_receiver.add("fluxbot", "flux-system", TOKEN)
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(url, content=b"{}")
        assert unsigned.status_code == 400
        forged = await http.post(url, content=b"{}", headers={"X-Signature": "sha256=00"})
        assert forged.status_code == 400


async def test_connection_refused_is_a_reconcile_error() -> None:
    trigger = ReceiverTrigger("http://127.0.0.1:9/hook/abc", TOKEN)
    with pytest.raises(ReconcileError, match=r"127\.0\.0\.1:9"):
        await trigger.trigger({})


def test_receiver_url_must_be_a_hook() -> None:
    with pytest.raises(ConfigError):
        ReceiverTrigger("https://flux.example.com/other", TOKEN)
    with pytest.raises(ConfigError):
        ReceiverTrigger("ftp://flux.example.com/hook/x", TOKEN)
