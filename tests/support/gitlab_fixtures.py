"""Pytest fixtures for GitLab: the fake server and settings/forges pointing at it.

- ``gitlab``: a started :class:`~tests.support.gitlab_fake.FakeGitLab` (function scope); at
  teardown the test fails if any request departed from GitLab's documented shapes.
- ``gitlab_settings``: :class:`bot.app.settings.Settings` with the fake's URL, token and webhook
secret.
- ``gitlab_forge``: ``async with gitlab_forge("group/app") as forge`` → a real
  :class:`bot.adapters.gitlab.forge.GitLabForge` talking to the fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from bot.adapters.gitlab.forge import GitLabForge, open_forge
from bot.app.settings import Settings
from tests.support.gitlab_fake import FakeGitLab

WEBHOOK_SECRET = "gitlab-webhook-secret"


@pytest.fixture
async def gitlab() -> AsyncIterator[FakeGitLab]:
    fake = FakeGitLab()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
    assert fake.violations == [], "requests departed from GitLab's documented API"


@pytest.fixture
def gitlab_settings(gitlab: FakeGitLab) -> Settings:
    return Settings(
        gitlab_url=gitlab.url,
        gitlab_token=gitlab.token,
        gitlab_webhook_secret=WEBHOOK_SECRET,
        bot_login=gitlab.bot,
    )


@pytest.fixture
def gitlab_forge(
    gitlab_settings: Settings,
) -> Callable[[str], AbstractAsyncContextManager[GitLabForge]]:
    def opener(repo: str) -> AbstractAsyncContextManager[GitLabForge]:
        return open_forge(repo, gitlab_settings)

    return opener
