"""The README's main-job command, run as a person would: ``bash scripts/demo``.

It starts its own loopback registry, so it needs Debian's ``docker-registry`` (installed by
``.ci/run``); the dependencies are already installed here, so the script installs nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import IN_CI, REPO


def test_demo_plans_writes_branches_is_idempotent_and_follows_a_new_tag() -> None:
    if shutil.which("docker-registry") is None and not Path("/usr/bin/docker-registry").exists():
        if IN_CI:
            pytest.fail("docker-registry is required in CI")
        pytest.skip("docker-registry not installed")
    env_path = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
    proc = subprocess.run(
        ["bash", "scripts/demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": env_path, "HOME": str(Path.home()), "LANG": "C.UTF-8"},
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "5 updates in 5 groups" in out
    assert re.search(
        r"apps/web/deployment\.yaml:\d+\s+nginx\s+1\.25\.3-alpine → 1\.27\.3-alpine", out
    )
    assert re.search(r"ghcr\.io/example/api\s+1\.4\.0 → 1\.5\.2", out)  # rule api-v1: ^1.0
    assert "branches unchanged: True" in out  # the second run made no commit
    assert re.search(r"updated\s+#\d+ fluxbot/ghcr\.io-stefanprodan-podinfo: .* 6\.6\.2", out)
    assert (
        '-          image: "busybox:1.36.0"' in out and '+          image: "busybox:1.37.0"' in out
    )
    assert "Traceback" not in out + proc.stderr
