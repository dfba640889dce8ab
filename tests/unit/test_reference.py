"""bot.core.reference: grammar, Docker Hub normalisation, the user's spelling kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.errors import ConfigError
from bot.core.reference import InvalidReference, parse

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("ref", "registry", "repo", "api_host", "api_repo", "tag", "digest"),
    [
        ("nginx", "docker.io", "nginx", "registry-1.docker.io", "library/nginx", None, None),
        ("nginx:1.25", "docker.io", "nginx", "registry-1.docker.io", "library/nginx", "1.25", None),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "registry-1.docker.io", "bitnami/redis",
         "7", None),
        ("docker.io/nginx", "docker.io", "nginx", "registry-1.docker.io", "library/nginx", None,
         None),
        ("index.docker.io/library/nginx:1", "index.docker.io", "library/nginx",
         "registry-1.docker.io", "library/nginx", "1", None),
        (f"ghcr.io/org/app@{D}", "ghcr.io", "org/app", "ghcr.io", "org/app", None, D),
        (f"ghcr.io/org/app:v1@{D}", "ghcr.io", "org/app", "ghcr.io", "org/app", "v1", D),
        ("localhost:5000/a/b:tag", "localhost:5000", "a/b", "localhost:5000", "a/b", "tag", None),
        ("localhost/a", "localhost", "a", "localhost", "a", None, None),
        ("127.0.0.1:5000/app:1.2.3", "127.0.0.1:5000", "app", "127.0.0.1:5000", "app", "1.2.3",
         None),
        ("[::1]:5000/app", "[::1]:5000", "app", "[::1]:5000", "app", None, None),
        ("Quay.IO/org/a__b-c.d", "Quay.IO", "org/a__b-c.d", "quay.io", "org/a__b-c.d", None,
         None),
        ("europe-docker.pkg.dev/p/r/img:1", "europe-docker.pkg.dev", "p/r/img",
         "europe-docker.pkg.dev", "p/r/img", "1", None),
    ],
)  # fmt: skip
def test_parse(
    ref: str,
    registry: str,
    repo: str,
    api_host: str,
    api_repo: str,
    tag: str | None,
    digest: str | None,
) -> None:
    parsed = parse(ref)
    assert (parsed.registry, parsed.repository, parsed.tag, parsed.digest) == (
        registry,
        repo,
        tag,
        digest,
    )
    assert (parsed.api_host, parsed.api_repository) == (api_host, api_repo)
    assert str(parsed) == ref


def test_user_spelling_kept() -> None:
    ref = parse("nginx:1.25")
    assert ref.name == "nginx"
    assert ref.with_tag("1.26") == "nginx:1.26"
    assert ref.canonical == "docker.io/library/nginx"
    assert not ref.explicit_registry
    assert parse("docker.io/library/nginx").with_tag("2") == "docker.io/library/nginx:2"
    assert ref.with_digest(D) == f"nginx:1.25@{D}"
    assert ref.reference == "1.25"
    assert parse("nginx").reference == "latest"
    assert parse(f"nginx:1@{D}").reference == D


@pytest.mark.parametrize(
    "ref",
    [
        "",
        " nginx",
        "Nginx",
        "docker.io/Library/nginx",
        "nginx:",
        "nginx:-bad",
        "nginx:" + "a" * 129,
        "nginx@sha256:abc",
        "nginx@sha256:" + "A" * 64,
        "a//b",
        "a/b/",
        "-a/b",
        "a..b",
        "host:port/a",
        "ghcr.io/org/app:v1:v2",
        "x/" + "a" * 260,
        "a_-b",
    ],
)
def test_invalid(ref: str) -> None:
    with pytest.raises(InvalidReference):
        parse(ref)


def test_invalid_reference_is_config_error() -> None:
    with pytest.raises(ConfigError, match="lowercase"):
        parse("ghcr.io/Org/App")


def test_uppercase_first_component_is_a_domain() -> None:
    # docker: a first component with uppercase letters is a registry host
    assert parse("MyHost/app").registry == "MyHost"


def test_with_tag_validates() -> None:
    with pytest.raises(InvalidReference):
        parse("nginx").with_tag("bad tag")


_component = st.from_regex(r"[a-z0-9]{1,5}([._-][a-z0-9]{1,5}){0,2}", fullmatch=True)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(st.lists(_component, min_size=1, max_size=3), _tag)
def test_roundtrip(components: list[str], tag: str) -> None:
    text = "ghcr.io/" + "/".join(components) + ":" + tag
    ref = parse(text)
    assert str(ref) == text
    assert ref.repository == "/".join(components)
    assert parse(ref.with_tag(tag)) == ref
