"""Installation-token caching and rate-limit arithmetic, with a recorded-response GitHub client."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub.abc import GitHubAPI

from bot.adapters.github.api import SECONDARY_WAIT, retry_delay
from bot.adapters.github.auth import TokenCache, parse_expiry
from bot.core.errors import ForgeError


class Recorded(GitHubAPI):
    """gidgethub's sans-I/O client answering from a list of (status, body) responses."""

    def __init__(self, responses: list[tuple[int, Any]]) -> None:
        super().__init__("test", base_url="https://ghe.example/api/v3")
        self.responses = responses
        self.calls: list[tuple[str, str, Mapping[str, str]]] = []

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        self.calls.append((method, url, headers))
        status, data = self.responses.pop(0)
        return status, {"content-type": "application/json"}, json.dumps(data).encode()

    async def sleep(self, seconds: float) -> None:
        return None


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def token(n: int, expires: str = "2030-01-01T01:00:00Z") -> tuple[int, Any]:
    return 201, {"token": f"ghs_{n}", "expires_at": expires}


async def test_token_cached_until_margin_before_expiry(pem: str) -> None:
    now = [parse_expiry("2030-01-01T00:00:00Z")]
    cache = TokenCache(margin=300, clock=lambda: now[0])
    gh = Recorded([token(1), token(2, "2030-01-01T02:00:00Z"), token(3)])
    args = {"app_id": "7", "private_key": pem}
    assert await cache.installation_token(gh, installation_id=5, **args) == "ghs_1"
    now[0] += 3000  # 10 min before expiry: still good
    assert await cache.installation_token(gh, installation_id=5, **args) == "ghs_1"
    now[0] += 400  # within the 5 min margin: refreshed
    assert await cache.installation_token(gh, installation_id=5, **args) == "ghs_2"
    assert await cache.installation_token(gh, installation_id=6, **args) == "ghs_3"
    urls = [url for _m, url, _h in gh.calls]
    assert urls == [
        "https://ghe.example/api/v3/app/installations/5/access_tokens",
        "https://ghe.example/api/v3/app/installations/5/access_tokens",
        "https://ghe.example/api/v3/app/installations/6/access_tokens",
    ]
    assert gh.calls[0][2]["authorization"].startswith("bearer ")


async def test_refused_token_is_a_forge_error_without_secrets(pem: str) -> None:
    gh = Recorded([(401, {"message": "A JSON web token could not be decoded"})])
    with pytest.raises(ForgeError) as info:
        await TokenCache().installation_token(gh, app_id="7", private_key=pem, installation_id=5)
    assert "HTTP 401" in str(info.value) and "PRIVATE" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "headers", "message", "expected"),
    [
        (429, {"retry-after": "7"}, "", 7.0),
        (403, {"retry-after": "2"}, "secondary rate limit", 2.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1010"}, "", 11.0),
        (403, {}, "You have exceeded a secondary rate limit", SECONDARY_WAIT),
        (429, {}, "", SECONDARY_WAIT),
        (403, {"x-ratelimit-remaining": "12"}, "Resource not accessible by integration", None),
        (404, {"retry-after": "1"}, "", None),
        (500, {}, "", None),
    ],
)
def test_retry_delay(
    status: int, headers: dict[str, str], message: str, expected: float | None
) -> None:
    assert retry_delay(status, headers, message, now=1000.0) == expected
