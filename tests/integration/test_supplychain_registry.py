"""Signatures and attestations found in the real loopback registry, and the ``require:`` gate.

Documents are pushed in cosign's formats by ``tests/support/signing.py``: tag scheme, referrers
through the tag-schema fallback (Distribution 2.8 has no referrers API), and referrers through
the API (a front that serves it).
"""

from __future__ import annotations

import pytest

from bot.adapters.registry.client import RegistryClient
from bot.adapters.registry.evidence import collect
from bot.core.supplychain.evidence import Where
from bot.core.supplychain.gate import Requirement, evaluate
from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle
from tests.support.signing import ReferrersProxy, Signer, new_key, provenance_v1, public_pem

SLSA_V1 = "https://slsa.dev/provenance/v1"
SPDX = "https://spdx.dev/Document"
REPO_URL = "https://github.com/acme/app"


def _require(key_pem: str, source: str | None = None) -> Requirement:
    data: dict[str, object] = {"signature": {"key": key_pem}}
    if source:
        data["provenance"] = {"sourceRepository": source}
    requirement = Requirement.parse(data)
    assert requirement is not None
    return requirement


async def _evidence(host: str, image: str) -> list:  # type: ignore[type-arg]
    async with RegistryClient(insecure=[host]) as client:
        found = await collect(client, image)
        return found


async def test_tag_scheme_signature_verifies_with_its_key(registry: RegistryHandle) -> None:
    repo = unique_repo("signed")
    digest = registry.seed(repo, ["1.0.0"])
    key = new_key()
    Signer(registry).sign(repo, digest, key)
    found = await _evidence(registry.host, f"{registry.host}/{repo}:1.0.0")
    assert found[0].digest == digest
    assert [s.where for s in found[0].signatures] == [Where.TAG]
    assert found[0].referrers_api is False
    verdict = evaluate(_require(public_pem(key)), found)
    assert verdict.ok and verdict.signed, verdict.reasons


@pytest.mark.parametrize("case", ["tampered", "other-key", "missing", "other-digest"])
async def test_signatures_that_prove_nothing_are_refused(
    registry: RegistryHandle, case: str
) -> None:
    repo = unique_repo("badsig")
    digest = registry.seed(repo, ["1.0.0"])
    other = registry.seed(unique_repo("elsewhere"), ["9"], labels={"x": "y"})
    key, stranger = new_key(), new_key()
    signer = Signer(registry)
    if case == "tampered":
        signer.sign(repo, digest, key, tamper=True)
    elif case == "other-key":
        signer.sign(repo, digest, stranger)
    elif case == "other-digest":
        signer.sign(repo, digest, key, signed_digest=other)
    found = await _evidence(registry.host, f"{registry.host}/{repo}:1.0.0")
    verdict = evaluate(_require(public_pem(key)), found)
    assert not verdict.ok
    expected = {
        "tampered": "signature does not verify with the configured key",
        "other-key": "signature does not verify with the configured key",
        "missing": "no cosign signature found",
        "other-digest": f"signature is for {other[:19]}, not this image",
    }[case]
    assert verdict.reasons == (expected,)


async def test_referrers_found_through_the_tag_schema_without_the_api(
    registry: RegistryHandle,
) -> None:
    repo = unique_repo("referrers")
    digest = registry.seed(repo, ["2.0.0"])
    key = new_key()
    signer = Signer(registry)
    signer.sign(repo, digest, key, mode="referrers")
    signer.attest(
        repo, digest, key, SLSA_V1, provenance_v1(REPO_URL, "a" * 40, "gha"), mode="referrers"
    )
    found = await _evidence(registry.host, f"{registry.host}/{repo}:2.0.0")
    top = found[0]
    assert top.referrers_api is False
    assert [s.where for s in top.signatures] == [Where.REFERRERS_TAG]
    assert [p.source_repository for p in top.provenance] == [REPO_URL]
    verdict = evaluate(_require(public_pem(key), "github.com/Acme/App"), found)
    assert verdict.ok, verdict.reasons
    assert verdict.provenance_source == REPO_URL


async def test_referrers_found_through_the_api(registry: RegistryHandle) -> None:
    repo = unique_repo("refapi")
    digest = registry.seed(repo, ["3.0.0"])
    key = new_key()
    signer = Signer(registry)
    signer.sign(repo, digest, key, mode="referrers")
    signer.attest(repo, digest, key, SPDX, {"spdxVersion": "SPDX-2.3"}, mode="referrers")
    with ReferrersProxy(registry.url).start() as proxy:
        found = await _evidence(proxy.host, f"{proxy.host}/{repo}:3.0.0")
        paths = [path for _, path, _ in proxy.requests]
    top = found[0]
    assert top.referrers_api is True
    assert any("/referrers/" in p for p in paths)
    assert [s.where for s in top.signatures] == [Where.REFERRERS]
    assert [a.predicate_type for a in top.sboms] == [SPDX]
    assert evaluate(_require(public_pem(key)), found).ok


async def test_provenance_from_another_repository_is_refused(registry: RegistryHandle) -> None:
    repo = unique_repo("prov")
    digest = registry.seed(repo, ["1.0.0"])
    key = new_key()
    signer = Signer(registry)
    signer.sign(repo, digest, key)
    fork = "https://github.com/mallory/app"
    signer.attest(repo, digest, key, SLSA_V1, provenance_v1(fork, "b" * 40, "gha"))
    found = await _evidence(registry.host, f"{registry.host}/{repo}:1.0.0")
    verdict = evaluate(_require(public_pem(key), REPO_URL), found)
    assert verdict.reasons == (f"provenance names source {fork}, not {REPO_URL}",)


async def test_an_attestation_signed_by_another_key_does_not_count(
    registry: RegistryHandle,
) -> None:
    repo = unique_repo("provkey")
    digest = registry.seed(repo, ["1.0.0"])
    key, stranger = new_key(), new_key()
    signer = Signer(registry)
    signer.sign(repo, digest, key)
    signer.attest(repo, digest, stranger, SLSA_V1, provenance_v1(REPO_URL, "c" * 40, "gha"))
    found = await _evidence(registry.host, f"{registry.host}/{repo}:1.0.0")
    verdict = evaluate(_require(public_pem(key), REPO_URL), found)
    assert verdict.reasons == ("no SLSA provenance attestation found",)


async def test_platforms_of_an_index_are_looked_up_each(registry: RegistryHandle) -> None:
    repo = unique_repo("multi")
    seeded = registry.seed_index(repo, "1.0.0", attestation=False)
    key = new_key()
    Signer(registry).sign(repo, seeded.digest, key)
    found = await _evidence(registry.host, f"{registry.host}/{repo}:1.0.0")
    assert [e.platform for e in found] == [None, "linux/amd64", "linux/arm64/v8"]
    assert len(found[0].signatures) == 1 and not found[1].signatures
    assert evaluate(_require(public_pem(key)), found).ok
