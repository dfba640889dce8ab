"""Pure parts of reconcile: rollout evaluation, timestamps, config, watch loop (injected clock)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.kube import (
    ReceiverType,
    ReconcileConfig,
    parse_duration,
    receiver_headers,
    sign,
    watch,
)
from bot.core.errors import ConfigError, ReconcileError
from bot.core.markers import ROLLOUT_MARKER
from bot.core.rollout import (
    KsRef,
    Observation,
    Outcome,
    Result,
    evaluate,
    evaluate_statuses,
    overall,
    render_comment,
    revision_sha,
    rfc3339nano,
)
from bot.ports import StatusState
from tests.support.clock import FakeClock

SHA = "abc123def4567890abc123def4567890abc12345"


def ks(state: str, applied: str = "", attempted: str = "", handled: str = "", msg: str = "") -> Any:
    return {
        "status": {
            "lastAppliedRevision": applied,
            "lastAttemptedRevision": attempted,
            "lastHandledReconcileAt": handled,
            "conditions": [{"type": "Ready", "status": state, "message": msg, "reason": "X"}],
        }
    }


def test_rfc3339nano_like_go() -> None:
    assert rfc3339nano(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert rfc3339nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def test_revision_sha() -> None:
    assert revision_sha(f"main@sha1:{SHA}") == SHA
    assert revision_sha(f"refs/heads/main@sha1:{SHA}") == SHA
    assert revision_sha(f"main/{SHA}") == SHA  # Flux < 2.0
    assert revision_sha("latest@sha256:ffff") == ""


def test_evaluate() -> None:
    assert evaluate(ks("True", f"main@sha1:{SHA}"), SHA).outcome is Outcome.READY
    # ready, but at an older commit: still progressing
    assert evaluate(ks("True", "main@sha1:0000"), SHA).outcome is Outcome.PROGRESSING
    # ready at a descendant of the merge
    later = ks("True", "main@sha1:fff000")
    assert evaluate(later, SHA, descendants=("fff000",)).outcome is Outcome.READY
    # failed for our commit
    failed = ks("False", "main@sha1:0000", f"main@sha1:{SHA}", msg="boom")
    assert evaluate(failed, SHA) == Observation(Outcome.FAILED, "boom", f"main@sha1:{SHA}")
    # a stale failure (older commit, our request not handled yet) is not ours
    stale = ks("False", "main@sha1:0000", "main@sha1:0000", handled="t0", msg="old")
    assert evaluate(stale, SHA, requested_at="t1").outcome is Outcome.PROGRESSING
    # ... unless the controller handled our request and still failed
    assert evaluate(ks("False", handled="t1"), SHA, requested_at="t1").outcome is Outcome.FAILED
    assert evaluate(ks("Unknown"), SHA).outcome is Outcome.PROGRESSING
    assert evaluate({}, SHA).outcome is Outcome.PROGRESSING


def test_evaluate_statuses() -> None:
    ref = KsRef("flux-system", "apps")
    assert evaluate_statuses({}, ref).outcome is Outcome.PROGRESSING
    ok = {
        "kustomization/apps/0c9c2e41": StatusState.SUCCESS,
        "kustomization/apps2/1": StatusState.FAILURE,
    }
    assert evaluate_statuses(ok, ref).outcome is Outcome.READY
    bad = {"kustomization/apps/0c9c2e41": StatusState.FAILURE}
    assert evaluate_statuses(bad, ref).outcome is Outcome.FAILED
    pending = {"kustomization/apps/0c9c2e41": StatusState.PENDING}
    assert evaluate_statuses(pending, ref).outcome is Outcome.PROGRESSING
    # two clusters (two Providers): ready only when both are, failed when either fails
    two = {
        "kustomization/apps/0c9c2e41": StatusState.SUCCESS,
        "kustomization/apps/7f3a": StatusState.PENDING,
    }
    assert evaluate_statuses(two, ref).outcome is Outcome.PROGRESSING
    two["kustomization/apps/7f3a"] = StatusState.SUCCESS
    assert evaluate_statuses(two, ref).outcome is Outcome.READY
    two["kustomization/apps/7f3a"] = StatusState.FAILURE
    texts = {"kustomization/apps/7f3a": "health check failed after 2m"}
    failed = evaluate_statuses(two, ref, texts)
    assert failed.outcome is Outcome.FAILED and failed.message == "health check failed after 2m"


def test_overall_and_comment() -> None:
    a, b = KsRef("flux-system", "apps"), KsRef("flux-system", "infra")
    ready = [Result(a, Outcome.READY, "Applied"), Result(b, Outcome.READY)]
    assert overall(ready) == (StatusState.SUCCESS, "2 Kustomizations ready")
    mixed = [Result(a, Outcome.FAILED, "x | y\nz"), Result(b, Outcome.TIMED_OUT)]
    assert overall(mixed)[0] is StatusState.FAILURE
    assert overall([Result(b, Outcome.TIMED_OUT)])[0] is StatusState.ERROR
    text = render_comment(SHA, mixed, "the Kubernetes API")
    assert text.startswith(ROLLOUT_MARKER)
    assert "| `flux-system/apps` | ❌ failed | x \\| y z |" in text
    assert "| `flux-system/infra` | ⏳ timed out |" in text
    assert SHA[:12] in text


def test_ksref_parse() -> None:
    assert KsRef.parse("apps/web") == KsRef("apps", "web")
    assert KsRef.parse("web") == KsRef("flux-system", "web")
    for bad in ("", "a/b/c", "ns/"):
        with pytest.raises(ConfigError):
            KsRef.parse(bad)


def test_signature_headers() -> None:
    h = receiver_headers(ReceiverType.GENERIC_HMAC, b"{}", "k")
    assert h["X-Signature"] == sign(b"{}", "k") and "X-Hub-Signature-256" not in h
    g = receiver_headers(ReceiverType.GITHUB, b"{}", "k")
    assert g["X-Hub-Signature-256"] == sign(b"{}", "k") and g["X-GitHub-Event"] == "push"


def test_durations() -> None:
    assert parse_duration(30, "t") == 30.0
    assert parse_duration("1h30m", "t") == 5400.0
    assert parse_duration("250ms", "t") == 0.25
    for bad in ("10 minutes", "", True, -1, "5d"):
        with pytest.raises(ConfigError):
            parse_duration(bad, "t")


def test_config() -> None:
    assert ReconcileConfig.parse(None) == ReconcileConfig()
    assert ReconcileConfig.parse(False).enabled is False
    cfg = ReconcileConfig.parse(
        {
            "branches": "main",
            "sources": ["flux-system/flux-system"],
            "receiver": {"url": "https://flux.example.com/hook/abc", "type": "github"},
            "kubernetes": "auto",
            "timeout": "5m",
            "interval": 2,
        }
    )
    assert cfg.branches == ("main",) and cfg.sources == (KsRef("flux-system", "flux-system"),)
    assert cfg.receiver is not None and cfg.receiver.type is ReceiverType.GITHUB
    assert cfg.kubernetes is None and cfg.timeout == 300.0 and cfg.interval == 2.0
    for bad in (
        {"recevier": {}},
        {"receiver": {"url": 1}},
        {"receiver": {"url": "x", "type": "gitlab"}},
        {"kubernetes": "maybe"},
        [],
    ):
        with pytest.raises(ConfigError):
            ReconcileConfig.parse(bad)


async def test_watch_with_injected_clock() -> None:
    t = FakeClock()
    a, b, c = KsRef("ns", "a"), KsRef("ns", "b"), KsRef("ns", "c")
    seen: dict[KsRef, int] = {}

    async def observe(ref: KsRef) -> Observation:
        seen[ref] = seen.get(ref, 0) + 1
        if ref == a and seen[ref] >= 3:
            return Observation(Outcome.READY, "Applied revision", "main@sha1:x")
        if ref == b:
            return Observation(Outcome.FAILED, "boom")
        if ref == c and seen[ref] == 1:
            raise ReconcileError("Kubernetes API: read: HTTP 503")
        return Observation(Outcome.PROGRESSING, "Reconciliation in progress")

    results = await watch([c, b, a], observe, timeout=60, interval=5, clock=t.clock, sleep=t.sleep)
    by = {r.ks: r for r in results}
    assert by[a].outcome is Outcome.READY and seen[a] == 3
    assert by[b].outcome is Outcome.FAILED and seen[b] == 1
    assert by[c].outcome is Outcome.TIMED_OUT and "Reconciliation in progress" in by[c].message
    assert t.now == 1060.0 and all(s <= 5 for s in t.slept)
    assert [r.ks for r in results] == [a, b, c]


def test_settings_from_env(tmp_path: Any) -> None:
    from bot.app.settings import Settings

    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    s = Settings.from_env({"FLUXBOT_RECEIVER_SECRET_FILE": str(secret), "FLUXBOT_KUBECONFIG": "kc"})
    assert s.receiver_secret == "from-file" and s.kubeconfig == "kc" and not s.in_cluster
    assert "from-file" not in repr(s)
    s = Settings.from_env({"FLUXBOT_RECEIVER_SECRET": "direct", "FLUXBOT_KUBE_IN_CLUSTER": "true"})
    assert s.receiver_secret == "direct" and s.in_cluster
    # a pod's environment alone does not turn cluster access on
    assert not Settings.from_env({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}).in_cluster
