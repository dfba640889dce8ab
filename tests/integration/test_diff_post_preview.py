"""post_preview: a PR's sticky Flux-diff comment through the Forge protocol (in-memory forge)."""

from __future__ import annotations

from bot.core.render.preview import DIFF_MARKER
from bot.jobs.preview import post_preview
from tests.support.diff_fixtures import require_kubectl
from tests.support.memory_forge import MemoryForge

KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  path: ./app
  targetNamespace: web
  sourceRef: {kind: GitRepository, name: flux-system}
"""
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {size: '%s'}\n"


async def test_sticky_comment_is_edited_in_place() -> None:
    require_kubectl()
    forge = MemoryForge(files={"clusters/ks.yaml": KS, "app/cm.yaml": CM % 1, "README.md": "x"})
    base_sha = forge.branches["main"]
    head = await forge.ensure_branch("feature", base_sha, {"app/cm.yaml": CM % 2}, "bigger")
    result = await post_preview(forge, 7, base_sha, head)
    assert [k.label for k in result.kustomizations] == ["flux-system/app"]
    (comment,) = forge.comments[7]
    assert comment[1].startswith(DIFF_MARKER) and "-  size: '1'" in comment[1]
    head2 = await forge.ensure_branch("feature", base_sha, {"app/cm.yaml": CM % 3}, "biggest")
    await post_preview(forge, 7, base_sha, head2)
    (comment,) = forge.comments[7]  # still one comment, now showing the new head
    assert "+  size: '3'" in comment[1] and "+  size: '2'" not in comment[1]


async def test_non_yaml_inputs_and_base_side_config() -> None:
    """Generator inputs that are not YAML are read (a .conf change shows), and the diff
    settings of the base side's .fluxbot.yaml apply (the version label is not noise there)."""
    require_kubectl()
    kustomization = (
        "resources: [cm.yaml]\nconfigMapGenerator:\n"
        "  - name: conf\n    files: [app.conf]\n    options: {disableNameSuffixHash: true}\n"
    )
    labelled = CM.replace("metadata: {name: c}", "metadata: {name: c, labels: %s}")
    forge = MemoryForge(
        files={
            "clusters/ks.yaml": KS,
            "app/kustomization.yaml": kustomization,
            "app/cm.yaml": labelled % ("{app.kubernetes.io/version: '1'}", 1),
            "app/app.conf": "level=info\n",
            ".fluxbot.yaml": "diff:\n  noise:\n    labels: []\n",
        }
    )
    base_sha = forge.branches["main"]
    head = await forge.ensure_branch(
        "feature",
        base_sha,
        {
            "app/app.conf": "level=debug\n",
            "app/cm.yaml": labelled % ("{app.kubernetes.io/version: '2'}", 1),
        },
        "debug",
    )
    result = await post_preview(forge, 8, base_sha, head)
    (entry,) = result.kustomizations
    assert entry.base_error is None and entry.head_error is None, entry
    diffs = {c.key.name: c.diff for c in entry.changes}
    assert '-  app.conf: "level=info\\n"\n+  app.conf: "level=debug\\n"\n' in diffs["conf"]
    assert "+    app.kubernetes.io/version: '2'" in diffs["c"]
