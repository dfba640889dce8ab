"""Planted canary secrets never reach any output, log or error of a preview (real kubectl).

The canaries sit where the repository's Secret objects do not show them: a ``secretGenerator``
literal that makes kustomize fail and quote it on stderr, an env file of a ``secretGenerator``,
and one value inside a Secret holding a whole ``values.yaml``.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest

from bot.core.flux.diff import secret_values
from bot.core.flux.objects import parse_tree
from bot.core.render.preview import diff_comment, diff_json, diff_markdown, diff_text
from bot.jobs.preview import run_preview
from tests.support.diff_fixtures import require_kubectl

LITERAL = "canary-lit-Zq81x-never-show"
ENVFILE = "canary-env-Rt55w-never-show"
NESTED = "canary-yaml-Pk07m-never-show"

KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  path: ./app
  targetNamespace: web
  sourceRef: {kind: GitRepository, name: flux-system}
"""
GOOD = """\
resources: [cm.yaml]
secretGenerator:
  - name: creds
    envs: [creds.env]
"""
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {size: '%s'}\n"


def _outputs(result: object) -> list[str]:
    return [
        diff_comment(result),  # type: ignore[arg-type]
        diff_markdown(result),  # type: ignore[arg-type]
        diff_text(result),  # type: ignore[arg-type]
        diff_json(result),  # type: ignore[arg-type]
        repr(result),
    ]


def test_kustomize_stderr_quoting_a_literal_is_scrubbed(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    require_kubectl()
    caplog.set_level(logging.DEBUG)
    base = {
        "clusters/ks.yaml": KS,
        "app/kustomization.yaml": GOOD,
        "app/cm.yaml": CM % 1,
        "app/creds.env": f"TOKEN={ENVFILE}\n",
    }
    head = dict(base)
    # kubectl: 'invalid literal source =<value>, expected key=value' on stderr
    head["app/kustomization.yaml"] = GOOD + f'  - name: more\n    literals: ["={LITERAL}"]\n'
    result = run_preview(base, head)
    (entry,) = result.kustomizations
    assert entry.head_error is not None and "invalid literal source" in entry.head_error
    assert "**MASKED**" in entry.head_error  # the quoted value was there and was replaced
    # no klog time/pid prefix: the same failure gives the same comment on every run
    assert entry.head_error.startswith('kubectl failed: "command failed" err="loading KV pairs')
    again = run_preview(base, head)
    assert again.kustomizations[0].head_error == entry.head_error
    captured = capsys.readouterr()
    for text in [*_outputs(result), captured.out, captured.err, caplog.text]:
        assert LITERAL not in text and "Zq81x" not in text
        assert ENVFILE not in text and "Rt55w" not in text


def test_generated_secret_change_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    require_kubectl()
    base = {
        "clusters/ks.yaml": KS,
        "app/kustomization.yaml": GOOD,
        "app/cm.yaml": CM % 1,
        "app/creds.env": "TOKEN=old-value-0000\n",
    }
    head = {**base, "app/creds.env": f"TOKEN={ENVFILE}\n"}
    result = run_preview(base, head)
    (entry,) = result.kustomizations
    kinds = {(str(c.action), c.key.kind) for c in entry.changes}
    # the generated name carries a content hash: paired by generator name, one Secret changed
    assert kinds == {("changed", "Secret")}
    assert json.loads(diff_json(result))["kustomizations"][0]["changed"] == 1
    assert "**MASKED (after)**" in entry.changes[0].diff
    for text in [*_outputs(result), capsys.readouterr().out]:
        assert ENVFILE not in text and "old-value-0000" not in text


def test_one_value_inside_a_secret_file_is_known_on_its_own() -> None:
    values = f"replicas: 2\nauth:\n  password: {NESTED}\n"
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: app-values, namespace: web}\n"
        f"data:\n  values.yaml: {base64.b64encode(values.encode()).decode()}\n"
    )
    known = secret_values(parse_tree({"app/secret.yaml": secret}))
    assert NESTED in known  # so an error quoting just the password is scrubbed too
    assert "auth:" not in known  # too short to scrub on its own


def test_an_unexpected_crash_carries_no_content(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug (here: a builder raising ValueError quoting a secret) surfaces as a RenderError
    with neither the message nor a chained traceback whose frames hold the trees."""
    from pathlib import Path

    from bot.core.errors import RenderError

    def broken(directory: Path) -> str:
        raise ValueError(f"cannot handle {NESTED}")

    tree = {"clusters/ks.yaml": KS, "app/cm.yaml": CM % 1}
    with pytest.raises(RenderError) as info:
        run_preview({}, tree, builder=broken)
    assert "ValueError" in str(info.value) and NESTED not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    captured = capsys.readouterr()
    for text in (captured.out, captured.err, caplog.text):
        assert NESTED not in text
