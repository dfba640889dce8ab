"""The GitHub App that fluxbot needs, as a manifest, and what GitHub hands back when it is created.

GitHub's manifest flow: a form POSTs ``manifest`` (JSON) to ``/settings/apps/new`` (or an
organisation's ``/organizations/ORG/settings/apps/new``) with a ``state``; after the person
confirms, GitHub redirects to the manifest's ``redirect_url`` with ``?code=...&state=...``; ``POST
/app-manifests/{code}/conversions`` turns the code into the App's id, private key and webhook
secret (within an hour, once). This module is the pure half: the manifest, the page with the
form, parsing the conversion, and the files the credentials are written to.

    doc = manifest("https://fluxbot.example.com", name="fluxbot")
    creds = AppCredentials.from_conversion(response_json)
    text = secret_manifest(creds, name="fluxbot", namespace="fluxbot")
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit

from bot.core.errors import ConfigError, ForgeError

WEBHOOK_PATH = "/webhooks/github"
# What the jobs do: commit and branch (contents), open and edit PRs, comment and label (issues),
# set fluxbot/rollout (statuses); checks are read for automerge. packages: read is what GitHub
# requires before it delivers package / registry_package events (GHCR pushes).
PERMISSIONS: Mapping[str, str] = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "statuses": "write",
    "metadata": "read",
    "checks": "read",
    "packages": "read",
}
EVENTS = ("push", "pull_request", "issue_comment", "package", "registry_package")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,33}$")
_ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$")


def public_url(url: str) -> str:
    """The server's public base URL, checked: https (http only for loopback), no query."""
    parts = urlsplit(url.strip())
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigError(f"--url must be https://HOST (GitHub posts webhooks there), got {url!r}")
    if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"--url must be a plain https://HOST[/PATH], got {url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def manifest(
    url: str, name: str = "fluxbot", redirect_url: str | None = None, public: bool = False
) -> dict[str, Any]:
    """The App manifest for a fluxbot server at ``url`` (webhooks at ``URL/webhooks/github``)."""
    base = public_url(url)
    if not _NAME.match(name):
        raise ConfigError(f"App name must be 1-34 letters, digits, space, . _ -; got {name!r}")
    doc: dict[str, Any] = {
        "name": name,
        "url": base,
        "description": "fluxbot keeps the container images of Flux GitOps repositories up to date.",
        "hook_attributes": {"url": base + WEBHOOK_PATH, "active": True},
        "public": public,
        "default_permissions": dict(PERMISSIONS),
        "default_events": list(EVENTS),
    }
    if redirect_url is not None:
        doc["redirect_url"] = redirect_url
    return doc


def new_app_url(github_url: str, org: str | None, state: str) -> str:
    """Where the form POSTs the manifest: the person's or the organisation's new-App page."""
    base = github_url.rstrip("/")
    if org is None:
        return f"{base}/settings/apps/new?state={quote(state)}"
    if not _ORG.match(org):
        raise ConfigError(f"not a GitHub organisation name: {org!r}")
    return f"{base}/organizations/{org}/settings/apps/new?state={quote(state)}"


def form_page(action: str, doc: Mapping[str, Any]) -> str:
    """The local page: one form with the manifest, submitted by a click (or at once by script)."""
    value = html.escape(json.dumps(doc, sort_keys=True), quote=True)
    owner = "your organisation" if "/organizations/" in action else "your account"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Create the fluxbot GitHub App</title></head>
<body>
<h1>Create the fluxbot GitHub App</h1>
<p>GitHub will ask you to confirm the App <b>{html.escape(str(doc["name"]))}</b> on {owner},
with webhooks to <code>{html.escape(str(doc["hook_attributes"]["url"]))}</code>.</p>
<form id="create" method="post" action="{html.escape(action, quote=True)}">
<input type="hidden" name="manifest" value="{value}">
<button type="submit" id="submit">Create the App on GitHub</button>
</form>
</body></html>
"""


def result_page(title: str, message: str, link: str | None = None) -> str:
    """The page the browser lands on after GitHub's redirect."""
    anchor = ""
    if link:
        anchor = f'<p><a id="install" href="{html.escape(link, quote=True)}">Install it</a></p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
