"""What a registry holds about an image's origin: cosign signatures and in-toto attestations.

Pure decoding of the documents cosign, buildx and SLSA generators push next to an image; the
adapter (:mod:`bot.adapters.registry.evidence`) only fetches them. Two places hold them:

* cosign's tag scheme: ``sha256-<hex>.sig`` (simple-signing layers) and ``sha256-<hex>.att``
  (DSSE envelopes), one manifest per image digest;
* OCI 1.1 referrers: manifests whose ``subject`` is the image, listed by
  ``GET /v2/<name>/referrers/<digest>`` or, on registries without that API, by the index tagged
  ``sha256-<hex>`` (the referrers tag schema).

    >>> signature_tag("sha256:" + "ab" * 32)
    'sha256-abababababababababababababababababababababababababababababababab.sig'
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
COSIGN_SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
SIGSTORE_BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
INTOTO_PAYLOAD = "application/vnd.in-toto+json"
SLSA_PREFIXES = ("https://slsa.dev/provenance/",)
SBOM_PREFIXES = ("https://spdx.dev/Document", "https://cyclonedx.org/bom")
MAX_DOCUMENT = 4 << 20  # a signature or attestation layer larger than this is not read


class EvidenceError(ValueError):
    """A signature or attestation document that is not what it claims to be."""


class Where(Enum):
    """Which discovery scheme a piece of evidence came from."""

    TAG = "tag"  # cosign's sha256-<hex>.sig / .att tags
    REFERRERS = "referrers"  # the OCI 1.1 referrers API
    REFERRERS_TAG = "referrers-tag"  # the referrers tag schema fallback


def _hex(digest: str) -> str:
    algo, sep, hexpart = digest.partition(":")
    if not sep or algo != "sha256" or len(hexpart) != 64:
        raise EvidenceError(f"not a sha256 digest: {digest[:80]!r}")
    return hexpart


def signature_tag(digest: str) -> str:
    return f"sha256-{_hex(digest)}.sig"


def attestation_tag(digest: str) -> str:
    return f"sha256-{_hex(digest)}.att"


def referrers_tag(digest: str) -> str:
    return f"sha256-{_hex(digest)}"


@dataclass(frozen=True)
class Signature:
    """One cosign simple-signing signature: the signed payload bytes and the raw signature."""

    payload: bytes
    signature: bytes
    signed_digest: str  # critical.image.docker-manifest-digest
    docker_reference: str
    certificate: str | None = None  # keyless: the Fulcio certificate (PEM)
    where: Where = Where.TAG


@dataclass(frozen=True)
class Attestation:
    """One in-toto statement from a DSSE envelope (signature kept for verification)."""

    predicate_type: str
    subjects: tuple[str, ...]  # sha256 digests the statement is about
    predicate: Mapping[str, Any]
    envelope_payload: bytes
    payload_type: str
    signatures: tuple[bytes, ...]
    where: Where = Where.TAG

    @property
    def is_provenance(self) -> bool:
        return self.predicate_type.startswith(SLSA_PREFIXES)

    @property
    def is_sbom(self) -> bool:
        return self.predicate_type.startswith(SBOM_PREFIXES)

    def provenance(self) -> Provenance | None:
        return provenance_of(self.predicate_type, self.predicate) if self.is_provenance else None


@dataclass(frozen=True)
class Provenance:
    """The three facts a reviewer wants from SLSA provenance."""

    builder_id: str | None
    source_repository: str | None
    commit: str | None


@dataclass(frozen=True)
class Evidence:
    """Everything found for one image digest (a platform manifest or the index itself)."""

    digest: str
    platform: str | None = None  # "linux/amd64" for a platform manifest, None for the top
    signatures: tuple[Signature, ...] = ()
    attestations: tuple[Attestation, ...] = ()
    referrers_api: bool | None = None  # None: not asked
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def provenance(self) -> tuple[Provenance, ...]:
        return tuple(p for a in self.attestations if (p := a.provenance()) is not None)

    @property
    def sboms(self) -> tuple[Attestation, ...]:
        return tuple(a for a in self.attestations if a.is_sbom)


def _json(body: bytes, what: str) -> Any:
    if len(body) > MAX_DOCUMENT:
        raise EvidenceError(f"{what} is larger than {MAX_DOCUMENT} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{what} is not JSON: {exc}") from None


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise EvidenceError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EvidenceError(f"{what} is not valid base64") from None


def parse_simple_signing(
    payload: bytes, annotations: Mapping[str, str], where: Where = Where.TAG
) -> Signature:
    """A simple-signing layer blob plus its layer annotations, as cosign writes them."""
    doc = _json(payload, "simple-signing payload")
    critical = doc.get("critical") if isinstance(doc, dict) else None
    if not isinstance(critical, dict):
        raise EvidenceError("simple-signing payload has no 'critical' section")
    image = critical.get("image")
    identity = critical.get("identity")
    digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    reference = identity.get("docker-reference") if isinstance(identity, dict) else None
    if not isinstance(digest, str):
        raise EvidenceError("simple-signing payload names no docker-manifest-digest")
    if SIGNATURE_ANNOTATION not in annotations:
        raise EvidenceError(f"signature layer has no {SIGNATURE_ANNOTATION} annotation")
    return Signature(
        payload=payload,
        signature=_b64(annotations[SIGNATURE_ANNOTATION], "cosign signature"),
        signed_digest=digest,
        docker_reference=reference if isinstance(reference, str) else "",
        certificate=annotations.get(CERTIFICATE_ANNOTATION),
        where=where,
    )


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what a DSSE signature actually signs."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def parse_dsse(body: bytes, where: Where = Where.TAG) -> Attestation:
    """A DSSE envelope holding an in-toto statement (v0.1 or v1)."""
    env = _json(body, "DSSE envelope")
    if not isinstance(env, dict):
        raise EvidenceError("DSSE envelope is not an object")
    payload_type = env.get("payloadType")
    if payload_type != INTOTO_PAYLOAD:
        raise EvidenceError(f"DSSE payloadType {str(payload_type)[:80]!r} is not in-toto")
    payload = _b64(env.get("payload"), "DSSE payload")
    sigs = env.get("signatures")
    if not isinstance(sigs, list):
        raise EvidenceError("DSSE envelope has no signatures list")
    signatures = tuple(
        _b64(s.get("sig") if isinstance(s, dict) else None, "DSSE signature") for s in sigs
    )
    statement = _json(payload, "in-toto statement")
    if not isinstance(statement, dict):
        raise EvidenceError("in-toto statement is not an object")
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str):
        raise EvidenceError("in-toto statement has no predicateType")
    subjects: list[str] = []
    for subject in statement.get("subject") or ():
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digest, dict) and isinstance(digest.get("sha256"), str):
            subjects.append("sha256:" + digest["sha256"])
    predicate = statement.get("predicate")
    return Attestation(
        predicate_type=predicate_type,
        subjects=tuple(subjects),
        predicate=predicate if isinstance(predicate, dict) else {},
        envelope_payload=payload,
        payload_type=payload_type,
        signatures=signatures,
        where=where,
    )


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _source_uri(uri: str | None) -> tuple[str | None, str | None]:
    """``git+https://github.com/o/r@refs/heads/main`` → (``https://github.com/o/r``, ref)."""
    if uri is None:
        return None, None
    uri = uri.removeprefix("git+")
    base, sep, ref = uri.partition("@")
    return base.removesuffix(".git"), (ref if sep else None)


