"""GitHub API requests (quota) spent reading a real GitOps repository through GitHubForge.

    python bench/github_quota.py

Loads ``../shared/testdata/onedr0p-home-ops`` (every file) into the fake GitHub (loopback, every
request checked against GitHub's OpenAPI description) and reads its YAML tree through
``GitHubForge.read_tree`` three ways: cold with the tarball path, cold blob by blob (threshold
raised), and warm (the process caches: ETag 304s and blob texts). Prints requests and seconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openapi_core import Config, OpenAPI  # noqa: E402

import bot.adapters.github.forge as github  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from tests.support.github_fake import FakeGitHub  # noqa: E402
from tests.support.paths import ONEDR0P  # noqa: E402

SPEC = ROOT / "tests/node_modules/@octokit/openapi/generated/api.github.com.json"


def load_files(root: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            try:
                files[path.relative_to(root).as_posix()] = path.read_text("utf-8")
            except UnicodeDecodeError:
                continue
    return files


async def read(fake: FakeGitHub, settings: Settings, label: str) -> None:
    before = len(fake.requests)
    start = time.perf_counter()
    async with github.open_forge("home/ops", settings, write_interval=0) as forge:
        tree = await forge.read_tree("main")
    elapsed = time.perf_counter() - start
    spent = fake.requests[before:]
    not_modified = sum(1 for _m, _p, status in spent if status == 304)
    print(
        f"{label:28} {len(tree):4} YAML files  {len(spent):4} requests"
        f" ({not_modified} were 304: no quota)  {elapsed:.2f} s"
    )


async def main() -> None:
    spec = OpenAPI.from_dict(
        json.loads(SPEC.read_text("utf-8")), config=Config(spec_validator_cls=None)
    )
    fake = FakeGitHub(spec).start()
    try:
        files = load_files(ONEDR0P)
        fake.create_repo("home/ops", files)
        fake.add_token("bench")
        settings = Settings(github_api_url=fake.url, github_token="bench")
        print(f"onedr0p-home-ops: {len(files)} files in the repository")
        await read(fake, settings, "cold, tarball")
        github._BLOBS.clear()
        github._ETAGS.clear()
        github.TARBALL_THRESHOLD = 10**9
        await read(fake, settings, "cold, blob by blob")
        await read(fake, settings, "warm (same process)")
        fake.check()
    finally:
        fake.close()


if __name__ == "__main__":
    asyncio.run(main())
