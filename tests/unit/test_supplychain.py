"""Pure supply-chain decoding and the ``require:`` gate: vectors from the DSSE and SLSA specs."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from bot.core.errors import ConfigError
from bot.core.supplychain.evidence import (
    Evidence,
    EvidenceError,
    Referrer,
    attestation_tag,
    pae,
    parse_dsse,
    parse_simple_signing,
    provenance_of,
    referrer_kind,
    signature_tag,
)
from bot.core.supplychain.gate import Requirement, evaluate, normalise_repository
from bot.core.supplychain.verify import Key

DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_pae_matches_the_dsse_specification_example() -> None:
    # DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world")
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_cosign_tag_names() -> None:
    assert signature_tag(DIGEST) == "sha256-" + DIGEST[7:] + ".sig"
    assert attestation_tag(DIGEST) == "sha256-" + DIGEST[7:] + ".att"
    with pytest.raises(EvidenceError):
        signature_tag("sha512:abc")


def test_slsa_v02_provenance_fields() -> None:
    predicate = {
        "builder": {"id": "https://github.com/slsa-framework/slsa-github-generator"},
        "invocation": {
            "configSource": {
                "uri": "git+https://github.com/acme/app@refs/tags/v1.2.3",
                "digest": {"sha1": "d" * 40},
            }
        },
    }
    prov = provenance_of("https://slsa.dev/provenance/v0.2", predicate)
    assert prov.source_repository == "https://github.com/acme/app"
    assert prov.commit == "d" * 40
    assert prov.builder_id == "https://github.com/slsa-framework/slsa-github-generator"


def test_slsa_v1_without_dependencies_falls_back_to_the_workflow_repository() -> None:
    predicate = {
        "buildDefinition": {"externalParameters": {"workflow": {"repository": "https://x/y"}}},
        "runDetails": {"builder": {"id": "b"}},
    }
    prov = provenance_of("https://slsa.dev/provenance/v1", predicate)
    assert (prov.source_repository, prov.commit, prov.builder_id) == ("https://x/y", None, "b")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://github.com/Acme/App.git", "github.com/acme/app"),
        ("git+https://github.com/acme/app", "github.com/acme/app/"),
        ("git@github.com:acme/app.git", "github.com/acme/app"),
    ],
)
def test_repository_spellings_compare_equal(a: str, b: str) -> None:
    assert normalise_repository(a) == normalise_repository(b)


def test_keyless_without_a_trust_root_is_refused_clearly() -> None:
    with pytest.raises(ConfigError, match="needs a trust root"):
        Requirement.parse({"signature": {"keyless": {"issuer": "i", "identity": "x"}}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"signature": {"key": "not a key"}}, "not a PEM public key"),
        ({"signature": {}}, "exactly one of key or keyless"),
        ({"provenance": {}}, "sourceRepository is required"),
        ({"sbom": True}, "unknown key"),
    ],
)
def test_bad_requirements_say_what_is_wrong(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Requirement.parse(data)


def _payload(digest: str) -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": "r/x"},
                "image": {"docker-manifest-digest": digest},
            }
        }
    ).encode()


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_rsa_and_ed25519_keys_verify_cosign_signatures(kind: str) -> None:
    payload = _payload(DIGEST)
    if kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        raw = private.sign(payload, padding.PKCS1v15(), hashes.SHA256())
        public = private.public_key()
    else:
        edkey = ed25519.Ed25519PrivateKey.generate()
        raw, public = edkey.sign(payload), edkey.public_key()  # type: ignore[assignment]
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    annotations = {"dev.cosignproject.cosign/signature": base64.b64encode(raw).decode()}
    sig = parse_simple_signing(payload, annotations)
    requirement = Requirement(key=Key.from_pem(pem))
    assert evaluate(requirement, [Evidence(DIGEST, signatures=(sig,))]).ok
    flipped = parse_simple_signing(payload.replace(b"r/x", b"r/y"), annotations)
    assert not evaluate(requirement, [Evidence(DIGEST, signatures=(flipped,))]).ok


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not JSON"),
        (json.dumps({"payloadType": "text/plain"}).encode(), "is not in-toto"),
        (
            json.dumps({"payloadType": "application/vnd.in-toto+json", "payload": "%%"}).encode(),
            "not valid base64",
        ),
    ],
)
def test_broken_envelopes_are_errors_not_crashes(body: bytes, message: str) -> None:
    with pytest.raises(EvidenceError, match=message):
        parse_dsse(body)


def test_a_signature_layer_without_its_annotation_is_an_error() -> None:
    with pytest.raises(EvidenceError, match="annotation"):
        parse_simple_signing(_payload(DIGEST), {})


def test_referrer_kinds() -> None:
    assert (
        referrer_kind(Referrer("d", "application/vnd.dev.cosign.artifact.sig.v1+json", ""))
        == "signature"
    )
    assert (
        referrer_kind(Referrer("d", "application/vnd.dsse.envelope.v1+json", "")) == "attestation"
    )
    assert referrer_kind(Referrer("d", "application/spdx+json", "")) is None
