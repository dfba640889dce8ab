"""One ``exclusionList`` compiler, in the policy layer: ``fluxbot tags`` and a plan agree.

Regression test of issue 11: the registry client compiled exclusions with RE2 (which takes
``\\C``) while the policy compiled them as Go's ``regexp`` does (which refuses it, as Flux does),
so ``fluxbot tags --exclude '\\C'`` listed tags that a plan refused to consider.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from bot.adapters.registry.client import RegistryClient
from bot.app.cli import main
from bot.core.policy import exclude_tags
from bot.errors import PolicyError
from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle


def tags_cli(image: str, host: str, *patterns: str) -> tuple[int, str, str]:
    args = ["tags", image, "--json", "--insecure-registry", host]
    for pattern in patterns:
        args += ["--exclude", pattern]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_tags_and_the_policy_apply_one_exclusion_rule(registry: RegistryHandle) -> None:
    repo = unique_repo()
    registry.seed(repo, ["1.0.0", "1.1.0", "sha256-x.sig", "1.1.0-rc"])
    image = f"{registry.host}/{repo}"
    with pytest.raises(PolicyError) as refused:
        exclude_tags(["1.0.0"], [r"\C"])  # what a plan does with that ImageRepository
    code, out, err = tags_cli(image, registry.host, r"\C")
    assert code == 1 and out == "", (code, out, err)
    assert str(refused.value) in err
    code, out, _ = tags_cli(image, registry.host, r"-rc$", r"^1\.0")
    kept = exclude_tags(["1.0.0", "1.1.0", "sha256-x.sig", "1.1.0-rc"], [r"-rc$", r"^1\.0"])
    assert code == 0 and sorted(json.loads(out)) == sorted(kept) == ["1.1.0", "sha256-x.sig"]


def test_the_registry_client_returns_every_tag(registry: RegistryHandle) -> None:
    repo = unique_repo()
    registry.seed(repo, ["1.0.0", "sha256-x.sig"])

    async def listed() -> list[str]:
        async with RegistryClient(insecure=[registry.host]) as client:
            return await client.tags(f"{registry.host}/{repo}")

    assert sorted(asyncio.run(listed())) == ["1.0.0", "sha256-x.sig"]
