"""The Action in ``mode: reconcile`` on a ``push`` to the default branch: the pushed merge commit
is reconciled through the (fake) Kubernetes API and reported on the PR merged as that commit, in
the fake GitHub (every request checked against GitHub's OpenAPI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.adapters.github.forge import open_forge
from bot.app import action
from bot.app.settings import Settings
from bot.core.markers import ROLLOUT_MARKER, PRMarker
from bot.core.model import Update
from tests.integration.test_action_entrypoint import read_outputs
from tests.integration.test_commands_github import push_payload
from tests.support.github_fixtures import GITHUB_TEST_TOKEN
from tests.support.kube_fake import Behaviour, KubeFake
from tests.support.reconcile_data import DEPLOY, TREE

REPO_NAME = "acme/cluster"
CONFIG = "reconcile:\n  timeout: 5s\n  interval: 20ms\n"


async def merged(fake: Any) -> tuple[int, str]:
    fake.create_repo(REPO_NAME, {**TREE, ".fluxbot.yaml": CONFIG})
    settings = Settings(
        github_api_url=fake.url, github_token=GITHUB_TEST_TOKEN, github_write_interval=0.0
    )
    async with open_forge(REPO_NAME, settings) as forge:
        base = await forge.branch_sha("main")
        assert base is not None
        new = TREE[DEPLOY].replace("1.0.0", "1.1.0")
        await forge.ensure_branch("fluxbot/web", base, {DEPLOY: new}, "Update web to 1.1.0")
        update = Update(path=DEPLOY, line=10, image="ghcr.io/o/web", old="1.0.0", new="1.1.0")
        body = "Update web\n\n" + PRMarker("web", (update,)).render()
        pr, _ = await forge.ensure_pr("fluxbot/web", "main", "Update web to 1.1.0", body)
    return pr.number, fake.merge_pull(REPO_NAME, pr.number)


def env_for(fake: Any, tmp_path: Path, payload: dict[str, Any], kubeconfig: Path) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    return {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPO_NAME,
        "GITHUB_API_URL": fake.url,
        "GITHUB_RUN_ID": "77",
        "HOME": str(tmp_path),
        "INPUT_TOKEN": GITHUB_TEST_TOKEN,
        "INPUT_MODE": "reconcile",
        "FLUXBOT_GITHUB_WRITE_INTERVAL": "0",
        "FLUXBOT_KUBECONFIG": str(kubeconfig),
    }


async def test_push_in_reconcile_mode_reports_the_rollout_on_the_merged_pr(
    github_fake: Any, webhook_examples: dict[str, Any], kube_api: KubeFake, tmp_path: Path
) -> None:
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready", after=2))
    number, sha = await merged(github_fake)
    kube_api.push(sha)
    payload = push_payload(webhook_examples)
    payload.update(after=sha)
    payload["commits"] = [{"added": [], "modified": [DEPLOY], "removed": []}]
    env = env_for(github_fake, tmp_path, payload, kube_api.kubeconfig(tmp_path / "kubeconfig"))
    outcome = await action.run(env)
    assert [(k.value, o) for k, o in outcome.jobs] == [("reconcile", "ok")]
    assert github_fake.statuses(REPO_NAME, sha)["fluxbot/rollout"] == "success"
    (comment,) = [
        c.body for c in github_fake.comments(REPO_NAME, number) if ROLLOUT_MARKER in c.body
    ]
    assert "`flux-system/apps` | ✅ ready" in comment
    # only the affected Kustomization was annotated, after its source
    assert [p.rsplit("/", 2)[-2:] for p, _ct in kube_api.patches()] == [
        ["gitrepositories", "flux-system"],
        ["kustomizations", "apps"],
    ]
    # a push to another branch: the job runs and does nothing
    payload.update(ref="refs/heads/dev")
    env = env_for(github_fake, tmp_path, payload, tmp_path / "kubeconfig")
    outcome = await action.run(env)
    assert [(k.value, o) for k, o in outcome.jobs] == [("reconcile", "ok")]
    assert len(kube_api.patches()) == 2


async def test_a_failed_rollout_is_in_the_summary_and_outputs_and_fails_the_step(
    github_fake: Any,
    webhook_examples: dict[str, Any],
    kube_api: KubeFake,
    tmp_path: Path,
    capsys: Any,
) -> None:
    message = "Deployment/default/web dry-run failed: spec.replicas: Invalid value: -1"
    kube_api.add_kustomization("flux-system", "apps", Behaviour("failed", after=1, message=message))
    number, sha = await merged(github_fake)
    kube_api.push(sha)
    payload = push_payload(webhook_examples)
    payload.update(after=sha)
    payload["commits"] = [{"added": [], "modified": [DEPLOY], "removed": []}]
    env = env_for(github_fake, tmp_path, payload, kube_api.kubeconfig(tmp_path / "kubeconfig"))
    output, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
    outcome = await action.run(env)
    assert [(k.value, o) for k, o in outcome.jobs] == [("reconcile", "ok")]
    assert action.report(outcome, env) == 1  # the job ran fine; the rollout failed
    text = summary.read_text("utf-8")
    assert "Rollout ❌ `failure`" in text and f"Merge commit `{sha}` (#{number})" in text
    assert "| `flux-system/apps` | failed |" in text and message in text
    rollout = json.loads(read_outputs(output)["rollout"])
    assert rollout["state"] == "failure" and rollout["merge_sha"] == sha
    assert rollout["kustomizations"] == [
        {"kustomization": "flux-system/apps", "result": "failed", "message": message}
    ]
    assert "::error::fluxbot: rollout failure" in capsys.readouterr().err


async def test_a_successful_rollout_passes_the_step(
    github_fake: Any, webhook_examples: dict[str, Any], kube_api: KubeFake, tmp_path: Path
) -> None:
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready", after=1))
    _number, sha = await merged(github_fake)
    kube_api.push(sha)
    payload = push_payload(webhook_examples)
    payload.update(after=sha)
    env = env_for(github_fake, tmp_path, payload, kube_api.kubeconfig(tmp_path / "kubeconfig"))
    output, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
    assert action.report(await action.run(env), env) == 0
    assert "Rollout ✅ `success`" in summary.read_text("utf-8")
    assert json.loads(read_outputs(output)["rollout"])["state"] == "success"
