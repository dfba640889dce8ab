"""Fake-GitHub fixtures (auto-loaded by ``tests/conftest.py``).

- ``github_spec`` (session): GitHub's OpenAPI description, parsed once (npm ``@octokit/openapi``).
- ``github_fake`` (function): a started :class:`~tests.support.github_fake.FakeGitHub` with a plain
  token ``GITHUB_TEST_TOKEN`` (login ``fluxbot[bot]``); the test fails at teardown if any request
  was invalid for the OpenAPI description.
- ``github_settings`` (function): :class:`bot.app.settings.Settings` for the fake with that token.

Under ``CI=true`` missing npm packages fail the test instead of skipping it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.app.settings import Settings
from tests.support.paths import IN_CI, REPO

NODE_MODULES = REPO / "tests" / "node_modules"
OPENAPI_JSON = NODE_MODULES / "@octokit" / "openapi" / "generated" / "api.github.com.json"
WEBHOOK_EXAMPLES = NODE_MODULES / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"
GITHUB_TEST_TOKEN = "ghp_test_token_0123456789"
WEBHOOK_SECRET = "It's a Secret to Everybody"


def require_npm(path: Any) -> None:
    if not path.exists():
        message = f"{path} is missing: run `npm ci` in tests/"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def github_spec() -> Any:
    require_npm(OPENAPI_JSON)
    from openapi_core import Config, OpenAPI

    with OPENAPI_JSON.open(encoding="utf-8") as fh:
        spec = json.load(fh)
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="session")
def _github_app_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def github_fake(github_spec: Any, _github_app_key: Any) -> Iterator[Any]:
    from tests.support.github_fake import FakeGitHub

    fake = FakeGitHub(github_spec, _github_app_key).start()
    fake.add_token(GITHUB_TEST_TOKEN, login="fluxbot[bot]", type="Bot")
    try:
        yield fake
    finally:
        fake.close()
    fake.check()


@pytest.fixture
def github_settings(github_fake: Any) -> Settings:
    return Settings(
        github_api_url=github_fake.url,
        github_token=GITHUB_TEST_TOKEN,
        github_webhook_secret=WEBHOOK_SECRET,
        insecure_registries=("127.0.0.1",),
    )


@pytest.fixture(scope="session")
def webhook_examples() -> dict[str, list[dict[str, Any]]]:
    """``{event name: [example payloads]}`` from ``@octokit/webhooks-examples``."""
    require_npm(WEBHOOK_EXAMPLES)
    with WEBHOOK_EXAMPLES.open(encoding="utf-8") as fh:
        return {entry["name"]: entry["examples"] for entry in json.load(fh)}
