"""The Action's entrypoint run the way the runner runs the container: ``fluxbot action`` with the
``INPUT_*``/``GITHUB_*`` environment, an event file, ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY``
files, against the fake GitHub and the loopback registry."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.integration.test_github_e2e import DEPLOY, FLUX, REPO_NAME
from tests.support.github_fake_state import Pull
from tests.support.github_fixtures import GITHUB_TEST_TOKEN
from tests.support.paths import IN_CI, REPO


@pytest.fixture
def gitops(github_fake: Any, registry: Any) -> tuple[Any, str]:
    image = f"{registry.host}/action/app-{uuid.uuid4().hex[:8]}"
    registry.seed(image.split("/", 1)[1], ["1.0.0", "1.1.0", "2.0.0-rc.1"])
    github_fake.create_repo(
        REPO_NAME,
        {
            "flux/images.yaml": FLUX.format(image=image),
            "apps/deploy.yaml": DEPLOY.format(image=image),
        },
    )
    return github_fake, image


def container_argv() -> list[str]:
    """ENTRYPOINT + action.yml ``runs.args``: the argv the runner gives the container."""
    from ruamel.yaml import YAML

    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    m = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", dockerfile, re.M)
    assert m, "Dockerfile has no exec-form ENTRYPOINT"
    entrypoint: list[str] = json.loads(m.group(1))
    args = YAML(typ="safe").load((REPO / "action.yml").read_text("utf-8"))["runs"]["args"]
    exe = shutil.which(entrypoint[0])
    head = [exe] if exe else [sys.executable, "-m", "bot"]  # not installed as a script here
    return [*head, *entrypoint[1:], *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_outputs(path: Path) -> dict[str, str]:
    """Parse ``name<<DELIM\\nvalue\\nDELIM`` records as the runner does."""
    out: dict[str, str] = {}
    text = path.read_text("utf-8")
    for m in re.finditer(r"^([\w-]+)<<(\S+)\n(.*?)\n\2$", text, re.S | re.M):
        out[m.group(1)] = m.group(3)
    return out


def run_action(
    tmp_path: Path,
    fake: Any,
    registry: Any,
    event_name: str,
    payload: dict[str, Any],
    **inputs: str,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    event_file = tmp_path / f"event-{uuid.uuid4().hex}.json"
    event_file.write_text(json.dumps(payload))
    output, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    output.write_text("")
    summary.write_text("")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "FLUXBOT_"))
    }
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_file),
            "GITHUB_REPOSITORY": REPO_NAME,
            "GITHUB_API_URL": fake.url,
            "GITHUB_WORKSPACE": str(tmp_path),
            "GITHUB_RUN_ID": "1234",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "FLUXBOT_INSECURE_REGISTRIES": registry.host,
            "FLUXBOT_GITHUB_WRITE_INTERVAL": "0",
            "HOME": str(tmp_path),
            # this checkout's code, whatever checkout an editable install points at
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
    )
    env.update({f"INPUT_{k.upper().replace('_', '-')}": v for k, v in inputs.items()})
    proc = subprocess.run(
        container_argv(),  # as `docker run IMAGE action` would start it
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc, read_outputs(output), summary.read_text("utf-8")


def test_schedule_opens_the_pr_and_reports(
    tmp_path: Path, gitops: tuple[Any, str], registry: Any
) -> None:
    fake, image = gitops
    proc, outputs, summary = run_action(
        tmp_path, fake, registry, "schedule", {"schedule": "17 * * * *"}, token=GITHUB_TEST_TOKEN
    )
    assert proc.returncode == 0, proc.stderr
    updates = json.loads(outputs["updates"])
    assert [(u["image"], u["old"], u["new"]) for u in updates] == [(image, "1.0.0", "1.1.0")]
    prs = json.loads(outputs["pull-requests"])
    assert [p["action"] for p in prs] == ["opened"]
    pulls = fake.pulls(REPO_NAME)
    assert len(pulls) == 1 and prs[0]["number"] == pulls[0]["number"]
    assert f"{image}:1.1.0" in fake.files(REPO_NAME, pulls[0]["head"]["ref"])["apps/deploy.yaml"]
    assert "| File | Image | From | To |" in summary and "`1.1.0`" in summary
    assert f"#{pulls[0]['number']}" in summary
    # run again (the next scheduled run): the same PR, unchanged
    proc, outputs, _ = run_action(
        tmp_path, fake, registry, "workflow_dispatch", {}, token=GITHUB_TEST_TOKEN, mode="update"
    )
    assert proc.returncode == 0, proc.stderr
    assert [p["action"] for p in json.loads(outputs["pull-requests"])] == ["unchanged"]
    assert len(fake.pulls(REPO_NAME)) == 1


def test_dry_run_writes_nothing(tmp_path: Path, gitops: tuple[Any, str], registry: Any) -> None:
    fake, _image = gitops
    proc, outputs, summary = run_action(
        tmp_path, fake, registry, "schedule", {}, token=GITHUB_TEST_TOKEN, dry_run="true"
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(outputs["updates"])) == 1
    assert "(dry run)" in summary
    assert [r for r in fake.requests if r[0] != "GET"] == []


def test_app_credentials_mint_an_installation_token(
    tmp_path: Path, gitops: tuple[Any, str], registry: Any
) -> None:
    fake, _image = gitops
    fake.add_installation(99, [REPO_NAME])
    proc, outputs, _ = run_action(
        tmp_path,
        fake,
        registry,
        "schedule",
        {},
        app_id=fake.app_id,
        private_key=fake.private_key,
    )
    assert proc.returncode == 0, proc.stderr
    assert ("POST", "/app/installations/99/access_tokens", 201) in fake.requests
    assert fake.pulls(REPO_NAME)[0]["user"]["login"] == "fluxbot[bot]"
    assert json.loads(outputs["pull-requests"])[0]["action"] == "opened"


def test_bad_inputs_fail_with_an_annotation(
    tmp_path: Path, gitops: tuple[Any, str], registry: Any
) -> None:
    fake, _image = gitops
    proc, _outputs, _ = run_action(
        tmp_path, fake, registry, "schedule", {}, token=GITHUB_TEST_TOKEN, mode="explode"
    )
    assert proc.returncode == 1 and "::error::" in proc.stderr
    proc, _outputs, _ = run_action(tmp_path, fake, registry, "schedule", {}, app_id="1")
    assert proc.returncode == 1 and "app-id and private-key" in proc.stderr


def test_auto_routes_pr_events_and_ignores_others(
    tmp_path: Path, gitops: tuple[Any, str], registry: Any, webhook_examples: dict[str, Any]
) -> None:
    fake, _image = gitops
    star = copy.deepcopy(webhook_examples["star"][0])
    proc, outputs, summary = run_action(
        tmp_path, fake, registry, "star", star, token=GITHUB_TEST_TOKEN
    )
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do for `star`" in summary and json.loads(outputs["updates"]) == []
    # a push to the default branch (the workflow's path filters already matched) → update
    push = copy.deepcopy(webhook_examples["push"][0])
    push.update(ref="refs/heads/main", deleted=False, commits=[])
    push["repository"].update(full_name=REPO_NAME, default_branch="main")
    proc, outputs, summary = run_action(
        tmp_path, fake, registry, "push", push, token=GITHUB_TEST_TOKEN
    )
    assert proc.returncode == 0, proc.stderr
    assert "`update`: ok" in summary and len(fake.pulls(REPO_NAME)) == 1


def test_config_input_names_the_config_file(
    tmp_path: Path, gitops: tuple[Any, str], registry: Any
) -> None:
    fake, _image = gitops
    config = (
        'pr:\n  labels: [dependencies]\n  reviewers: [alice]\n  title: "bump {image} to {new}"\n'
    )
    fake.push(REPO_NAME, {"ci/fluxbot.yaml": config})
    fake.add_collaborator(REPO_NAME, "alice", "write")
    proc, _outputs, _ = run_action(
        tmp_path, fake, registry, "schedule", {}, token=GITHUB_TEST_TOKEN, config="ci/fluxbot.yaml"
    )
    assert proc.returncode == 0, proc.stderr
    (pr,) = fake.pulls(REPO_NAME)
    assert pr["title"].startswith("bump ") and [label["name"] for label in pr["labels"]] == [
        "dependencies"
    ]
    assert [r["login"] for r in pr["requested_reviewers"]] == ["alice"]


def test_secrets_never_reach_logs_outputs_or_summary(
    tmp_path: Path, gitops: tuple[Any, str], registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Canary: the token, the App's private key and the installation token minted from it appear
    in no output, summary, stdout or stderr (debug logging on), on success and on failure."""
    fake, _image = gitops
    canary = "ghp_CANARY_d41d8cd98f00b204e9800998ecf8427e"
    fake.add_token(canary, login="fluxbot[bot]")
    fake.add_installation(99, [REPO_NAME])
    runs = [
        {"token": canary},  # opens the PR
        {"token": canary + "_revoked"},  # refused: HTTP 401 on every request
        {"app_id": fake.app_id, "private_key": fake.private_key, "token": canary},
        {"app_id": "999999", "private_key": fake.private_key},  # JWT refused
    ]
    monkeypatch.setenv("RUNNER_DEBUG", "1")  # the runner's debug logging: the most output
    seen: list[str] = []
    for inputs in runs:
        proc, _outputs, summary = run_action(tmp_path, fake, registry, "schedule", {}, **inputs)
        raw_outputs = (tmp_path / "output.txt").read_text("utf-8")
        seen.append(proc.stdout + proc.stderr + raw_outputs + summary)
    # GitHub unreachable (connection refused): an error, not a traceback showing the headers
    down = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}")
    proc, _outputs, summary = run_action(tmp_path, down, registry, "schedule", {}, token=canary)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    seen.append(proc.stdout + proc.stderr + summary)
    assert '"opened"' in seen[0] and '"unchanged"' in seen[2], seen[0] + seen[2]
    assert "HTTP 401" in seen[1] and "HTTP 401" in seen[3], seen[1] + seen[3]
    minted = [t for t, who in fake.tokens.items() if who.installation is not None]
    assert minted, "the App run minted no installation token"
    key_body = "".join(fake.private_key.strip().splitlines()[1:-1])
    for text in seen:
        assert canary not in text
        for token in minted:
            assert token not in text
        for line in fake.private_key.strip().splitlines()[1:-1]:
            assert line not in text
        assert key_body[:40] not in text.replace("\n", "")


