"""post_preview: a PR's sticky Flux-diff comment through the Forge protocol (in-memory forge)."""

from __future__ import annotations

from bot.jobs.preview import post_preview
from bot.render import DIFF_MARKER
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
