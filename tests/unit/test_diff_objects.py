"""The object diff: identity, actions, stable order, noise, secret masking with canaries."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from bot.core.flux.diff import (
    Action,
    DiffOptions,
    KustomizationDiff,
    PreviewDiff,
    diff_objects,
    image_changes,
    scrub,
)
from bot.core.flux.mask import MASK, MASK_AFTER, MASK_BEFORE, SOPS, NoiseRules
from bot.core.flux.objects import ObjectKey
from bot.core.render.preview import DIFF_MARKER, diff_comment, diff_json, diff_markdown, diff_text

CANARY = "canary-Zq9xV7-secret-value"
CANARY2 = "second-canary-Kp3wR8"


def deploy(image: str = "ghcr.io/a/app:1.0", replicas: int = 1, **ann: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "app",
            "namespace": "web",
            "annotations": dict(ann),
            "labels": {"app.kubernetes.io/version": "1.0", "team": "a"},
        },
        "spec": {
            "replicas": replicas,
            "template": {
                "metadata": {"annotations": {"checksum/config": "abc"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def secret(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "web"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def test_changed_created_deleted_sorted_by_identity() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "web"},
        "data": {"a": "1"},
    }
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}
    changes = diff_objects([deploy(), cm], [ns, deploy(replicas=3)])
    assert [(c.action, c.key.kind) for c in changes] == [
        (Action.DELETED, "ConfigMap"),
        (Action.CREATED, "Namespace"),
        (Action.CHANGED, "Deployment"),
    ]
    changed = changes[2]
    assert changed.key == ObjectKey("apps", "Deployment", "web", "app")
    assert "-  replicas: 1\n+  replicas: 3\n" in changed.diff
    assert changed.diff.startswith("--- a/Deployment/web/app\n+++ b/Deployment/web/app\n")


def test_identity_uses_group_not_version() -> None:
    old = deploy()
    new = copy.deepcopy(old)
    new["apiVersion"] = "apps/v1beta1"
    changes = diff_objects([old], [new])
    assert [c.action for c in changes] == [Action.CHANGED]


def test_noise_stripped_and_configurable() -> None:
    a = deploy(**{"config.kubernetes.io/origin": "path: a.yaml"})
    b = deploy(**{"config.kubernetes.io/origin": "path: b.yaml"})
    b["metadata"]["labels"]["app.kubernetes.io/version"] = "2.0"
    b["spec"]["template"]["metadata"]["annotations"]["checksum/config"] = "def"
    assert diff_objects([a], [b]) == []
    loud = DiffOptions(noise=NoiseRules(annotations=(), labels=()))
    text = diff_objects([a], [b], loud)[0].diff
    assert "checksum/config" in text and "config.kubernetes.io/origin" in text


def test_key_order_is_stable() -> None:
    a, b = deploy(), deploy(replicas=2)
    shuffled = json.loads(json.dumps(b))
    shuffled = {k: shuffled[k] for k in reversed(list(shuffled))}
    assert diff_objects([a], [b])[0].diff == diff_objects([a], [shuffled])[0].diff


def test_secret_values_masked_with_per_key_status() -> None:
    old = secret(same=CANARY, changed=CANARY + "-old", removed=CANARY2)
    new = secret(same=CANARY, changed=CANARY + "-new", added=CANARY2 + "x")
    new["stringData"] = {"plain": CANARY + "-plain"}
    (change,) = diff_objects([old], [new])
    text = change.diff
    assert f"-  changed: '{MASK_BEFORE}'" in text and f"+  changed: '{MASK_AFTER}'" in text
    assert f"-  removed: '{MASK}'" in text and f"+  added: '{MASK}'" in text
    assert f"   same: '{MASK}'" in text
    assert f"+  plain: '{MASK}'" in text
    for raw in (CANARY, CANARY2, base64.b64encode(CANARY.encode()).decode()[:12]):
        assert raw not in text
    # a value change alone is still reported, without the value
    (only,) = diff_objects([secret(k=CANARY)], [secret(k=CANARY2)])
    assert CANARY not in only.diff and CANARY2 not in only.diff and MASK_AFTER in only.diff
    assert diff_objects([secret(k=CANARY)], [secret(k=CANARY)]) == []


def test_created_secret_and_sops_values() -> None:
    sops_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "s", "namespace": "w"},
        "data": {"token": f"ENC[AES256_GCM,data:{CANARY},type:str]"},
        "sops": {"mac": f"ENC[AES256_GCM,data:{CANARY2}]", "version": "3.8"},
    }
    changes = diff_objects([], [secret(k=CANARY), sops_cm])
    text = "".join(c.diff for c in changes)
    assert CANARY not in text and CANARY2 not in text
    assert SOPS in text and MASK in text


def test_scrub_known_secret_strings_everywhere() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "w"},
        "data": {"url": f"https://user:{CANARY}@db"},
    }
    (change,) = diff_objects([], [cm], DiffOptions(secrets=frozenset({CANARY})))
    assert CANARY not in change.diff and MASK in change.diff
    assert scrub(f"error: {CANARY}", {CANARY}) == f"error: {MASK}"
    assert scrub("abc", {"ab"}) == "abc"  # too short to scrub safely


def test_image_changes_pairs_by_repository() -> None:
    old = [
        deploy("ghcr.io/a/app:1.0"),
        {
            "kind": "HelmRelease",
            "spec": {"values": {"image": {"repository": "docker.io/b", "tag": "2"}}},
        },
    ]
    new = [
        deploy("ghcr.io/a/app:1.1"),
        {
            "kind": "HelmRelease",
            "spec": {"values": {"image": {"repository": "docker.io/b", "tag": "2"}}},
        },
        deploy("quay.io/new:1"),
    ]
    assert image_changes(old, new) == [
        ("ghcr.io/a/app:1.0", "ghcr.io/a/app:1.1"),
        ("", "quay.io/new:1"),
    ]


def _preview(n: int, diff_len: int = 100) -> PreviewDiff:
    entries = []
    for i in range(n):
        changes = tuple(diff_objects([deploy(replicas=1)], [deploy(replicas=2 + i)]))
        big = changes[0].__class__(changes[0].key, changes[0].action, "+x\n" * (diff_len // 3))
        entries.append(
            KustomizationDiff(
                f"ns/k{i}",
                ObjectKey("kustomize.toolkit.fluxcd.io", "Kustomization", "ns", f"k{i}"),
                (big,),
                (("ghcr.io/a/app:1.0", "ghcr.io/a/app:1.1"),),
            )
        )
    return PreviewDiff(tuple(entries), n)


def test_markdown_marker_table_details() -> None:
    md = diff_comment(_preview(2))
    assert md.startswith(DIFF_MARKER + "\n")
    assert "| `ns/k0` | 0 | 1 | 0 | `ghcr.io/a/app:1.0` → `ghcr.io/a/app:1.1` |" in md
    assert md.count("<details>") == 2 and md.count("</details>") == 2
    assert "Truncated" not in md


def test_markdown_capped_with_truncation_note() -> None:
    md = diff_comment(_preview(40, diff_len=5000))
    assert len(md) <= 60_000
    assert "Truncated: " in md and "more Kustomization diffs not shown" in md
    assert md.count("<details>") == md.count("</details>")
    assert len(diff_comment(_preview(40, diff_len=5000), max_chars=10**6)) <= 65_536
    full = diff_markdown(_preview(40, diff_len=5000))
    assert "Truncated" not in full and full.count("<details>") == 40
    # the note says where the full diff is: the caller's place, or how to produce it
    assert "--output diff.md` for the full diff." in md
    summary = diff_comment(_preview(40, diff_len=5000), full_diff="see the job summary")
    assert "not shown (comment size limit): see the job summary." in summary


def test_empty_preview_and_other_formats() -> None:
    empty = PreviewDiff((), 3)
    assert "No changes to rendered objects (3 affected Kustomizations rendered)" in diff_comment(
        empty
    )
    assert diff_text(empty).startswith("no changes")
    data = json.loads(diff_json(_preview(1)))
    assert data["kustomizations"][0]["changed"] == 1
    assert data["kustomizations"][0]["images"] == [
        {"from": "ghcr.io/a/app:1.0", "to": "ghcr.io/a/app:1.1"}
    ]
    failed = PreviewDiff(
        (
            KustomizationDiff(
                "ns/x", ObjectKey("", "K", "ns", "x"), head_error="kubectl failed: boom"
            ),
        ),
        1,
    )
    assert "Render failed on head" in diff_comment(failed) and "⚠️ render failed" in diff_comment(
        failed
    )
