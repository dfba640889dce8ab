"""The fake GitHub's App manifest flow: the web form and the code conversion.

* ``POST /settings/apps/new?state=S`` and ``POST /organizations/{org}/settings/apps/new?state=S``
  (github.com's web side: a form field ``manifest``, not the API, so neither OpenAPI-validated nor
  token-authenticated; the person is taken as signed in). The manifest is checked as GitHub does:
  ``url`` and ``hook_attributes.url`` required, every permission known to GitHub's OpenAPI
  (``app-permissions``) with a known level, every event one GitHub's OpenAPI describes
  (``x-webhooks``). Accepted: redirect to ``redirect_url?code=C&state=S`` (302), as GitHub does once
  the person confirms. Refused: 422 with the reason on a page (``fake.manifest_problems``).
* ``POST /app-manifests/{code}/conversions`` (API, validated, no credentials): 201 with the App as
  the OpenAPI response schema describes (checked too), its ``pem`` the fake's App key so the new
  App can sign in; a code works once (404 after).
* ``PATCH /app/hook/config`` (App JWT): records the webhook secret (``fake.hook_config``).

``fake.manifest_webhook_secret = False`` makes the conversion return ``webhook_secret: null``.
"""

from __future__ import annotations

import json
import re
import secrets
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jsonschema
from aiohttp import web
from openapi_core.testing import MockRequest, MockResponse

from tests.support.github_fake_routes import _error, _json, _require_app, route
from tests.support.github_fake_state import BODY, RAW

if TYPE_CHECKING:
    from tests.support.github_fake import FakeGitHub

WEB_PATH = re.compile(r"^(/organizations/[^/]+)?/settings/apps/new$")
NO_AUTH_PATH = re.compile(r"^/app-manifests/[^/]+/conversions$")


@cache
def _spec_parts() -> tuple[dict[str, Any], frozenset[str]]:
    from tests.support.github_fixtures import OPENAPI_JSON

    raw = json.loads(OPENAPI_JSON.read_text(encoding="utf-8"))
    permissions = raw["components"]["schemas"]["app-permissions"]
    events = frozenset(
        op["operationId"].split("/")[0].replace("-", "_")
        for hook in raw.get("x-webhooks", {}).values()
        for op in hook.values()
    )
    return permissions, events


def manifest_problems(fake: FakeGitHub, doc: Any) -> list[str]:
    """Why GitHub would refuse this manifest (empty: accepted)."""
    if not isinstance(doc, dict):
        return ["manifest is not a JSON object"]
    permissions, events = _spec_parts()
    problems = []
    if not isinstance(doc.get("url"), str) or not doc["url"].startswith(("https://", "http://")):
        problems.append("url is required")
    hook = doc.get("hook_attributes")
    if not isinstance(hook, dict) or not str(hook.get("url", "")).startswith("http"):
        problems.append("hook_attributes.url is required")
    granted = doc.get("default_permissions", {})
    unknown = sorted(set(granted) - set(permissions["properties"]))
    if unknown:
        problems.append(f"unknown permissions {unknown}")
    try:
        jsonschema.validate(granted, permissions)
    except jsonschema.ValidationError as exc:
        problems.append(f"default_permissions: {exc.message}")
    bad_events = sorted(set(doc.get("default_events", [])) - events)
    if bad_events:
        problems.append(f"unknown events {bad_events}")
    if "redirect_url" in doc and urlsplit(str(doc["redirect_url"])).scheme not in ("http", "https"):
        problems.append("redirect_url must be http(s)")
    return problems


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _new_app(fake: FakeGitHub, request: web.Request, org: str | None) -> web.Response:
    form = parse_qs(request[RAW].decode(), keep_blank_values=True)
    state = request.query.get("state", "")
    try:
        doc = json.loads(form["manifest"][0])
    except (KeyError, IndexError, ValueError):
        doc = None
    problems = manifest_problems(fake, doc) if doc is not None else ["no manifest field"]
    fake.manifest_posts.append({"org": org, "state": state, "manifest": doc})
    if problems:
        fake.manifest_problems.extend(problems)
        return web.Response(text="; ".join(problems), status=422)
    code = secrets.token_hex(10)
    fake.manifest_codes[code] = (doc, org or "alice")
    if "redirect_url" not in doc:
        return web.Response(text=f"created; no redirect_url (code {code})")
    query = urlencode({"code": code, "state": state})
    return web.Response(status=302, headers={"Location": f"{doc['redirect_url']}?{query}"})