def provenance_of(predicate_type: str, predicate: Mapping[str, Any]) -> Provenance:
    """Builder, source repository and commit from SLSA v0.2 or v1 provenance."""
    if predicate_type.startswith("https://slsa.dev/provenance/v0."):
        repo, _ = _source_uri(_str(_get(predicate, "invocation", "configSource", "uri")))
        commit = _str(_get(predicate, "invocation", "configSource", "digest", "sha1"))
        return Provenance(_str(_get(predicate, "builder", "id")), repo, commit)
    builder = _str(_get(predicate, "runDetails", "builder", "id"))
    repo = commit = None
    for dep in _get(predicate, "buildDefinition", "resolvedDependencies") or ():
        if not isinstance(dep, dict):
            continue
        candidate, _ = _source_uri(_str(dep.get("uri")))
        digest = dep.get("digest")
        if candidate is not None:
            repo = candidate
            if isinstance(digest, dict):
                commit = _str(digest.get("gitCommit")) or _str(digest.get("sha1"))
            break
    workflow = _get(predicate, "buildDefinition", "externalParameters", "workflow")
    if repo is None and isinstance(workflow, dict):
        repo = _str(workflow.get("repository"))
    return Provenance(builder, repo, commit)


def manifest_layers(body: bytes) -> list[tuple[str, str, Mapping[str, str]]]:
    """(media type, digest, annotations) of each layer of a signature/attestation manifest."""
    doc = _json(body, "manifest")
    layers = doc.get("layers") if isinstance(doc, dict) else None
    out: list[tuple[str, str, Mapping[str, str]]] = []
    for layer in layers if isinstance(layers, list) else ():
        if not isinstance(layer, dict):
            continue
        media, digest = layer.get("mediaType"), layer.get("digest")
        annotations = layer.get("annotations")
        if isinstance(media, str) and isinstance(digest, str):
            strings = {str(k): str(v) for k, v in (annotations or {}).items() if isinstance(v, str)}
            out.append((media, digest, strings))
    return out


@dataclass(frozen=True)
class Referrer:
    """One entry of a referrers index: a manifest whose subject is the image."""

    digest: str
    artifact_type: str
    media_type: str


def parse_referrers(body: bytes) -> list[Referrer]:
    """The descriptors of a referrers response (an OCI image index)."""
    doc = _json(body, "referrers index")
    manifests = doc.get("manifests") if isinstance(doc, dict) else None
    if not isinstance(manifests, list):
        raise EvidenceError("referrers answer is not an image index")
    out = []
    for entry in manifests:
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            continue
        out.append(
            Referrer(
                digest=entry["digest"],
                artifact_type=str(entry.get("artifactType") or ""),
                media_type=str(entry.get("mediaType") or ""),
            )
        )
    return out


def referrer_kind(referrer: Referrer) -> str | None:
    """``signature``, ``attestation`` or None (something else: an SBOM file, a bundle...)."""
    kind = referrer.artifact_type
    if kind in (COSIGN_SIG_ARTIFACT, SIMPLE_SIGNING):
        return "signature"
    if kind == DSSE or kind.startswith("application/vnd.in-toto"):
        return "attestation"
    return None
