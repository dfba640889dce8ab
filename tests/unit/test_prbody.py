"""PR title, body (table, links, marker) and commit message from an update group."""

from __future__ import annotations

from bot.core.markers import PRMarker
from bot.core.model import Ignore, IgnoreScope, Update, UpdateGroup
from bot.core.render.prbody import commit_message, pr_body, pr_title, release_links

APP = Update(
    "apps/app.yaml",
    12,
    "ghcr.io/o/app",
    "1.0.0",
    "1.2.0",
    policy="semver ^1.0",
    reason="1.2.0 is the highest version in ^1.0",
    site="container",
    kustomization="flux-system/apps",
    source_url="https://github.com/o/app",
)
DB = Update("db/values.yaml", 4, "docker.io/library/redis", "7.2", "7.4", policy="shape")


def test_title_single_image_and_multi() -> None:
    assert pr_title(UpdateGroup("app", (APP,))) == "Update ghcr.io/o/app to 1.2.0"
    assert pr_title(UpdateGroup("all", (APP, DB))) == "Update 2 images (all)"


def test_body_table_links_and_marker_round_trip() -> None:
    group = UpdateGroup("app", (APP, DB))
    ignores = (Ignore("ghcr.io/o/app", IgnoreScope.MAJOR, "2.0.0"),)
    body = pr_body(group, ignores)
    assert "| `ghcr.io/o/app` | `1.0.0` → `1.2.0` | `apps/app.yaml:12` | semver ^1.0 |" in body
    assert "| `docker.io/library/redis` | `7.2` → `7.4` | `db/values.yaml:4` | shape |" in body
    assert "[release notes](https://github.com/o/app/releases)" in body
    assert "Kustomization `flux-system/apps`" in body
    marker = PRMarker.parse(body)
    assert marker == PRMarker("app", (APP, DB), ignores)
    # rendering is deterministic: ensure_pr sees no change on a re-run
    assert pr_body(group, ignores) == body


def test_body_escapes_table_breakers_and_shows_digests() -> None:
    u = Update(
        "a|b.yaml",
        1,
        "reg/x",
        "1",
        "2",
        old_digest="sha256:" + "a" * 64,
        new_digest="sha256:" + "b" * 64,
    )
    body = pr_body(UpdateGroup("x", (u,)))
    assert "`a\\|b.yaml:1`" in body
    assert "`1@sha256:aaaaaaaaaaaa` → `2@sha256:bbbbbbbbbbbb`" in body


def test_release_links_only_for_web_urls() -> None:
    assert release_links(DB) == []
    bad = Update("a", 1, "i", "1", "2", source_url="javascript:alert(1)")
    assert release_links(bad) == []
    gl = Update("a", 1, "i", "1", "2", source_url="https://gitlab.com/g/p")
    assert ("release notes", "https://gitlab.com/g/p/-/releases") in release_links(gl)


def test_commit_message_and_title_templates() -> None:
    group = UpdateGroup("app", (APP,))
    assert commit_message(group) == (
        "Update ghcr.io/o/app to 1.2.0\n\n- ghcr.io/o/app 1.0.0 → 1.2.0 (apps/app.yaml:12)\n"
    )
    tpl = "chore(deps): bump {image} from {old} to {new} [{group}] {unknown}"
    assert commit_message(group, tpl) == (
        "chore(deps): bump ghcr.io/o/app from 1.0.0 to 1.2.0 [app] {unknown}\n\n"
        "- ghcr.io/o/app 1.0.0 → 1.2.0 (apps/app.yaml:12)\n"
    )
    assert (
        commit_message(group, "x\n{updates}")
        == "x\n- ghcr.io/o/app 1.0.0 → 1.2.0 (apps/app.yaml:12)\n"
    )
    assert commit_message(group, "broken {").startswith("broken {\n\n- ")
    title = "chore(deps): update {image} to {new}"
    assert pr_title(group, title) == "chore(deps): update ghcr.io/o/app to 1.2.0"
    both = UpdateGroup("all", (APP, DB))
    assert pr_title(both, title) == "chore(deps): update 2 images to new versions"


def test_huge_group_body_stays_under_the_forge_limit() -> None:
    from bot.core.render.prbody import MAX_BODY

    many = tuple(
        Update(f"apps/app-{i:04d}/deployment.yaml", 12, f"ghcr.io/org/app-{i}", "1.0.0", "1.1.0",
               policy="same shape as the current tag", reason="x" * 120, site="container")
        for i in range(800)
    )  # fmt: skip
    body = pr_body(UpdateGroup("all", many))
    assert len(body) <= MAX_BODY
    assert "… and 700 more" in body
    marker = PRMarker.parse(body)
    assert marker is not None and 100 < len(marker.updates) < 800
    assert (
        marker.updates
        == tuple(  # a prefix, compacted
            Update(u.path, u.line, u.image, u.old, u.new, site=u.site)
            for u in many[: len(marker.updates)]
        )
    )
    # a group with many references of few images keeps them all in the marker
    same = tuple(
        Update(u.path, u.line, "ghcr.io/org/app", "1", "2", reason="y" * 200) for u in many
    )
    marker = PRMarker.parse(pr_body(UpdateGroup("app", same)))
    assert marker is not None and [(u.image, u.new) for u in marker.updates] == [
        ("ghcr.io/org/app", "2")
    ]