<body><h1 id="title">{html.escape(title)}</h1><p id="message">{html.escape(message)}</p>
{anchor}</body></html>
"""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class AppCredentials:
    """The created App: what fluxbot needs to run as it (secrets masked in ``repr``)."""

    app_id: int
    slug: str
    name: str
    html_url: str
    owner: str
    private_key: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_conversion(cls, payload: Any) -> AppCredentials:
        """From the JSON of ``POST /app-manifests/{code}/conversions`` (201)."""
        if not isinstance(payload, Mapping):
            raise ForgeError("GitHub's App conversion answer is not a JSON object")
        try:
            app_id, slug, pem = payload["id"], payload["slug"], payload["pem"]
        except KeyError as exc:
            raise ForgeError(f"GitHub's App conversion answer lacks {exc.args[0]!r}") from None
        if not isinstance(app_id, int) or not isinstance(slug, str) or not slug:
            raise ForgeError("GitHub's App conversion answer has no usable id and slug")
        if not isinstance(pem, str) or "PRIVATE KEY-----" not in pem:
            raise ForgeError("GitHub's App conversion answer has no PEM private key")
        owner = payload.get("owner") or {}
        return cls(
            app_id=app_id,
            slug=slug,
            name=str(payload.get("name") or slug),
            html_url=str(payload.get("html_url") or ""),
            owner=str(owner.get("login") or "") if isinstance(owner, Mapping) else "",
            private_key=pem,
            webhook_secret=_text(payload.get("webhook_secret")),
            client_id=_text(payload.get("client_id")),
            client_secret=_text(payload.get("client_secret")),
        )

    def with_webhook_secret(self, secret: str) -> AppCredentials:
        return replace(self, webhook_secret=secret)

    def install_url(self, github_url: str) -> str:
        return f"{github_url.rstrip('/')}/apps/{self.slug}/installations/new"

    def env(self, github_api_url: str) -> dict[str, str]:
        """The ``FLUXBOT_*`` settings that make ``fluxbot serve`` run as this App."""
        if not self.webhook_secret:
            raise ForgeError("the App has no webhook secret")
        env = {
            "FLUXBOT_GITHUB_APP_ID": str(self.app_id),
            "FLUXBOT_GITHUB_PRIVATE_KEY": self.private_key,
            "FLUXBOT_GITHUB_WEBHOOK_SECRET": self.webhook_secret,
            "FLUXBOT_BOT_LOGIN": f"{self.slug}[bot]",
        }
        if github_api_url.rstrip("/") != "https://api.github.com":
            env["FLUXBOT_GITHUB_API_URL"] = github_api_url.rstrip("/")
        return env


def secret_manifest(env: Mapping[str, str], name: str, namespace: str) -> str:
    """A Kubernetes Secret whose keys are the ``FLUXBOT_*`` variables (the chart's envFrom)."""
    for label, value in (("Secret name", name), ("namespace", namespace)):
        if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", value):
            raise ConfigError(f"{label} must be a DNS label, got {value!r}")
    lines = [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        f"  name: {name}",
        f"  namespace: {namespace}",
        "  labels:",
        "    app.kubernetes.io/name: fluxbot",
        "type: Opaque",
        "data:",
    ]
    lines += [f"  {k}: {base64.b64encode(v.encode()).decode()}" for k, v in sorted(env.items())]
    return "\n".join(lines) + "\n"


def dotenv(env: Mapping[str, str]) -> str:
    """A ``.env`` file (docker compose, python-dotenv): quoted values, newlines as ``\\n``."""
    out = []
    for key, value in sorted(env.items()):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        out.append(f'{key}="{escaped}"')
    return "\n".join(out) + "\n"