def test_app_mode_knows_its_own_login_and_ignores_its_own_events(
    tmp_path: Path, gitops: tuple[Any, str], registry: Any, webhook_examples: dict[str, Any]
) -> None:
    """With App credentials the Action asks GitHub for the App's login (``<slug>[bot]``): an
    event the App caused (its edit of its own PR) runs nothing."""
    fake, _image = gitops
    fake.app_slug = "acme-fluxbot"
    fake.add_installation(99, [REPO_NAME])
    payload = copy.deepcopy(
        next(p for p in webhook_examples["pull_request"] if p["action"] == "opened")
    )
    payload["action"] = "edited"
    payload["repository"].update(full_name=REPO_NAME, default_branch="main")
    payload["pull_request"]["head"].update(ref="fluxbot/app", repo={"full_name": REPO_NAME})
    payload["sender"] = {"login": "acme-fluxbot[bot]", "type": "Bot"}
    app = {"app_id": fake.app_id, "private_key": fake.private_key}
    proc, _outputs, summary = run_action(tmp_path, fake, registry, "pull_request", payload, **app)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do for `pull_request`" in summary, summary
    payload["sender"] = {"login": "alice", "type": "User"}  # a human's edit does re-plan
    proc, _outputs, summary = run_action(tmp_path, fake, registry, "pull_request", payload, **app)
    assert proc.returncode == 0, proc.stderr
    assert "`update`: ok" in summary, summary
    assert fake.pulls(REPO_NAME)[0]["user"]["login"] == "acme-fluxbot[bot]"


