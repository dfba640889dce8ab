"""bot.adapters.registry.protocol: the pure half of the registry client, on recorded real-world
headers."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.registry.protocol import (
    DOCKER_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    REVISION,
    SOURCE,
    VERSION,
    Challenge,
    ProtocolError,
    RateLimit,
    config_labels,
    merge_annotations,
    next_link,
    parse_challenges,
    parse_manifest,
    parse_ratelimit,
    parse_tags_page,
    parse_token,
    pick_platform,
)

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (  # Docker Hub
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/nginx:pull"',
            [
                Challenge(
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:library/nginx:pull",
                    },
                )
            ],
        ),
        (  # ECR
            'Basic realm="https://123.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"',
            [
                Challenge(
                    "basic",
                    {
                        "realm": "https://123.dkr.ecr.us-east-1.amazonaws.com/",
                        "service": "ecr.amazonaws.com",
                    },
                )
            ],
        ),
        (  # two challenges in one header, spaces, token values, escaped quote
            'Basic realm="a \\"quoted\\" realm", Bearer realm="https://x/t" , service=reg,'
            'error="invalid_token"',
            [
                Challenge("basic", {"realm": 'a "quoted" realm'}),
                Challenge(
                    "bearer", {"realm": "https://x/t", "service": "reg", "error": "invalid_token"}
                ),
            ],
        ),
        ("Negotiate", [Challenge("negotiate", {})]),
        ('BEARER Realm="r"', [Challenge("bearer", {"realm": "r"})]),
    ],
)
def test_parse_challenges(header: str, expected: list[Challenge]) -> None:
    assert parse_challenges([header]) == expected


def test_parse_challenges_several_headers_and_errors() -> None:
    got = parse_challenges(['Basic realm="r"', 'Bearer realm="t"'])
    assert [c.scheme for c in got] == ["basic", "bearer"]
    assert got[1].realm == "t"
    with pytest.raises(ProtocolError):
        parse_challenges(['Bearer realm="unterminated'])
    with pytest.raises(ProtocolError):
        parse_challenges(["Bearer realm=x, @@@"])


BASE = "https://ghcr.io/v2/org/app/tags/list?n=100"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (['</v2/org/app/tags/list?last=b&n=100>; rel="next"'],
         "https://ghcr.io/v2/org/app/tags/list?last=b&n=100"),
        (['<https://ghcr.io/v2/org/app/tags/list?last=c>; rel="next"'],
         "https://ghcr.io/v2/org/app/tags/list?last=c"),
        (['<https://ghcr.io:443/v2/x?last=c>; rel=next'], "https://ghcr.io:443/v2/x?last=c"),
        (['</a>; rel="prev", </b>; rel="next"'], "https://ghcr.io/b"),
        (['</a>; rel="prev"'], None),
        ([], None),
    ],
)  # fmt: skip
def test_next_link(headers: list[str], expected: str | None) -> None:
    assert next_link(headers, BASE) == expected


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/v2/x", "http://ghcr.io/v2/x", "https://ghcr.io:8443/v2/x", "//evil/x"],
)
def test_next_link_refuses_other_origins(target: str) -> None:
    with pytest.raises(ProtocolError, match="leaves the registry"):
        next_link([f'<{target}>; rel="next"'], BASE)


def test_ratelimit() -> None:
    assert parse_ratelimit("76;w=21600") == RateLimit(76, 21600)
    assert parse_ratelimit("0") == RateLimit(0, None)
    assert parse_ratelimit("x;w=1") is None
    assert parse_ratelimit(None) is None


def _index(entries: list[dict[str, object]], **extra: object) -> bytes:
    return json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries, **extra}
    ).encode()


def test_index_platforms_skip_attestations_and_artifacts() -> None:
    linux = {"os": "linux", "architecture": "amd64"}
    unknown = {"os": "unknown", "architecture": "unknown"}
    attest = {"vnd.docker.reference.type": "attestation-manifest"}
    sigstore = "application/vnd.dev.sigstore.bundle+json"
    arm = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    body = _index(
        [
            {"mediaType": OCI_MANIFEST, "digest": "sha256:1", "platform": arm},
            {"mediaType": OCI_MANIFEST, "digest": "sha256:2", "platform": linux},
            {"mediaType": OCI_MANIFEST, "digest": "sha256:3", "platform": unknown,
             "annotations": attest},
            {"mediaType": OCI_MANIFEST, "digest": "sha256:4", "artifactType": sigstore,
             "platform": linux},
        ],
        annotations={SOURCE: "https://github.com/o/r"},
    )  # fmt: skip
    doc = parse_manifest(body, None)
    assert doc.is_index
    assert [str(p) for p in doc.platforms] == ["linux/arm64/v8", "linux/amd64"]
    assert doc.annotations[SOURCE] == "https://github.com/o/r"
    picked = pick_platform(doc.platforms)
    assert picked is not None and picked.digest == "sha256:2"


def test_media_type_from_header_or_shape() -> None:
    list_body = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert parse_manifest(list_body, DOCKER_LIST + "; charset=utf-8").media_type == DOCKER_LIST
    assert parse_manifest(list_body, None).media_type == OCI_INDEX
    manifest = json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:c"}}).encode()
    doc = parse_manifest(manifest, "application/json")
    assert (doc.media_type, doc.config_digest) == (OCI_MANIFEST, "sha256:c")
    with pytest.raises(ProtocolError, match="malformed JSON"):
        parse_manifest(b'{"schemaVersion": 2, "manif', None)
    with pytest.raises(ProtocolError, match="unknown manifest"):
        parse_manifest(b'{"schemaVersion": 2}', "text/plain")
    with pytest.raises(ProtocolError):
        parse_manifest(b"[]", None)


def test_annotations_merge_order() -> None:
    labels = config_labels(
        json.dumps({"config": {"Labels": {VERSION: "1", SOURCE: "label"}}}).encode()
    )
    merged = merge_annotations({SOURCE: "index"}, {REVISION: "rev", SOURCE: "manifest"}, labels)
    assert merged == {SOURCE: "index", REVISION: "rev", VERSION: "1"}
    assert config_labels(b'{"config": {"Labels": null}}') == {}


def test_tags_page_and_token() -> None:
    assert parse_tags_page(b'{"name": "a", "tags": ["1", "2"]}') == ["1", "2"]
    assert parse_tags_page(b'{"name": "a", "tags": null}') == []
    with pytest.raises(ProtocolError):
        parse_tags_page(b'{"tags": [1]}')
    assert parse_token(b'{"token": "t", "expires_in": 300}') == ("t", 300.0)
    assert parse_token(b'{"access_token": "a"}') == ("a", 60.0)
    with pytest.raises(ProtocolError):
        parse_token(b'{"expires_in": 3}')


@given(st.text(max_size=80))
def test_challenge_parser_fails_only_with_protocol_error(header: str) -> None:
    try:
        challenges = parse_challenges([header])
    except ProtocolError:
        return
    assert all(c.scheme == c.scheme.lower() for c in challenges)


@given(st.text(max_size=80))
def test_link_parser_never_crashes(header: str) -> None:
    try:
        url = next_link([header], BASE)
    except ProtocolError:
        return
    assert url is None or url.startswith("https://ghcr.io")
