"""The Action's ``auto`` mode: which jobs each workflow event runs (no network)."""

from __future__ import annotations

import copy
from typing import Any

from bot.app.action import event_of, jobs_to_run
from bot.core.dispatch import JobKind

BOT = "github-actions[bot]"


def kinds(mode: str, name: str, payload: dict[str, Any]) -> list[JobKind]:
    repo = "octo/repo"
    event = event_of({"GITHUB_EVENT_NAME": name, "GITHUB_RUN_ID": "7"}, payload, repo)
    return [job.kind for job in jobs_to_run(mode, event, BOT)]


def test_auto_routes_by_event_name(webhook_examples: dict[str, Any]) -> None:
    assert kinds("auto", "schedule", {}) == [JobKind.UPDATE]
    assert kinds("auto", "workflow_dispatch", {}) == [JobKind.UPDATE]
    pr = copy.deepcopy(next(p for p in webhook_examples["pull_request"] if p["action"] == "opened"))
    pr["sender"] = {"login": "alice", "type": "User"}
    assert kinds("auto", "pull_request", pr) == [JobKind.PREVIEW]
    assert kinds("auto", "pull_request_target", pr) == [JobKind.PREVIEW]
    merged = copy.deepcopy(pr)
    merged["action"] = "closed"
    merged["pull_request"].update(merged=True, merged_at="2026-01-01T00:00:00Z")
    merged["pull_request"]["head"]["ref"] = "fluxbot/app"
    merged["pull_request"]["head"]["repo"] = copy.deepcopy(merged["repository"])
    assert JobKind.RECONCILE in kinds("auto", "pull_request", merged)
    assert kinds("auto", "star", webhook_examples["star"][0]) == []
    # an explicit mode runs that job whatever the event
    assert kinds("update", "pull_request", pr) == [JobKind.UPDATE]
    assert kinds("diff", "schedule", {}) == [JobKind.PREVIEW]


def test_unwritable_outputs_fail_with_an_annotation(
    tmp_path: Any, capsys: Any, webhook_examples: dict[str, Any], monkeypatch: Any
) -> None:
    import json

    from bot.app.action import main

    # main() configures logging onto this test's captured stderr: keep it off other tests
    monkeypatch.setattr("bot.app.log.configure", lambda debug=False: None)

    event = tmp_path / "event.json"
    event.write_text(json.dumps(webhook_examples["star"][0]))
    env = {
        "GITHUB_REPOSITORY": "octo/repo",
        "GITHUB_EVENT_NAME": "star",  # nothing to do: no request leaves the process
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(tmp_path),  # a directory: not writable as a file
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "INPUT_TOKEN": "t",
    }
    assert main(env) == 1
    err = capsys.readouterr().err
    assert "::error::fluxbot: cannot write the step summary or outputs" in err
    env["GITHUB_OUTPUT"] = str(tmp_path / "out.txt")
    assert main(env) == 0
    assert (tmp_path / "out.txt").read_text().startswith("updates<<fluxbot_")


def test_outputs_use_the_runners_multiline_form(tmp_path: Any) -> None:
    """``name<<DELIM`` / value / ``DELIM``, a fresh delimiter per value, so no value (however
    many lines, whatever text) can end its record early or forge another output."""
    import re

    from bot.app.action import write_outputs

    path = tmp_path / "out"
    path.write_text("earlier=1\n")
    tricky = 'line 1\nEOF\nupdates<<EOF\n{"x": 1}\n'
    write_outputs(str(path), {"updates": "[]", "pull-requests": tricky})
    text = path.read_text()
    assert text.startswith("earlier=1\n")  # appended, as the runner expects
    records = re.findall(r"^([\w-]+)<<(\S+)\n(.*?)\n\2$", text, re.S | re.M)
    assert [(name, value) for name, _d, value in records] == [
        ("updates", "[]"),
        ("pull-requests", tricky),
    ]
    delimiters = [d for _n, d, _v in records]
    assert len(set(delimiters)) == 2 and not any(d in tricky for d in delimiters)


def test_every_output_the_action_writes_is_declared_in_action_yml() -> None:
    import re
    from pathlib import Path

    from ruamel.yaml import YAML

    root = Path(__file__).resolve().parents[2]
    declared = set(YAML(typ="safe").load((root / "action.yml").read_text())["outputs"])
    source = (root / "bot" / "app" / "action.py").read_text()
    written = set(re.findall(r'"([a-z-]+)": json\.dumps', source))
    assert {"updates", "pull-requests", "rollout"} <= written
    assert written <= declared
