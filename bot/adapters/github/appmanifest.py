"""GitHub's side of the App manifest flow: exchange the code, and set a webhook secret if needed.

``POST /app-manifests/{code}/conversions`` takes no credentials (the code is the credential,
valid for an hour, once). When GitHub returns no webhook secret, one is generated and set with the
App's JWT (``PATCH /app/hook/config``), so the server can verify every delivery from the start.

    creds = await convert(client, "https://api.github.com", code)
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import httpx

from bot.adapters.github.api import API_VERSION
from bot.adapters.github.auth import app_jwt
from bot.core.appmanifest import AppCredentials
from bot.core.errors import ForgeError

HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": API_VERSION,
    "User-Agent": "fluxbot",
}


def _fail(what: str, resp: httpx.Response) -> ForgeError:
    why = {404: "unknown or expired code (codes last an hour and work once)", 422: "refused"}
    return ForgeError(f"GitHub {what}: HTTP {resp.status_code} {why.get(resp.status_code, '')}")


async def convert(client: httpx.AsyncClient, api_url: str, code: str) -> AppCredentials:
    """The App created from the manifest ``code``, with a webhook secret set."""
    url = f"{api_url.rstrip('/')}/app-manifests/{quote(code, safe='')}/conversions"
    try:
        resp = await client.post(url, headers=HEADERS)
    except httpx.HTTPError as exc:
        raise ForgeError(f"GitHub App conversion: {type(exc).__name__}") from None
    if resp.status_code != 201:
        raise _fail("App conversion", resp)
    creds = AppCredentials.from_conversion(_json(resp))
    if creds.webhook_secret is None:
        secret = secrets.token_hex(32)
        await _call(
            client, "PATCH", f"{api_url.rstrip('/')}/app/hook/config", creds, {"secret": secret}
        )
        creds = creds.with_webhook_secret(secret)
    return creds


async def verify(client: httpx.AsyncClient, api_url: str, creds: AppCredentials) -> str:
    """Sign in as the App (``GET /app`` with its JWT); returns the App's slug."""
    data = await _call(client, "GET", f"{api_url.rstrip('/')}/app", creds, None)
    return str(data.get("slug") or "")


async def _call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    creds: AppCredentials,
    body: dict[str, Any] | None,
) -> dict[str, Any]:
    token = app_jwt(str(creds.app_id), creds.private_key)
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    try:
        resp = await client.request(method, url, headers=headers, json=body)
    except httpx.HTTPError as exc:
        raise ForgeError(
            f"GitHub {method} {url.rsplit('/', 2)[-2:]}: {type(exc).__name__}"
        ) from None
    if resp.status_code != 200:
        raise _fail(f"{method} {httpx.URL(url).path}", resp)
    return _json(resp)


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        raise ForgeError(f"GitHub answered {resp.status_code} with no JSON") from None
    if not isinstance(data, dict):
        raise ForgeError("GitHub answered with JSON that is not an object")
    return data
