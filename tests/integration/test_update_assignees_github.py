"""``pr.assignees`` of ``.fluxbot.yaml`` reaches the forge: the update job assigns a new PR on the
fake GitHub (requests checked against GitHub's OpenAPI)."""

from __future__ import annotations

from typing import Any

from bot.adapters.github.forge import open_forge
from bot.app.settings import Settings
from bot.jobs.context import Context
from bot.jobs.update import run_update
from tests.support.fake_tags import FakeTags

DEPLOY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
    "    spec:\n      containers:\n        - name: web\n          image: ghcr.io/o/web:1.0.0\n"
)


async def test_new_prs_are_assigned_from_the_config(
    github_fake: Any, github_settings: Settings
) -> None:
    github_fake.create_repo(
        "o/r",
        {
            ".fluxbot.yaml": "pr:\n  assignees: [alice]\n  reviewers: [bob]\n",
            "apps/deploy.yaml": DEPLOY,
        },
    )
    github_fake.add_collaborator("o/r", "alice", "write")
    github_fake.add_collaborator("o/r", "bob", "write")
    async with open_forge("o/r", github_settings, write_interval=0) as forge:
        ctx = Context(forge=forge, registry=FakeTags({"ghcr.io/o/web": ["1.0.0", "1.1.0"]}))
        report = await run_update(ctx)
    assert len(report.opened) == 1, report
    (pull,) = github_fake.pulls("o/r")
    assert [a["login"] for a in pull["assignees"]] == ["alice"]
    assert [r["login"] for r in pull["requested_reviewers"]] == ["bob"]