def _big_configmap(value: str, keys: int) -> str:
    data = "".join(f"  key{i:03}: {value}{i}\n" for i in range(keys))
    meta = "metadata: {name: big, namespace: default}"
    return f"apiVersion: v1\nkind: ConfigMap\n{meta}\ndata:\n{data}"


def test_diff_mode_puts_the_whole_diff_in_the_job_summary(
    tmp_path: Path, github_fake: Any, registry: Any, webhook_examples: dict[str, Any]
) -> None:
    """``mode: diff``: the comment is capped (its truncation note points at the job summary),
    the summary holds the whole diff, and never more than GitHub's 1 MiB."""
    from tests.integration.test_github_preview import GITREPO, KS

    if shutil.which("kubectl") is None:
        (pytest.fail if IN_CI else pytest.skip)("kubectl is not installed")
    fake = github_fake
    fake.create_repo(
        REPO_NAME,
        {
            "clusters/prod/flux-system/gotk-sync.yaml": GITREPO + "---\n" + KS,
            "apps/kustomization.yaml": "resources: [cm.yaml]\n",
            "apps/cm.yaml": _big_configmap("old-" + "a" * 900, 100),
        },
    )
    fake.push(REPO_NAME, {"apps/cm.yaml": _big_configmap("new-" + "b" * 900, 100)}, "big")
    huge = _big_configmap("é" * 4000, 200)  # 800,000 characters, 1.6 MB of UTF-8 per side
    fake.push(REPO_NAME, {"apps/cm.yaml": huge}, "huge")
    summaries = []
    for number, branch in ((1, "big"), (2, "huge")):
        fake.repos[REPO_NAME].pulls[number] = Pull(number, branch, "main", branch, "", "alice")
        fake.repos[REPO_NAME].next_number = number + 1
        payload = copy.deepcopy(
            next(p for p in webhook_examples["pull_request"] if p["action"] == "opened")
        )
        payload["number"] = number
        payload["repository"].update(full_name=REPO_NAME, default_branch="main")
        payload["pull_request"].update(number=number)
        payload["pull_request"]["head"].update(
            ref=branch, sha=fake.branch_sha(REPO_NAME, branch), repo={"full_name": REPO_NAME}
        )
        payload["pull_request"]["base"]["ref"] = "main"
        payload.pop("installation", None)
        proc, _outputs, summary = run_action(
            tmp_path, fake, registry, "pull_request", payload, token=GITHUB_TEST_TOKEN, mode="diff"
        )
        assert proc.returncode == 0, proc.stderr
        assert "`preview`: ok" in summary, summary
        (comment,) = fake.comments(REPO_NAME, number)
        assert len(comment.body) <= 65_536
        assert "the full diff is in the job summary of this workflow run" in comment.body
        summaries.append(summary)
    big, huge_summary = summaries
    assert "new-" + "b" * 900 + "99" in big and "old-" + "a" * 900 + "99" in big  # all of it
    assert "key099" not in fake.comments(REPO_NAME, 1)[0].body
    assert len(huge_summary.encode()) <= 1024 * 1024  # GitHub's step summary limit
    assert "Left out (comment size limit): `ConfigMap/default/big`" in huge_summary
