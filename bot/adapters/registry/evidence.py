"""Fetch an image's signatures and attestations: cosign's tags, then OCI 1.1 referrers.

    async with RegistryClient(...) as client:
        found = await collect(client, "ghcr.io/acme/app:1.2.3")   # [index, platform, ...]

Requests per image: one manifest GET for the image, one GET for ``.sig`` and one for ``.att``
(404 when absent), one referrers call (and the ``sha256-<hex>`` tag when the API is missing), and
one blob GET per signature or attestation layer found. Decoding is pure
(:mod:`bot.core.supplychain.evidence`); this module only moves bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bot.adapters.registry import protocol
from bot.adapters.registry.client import RegistryClient
from bot.core.errors import RegistryError
from bot.core.reference import parse
from bot.core.supplychain.evidence import (
    DSSE,
    SIMPLE_SIGNING,
    Attestation,
    Evidence,
    EvidenceError,
    Signature,
    Where,
    attestation_tag,
    manifest_layers,
    parse_dsse,
    parse_referrers,
    parse_simple_signing,
    referrer_kind,
    referrers_tag,
    signature_tag,
)

__all__ = ["collect", "collect_digest"]


@dataclass
class _Found:
    signatures: list[Signature] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def collect(client: RegistryClient, image: str, *, platforms: bool = True) -> list[Evidence]:
    """Evidence for the image's top manifest, then (for an index) each platform manifest."""
    ref = parse(image)
    name = ref.name
    found = await client.document(name, ref.reference, f"manifest of {ref}")
    if found is None:
        raise RegistryError(f"{ref.api_host}: manifest of {ref}: not found (HTTP 404)")
    body, content_type = found
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    out = [await collect_digest(client, name, digest)]
    if platforms:
        try:
            doc = protocol.parse_manifest(body, content_type)
        except protocol.ProtocolError as exc:
            raise RegistryError(f"{ref.api_host}: manifest of {ref}: {exc}") from None
        for platform in doc.platforms:
            ev = await collect_digest(client, name, platform.digest, platform=str(platform))
            out.append(ev)
    return out


async def collect_digest(
    client: RegistryClient, name: str, digest: str, *, platform: str | None = None
) -> Evidence:
    """Everything stored about one manifest digest, with what could not be read as problems."""
    found = _Found()
    await _from_manifest(client, name, signature_tag(digest), Where.TAG, found)
    await _from_manifest(client, name, attestation_tag(digest), Where.TAG, found)
    index = await client.referrers(name, digest)
    api = index is not None
    where = Where.REFERRERS
    if index is None:  # the referrers tag schema: an index tagged sha256-<hex>
        fallback = await client.document(name, referrers_tag(digest), "referrers tag")
        index = fallback[0] if fallback else None
        where = Where.REFERRERS_TAG
    if index is not None:
        try:
            referrers = parse_referrers(index)
        except EvidenceError as exc:
            found.problems.append(f"referrers of {digest[:19]}: {exc}")
            referrers = []
        for referrer in referrers:
            if referrer_kind(referrer) is None:
                continue
            await _from_manifest(client, name, referrer.digest, where, found)
    return Evidence(
        digest=digest,
        platform=platform,
        signatures=tuple(found.signatures),
        attestations=tuple(found.attestations),
        referrers_api=api,
        problems=tuple(found.problems),
    )


async def _from_manifest(
    client: RegistryClient,
    name: str,
    reference: str,
    where: Where,
    out: _Found,
) -> None:
    found = await client.document(name, reference, f"supply-chain manifest {reference[:26]}")
    if found is None:
        return
    try:
        layers = manifest_layers(found[0])
    except EvidenceError as exc:
        out.problems.append(f"{reference[:26]}: {exc}")
        return
    for media, layer_digest, notes in layers:
        if media not in (SIMPLE_SIGNING, DSSE):
            continue
        blob = await client.blob(name, layer_digest)
        try:
            if media == SIMPLE_SIGNING:
                out.signatures.append(parse_simple_signing(blob, notes, where))
            else:
                out.attestations.append(parse_dsse(blob, where))
        except EvidenceError as exc:
            out.problems.append(f"{reference[:26]}: {exc}")
