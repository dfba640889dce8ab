"""Failed-lookup causes and the one-line summary of a total outage."""

from __future__ import annotations

from bot.core.lookups import Cause, LookupFailure, summary


def failure(image: str, error_type: str, error: str, fetch: str | None = None) -> LookupFailure:
    return LookupFailure.of(image, fetch or image, error_type, error, ["b.yaml:3", "a.yaml:9"])


def test_causes_from_error_class_and_message() -> None:
    net = "ghcr.io: listing tags of x failed after 4 tries (ConnectError)"
    assert failure("ghcr.io/a/b", "RegistryError", net).cause is Cause.UNREACHABLE
    assert failure("ghcr.io/a/b", "RegistryError", "x (ReadTimeout)").cause is Cause.UNREACHABLE
    assert failure("x/y", "AuthError", "docker.io refused access (HTTP 401)").cause is Cause.AUTH
    assert failure("x/y", "RateLimitError", "HTTP 429").cause is Cause.RATE_LIMITED
    assert failure("x/y", "UnsafeURLError", "refusing 10.0.0.1").cause is Cause.UNSAFE
    assert failure("x/y", "RegistryError", "repository not found").cause is Cause.NOT_FOUND
    assert failure("x/y", "RegistryError", "failed after 4 tries (HTTP 500)").cause is Cause.FAILED


def test_summary_one_cause_names_the_host() -> None:
    fs = [
        failure(f"ghcr.io/org/app{i}", "RegistryError", "ghcr.io: x (ConnectError)")
        for i in range(196)
    ]
    assert summary(fs, 196) == "196 of 196 lookups failed: ghcr.io unreachable"


def test_summary_mixed_causes_most_frequent_first_and_mirror_named() -> None:
    fs = [
        failure("nginx", "RegistryError", "m: x (ConnectError)", "m:5000/library/nginx"),
        failure("redis", "RegistryError", "m: x (ConnectError)", "m:5000/library/redis"),
        failure("ghcr.io/a/b", "AuthError", "ghcr.io refused access"),
    ]
    assert summary(fs, 3) == (
        "3 of 3 lookups failed: m:5000 (mirror of docker.io) unreachable (2), "
        "ghcr.io refused the credentials (1)"
    )


def test_failure_lists_its_references_sorted_in_text_and_json() -> None:
    f = failure("nginx", "RegistryError", "boom (HTTP 500)", "m:5000/library/nginx")
    assert f.lines() == [
        "  - nginx (via m:5000/library/nginx): boom (HTTP 500)",
        "      referenced at a.yaml:9, b.yaml:3",
    ]
    data = f.to_json()
    assert data["references"] == ["a.yaml:9", "b.yaml:3"]
    assert data["image"] == "nginx" and data["repository"] == "m:5000/library/nginx"
    assert data["cause"] == "failed"