@route("POST", "/settings/apps/new")
def new_user_app(fake: FakeGitHub, request: web.Request) -> web.Response:
    return _new_app(fake, request, None)


@route("POST", "/organizations/{org}/settings/apps/new")
def new_org_app(fake: FakeGitHub, request: web.Request) -> web.Response:
    return _new_app(fake, request, request.match_info["org"])


@route("POST", "/app-manifests/{code}/conversions")
def conversion(fake: FakeGitHub, request: web.Request) -> web.Response:
    found = fake.manifest_codes.pop(request.match_info["code"], None)
    if found is None:
        return _error(404, "Not Found")
    doc, owner = found
    slug = _slug(doc["name"])
    fake.app_slug = slug
    now = "2026-12-07T00:00:00Z"
    app = {
        "id": int(fake.app_id),
        "slug": slug,
        "node_id": "A_" + slug,
        "client_id": "Iv1." + secrets.token_hex(8),
        "owner": {
            "login": owner,
            "id": 1,
            "node_id": "U_1",
            "avatar_url": "https://avatars.example/u/1",
            "gravatar_id": None,
            "url": f"https://api.github.com/users/{owner}",
            "html_url": f"https://github.com/{owner}",
            "followers_url": "",
            "following_url": "",
            "gists_url": "",
            "starred_url": "",
            "subscriptions_url": "",
            "organizations_url": "",
            "repos_url": "",
            "events_url": "",
            "received_events_url": "",
            "type": "Organization" if owner != "alice" else "User",
            "site_admin": False,
        },
        "name": doc["name"],
        "description": doc.get("description"),
        "external_url": doc["url"],
        "html_url": f"https://github.com/apps/{slug}",
        "created_at": now,
        "updated_at": now,
        "permissions": doc.get("default_permissions", {}),
        "events": doc.get("default_events", []),
        "client_secret": secrets.token_hex(20),
        "webhook_secret": secrets.token_hex(20) if fake.manifest_webhook_secret else None,
        "pem": fake.private_key,
    }
    fake.created_apps.append(app)
    _check_response(fake, request, app, 201)
    return _json(app, 201)


@route("PATCH", "/app/hook/config")
def hook_config(fake: FakeGitHub, request: web.Request) -> web.Response:
    _require_app(request)
    fake.hook_config.update(request[BODY] or {})
    shown = {k: v for k, v in fake.hook_config.items() if k != "secret"}
    return _json({"content_type": "json", "insecure_ssl": "0", **shown})


def _check_response(fake: FakeGitHub, request: web.Request, data: Any, status: int) -> None:
    """The answer must match GitHub's OpenAPI response schema too."""
    mock_request = MockRequest("https://api.github.com", "post", request.path)
    mock_response = MockResponse(json.dumps(data), status_code=status)
    try:
        fake.spec.validate_response(mock_request, mock_response)
    except Exception as exc:  # openapi-core's error tree: any failure is a test failure
        fake.invalid.append(f"response {request.path}: {exc!r} {exc.__cause__!r}"[:2000])


def is_web(path: str) -> bool:
    return bool(WEB_PATH.match(path))


def needs_no_credentials(path: str) -> bool:
    return bool(NO_AUTH_PATH.match(path))


__all__ = ["is_web", "manifest_problems", "needs_no_credentials"]
