"""The optional supply-chain gate of a ``.fluxbot.yaml`` rule: ``require:``.

    require:
      signature: {key: "-----BEGIN PUBLIC KEY-----..."}      # or keyless: {issuer, identity}
      provenance: {sourceRepository: github.com/acme/app}

An image that does not satisfy it is not proposed; :func:`evaluate` says why in one line each.
Keyless (Fulcio/Rekor) verification needs a trust root, which fluxbot does not fetch: without a
configured one the rule is refused at load time rather than silently passing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.errors import ConfigError
from bot.core.supplychain.evidence import Evidence
from bot.core.supplychain.verify import Key, attestation_verifies, signature_problem


@dataclass(frozen=True)
class Keyless:
    issuer: str
    identity: str
    trust_root: str | None = None


@dataclass(frozen=True)
class Requirement:
    """What a rule requires of an image before it is proposed."""

    key: Key | None = None
    keyless: Keyless | None = None
    source_repository: str | None = None

    @property
    def needs_signature(self) -> bool:
        return self.key is not None or self.keyless is not None

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None, where: str = "require") -> Requirement | None:
        if not data:
            return None
        unknown = set(data) - {"signature", "provenance"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        key = keyless = None
        signature = data.get("signature")
        if signature is not None:
            if not isinstance(signature, Mapping) or len(signature) != 1:
                raise ConfigError(f"{where}.signature: give exactly one of key or keyless")
            if "key" in signature:
                key = Key.from_pem(str(signature["key"]))
            elif "keyless" in signature:
                keyless = _keyless(signature["keyless"], f"{where}.signature.keyless")
            else:
                raise ConfigError(f"{where}.signature: give exactly one of key or keyless")
        provenance = data.get("provenance")
        source = None
        if provenance is not None:
            if not isinstance(provenance, Mapping) or not provenance.get("sourceRepository"):
                raise ConfigError(f"{where}.provenance: sourceRepository is required")
            source = str(provenance["sourceRepository"])
        return cls(key=key, keyless=keyless, source_repository=source)


def _keyless(data: Any, where: str) -> Keyless:
    if not isinstance(data, Mapping) or not data.get("issuer") or not data.get("identity"):
        raise ConfigError(f"{where}: issuer and identity are required")
    root = data.get("trustRoot")
    if not root:
        raise ConfigError(
            f"{where}: keyless verification needs a trust root (trustRoot: a trusted_root.json "
            "path); fluxbot does not fetch one from the network"
        )
    raise ConfigError(
        f"{where}: keyless verification is not available in this build; use signature.key"
    )


def normalise_repository(value: str) -> str:
    """``https://github.com/Acme/App.git`` and ``github.com/acme/app`` compare equal."""
    value = value.strip().lower().removeprefix("git+")
    for prefix in ("https://", "http://", "ssh://", "git@"):
        value = value.removeprefix(prefix)
    return value.replace(":", "/", 1).removesuffix(".git").rstrip("/")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reasons: tuple[str, ...] = ()
    signed: bool = False
    provenance_source: str | None = None


def evaluate(requirement: Requirement, evidence: Sequence[Evidence]) -> Verdict:
    """Whether the image (its index first, then its platforms) satisfies ``requirement``."""
    top, *platforms = evidence
    reasons: list[str] = []
    signed = False
    if requirement.key is not None:
        problems = [signature_problem(s, requirement.key, top.digest) for s in top.signatures]
        signed = any(p is None for p in problems)
        if not signed:
            reasons.append(next((p for p in problems if p), None) or "no cosign signature found")
    source = None
    if requirement.source_repository is not None:
        want = normalise_repository(requirement.source_repository)
        source = _provenance_source(requirement, top, platforms)
        if source is None:
            reasons.append("no SLSA provenance attestation found")
        elif normalise_repository(source) != want:
            reasons.append(f"provenance names source {source}, not {requirement.source_repository}")
    return Verdict(ok=not reasons, reasons=tuple(reasons), signed=signed, provenance_source=source)


def _provenance_source(
    requirement: Requirement, top: Evidence, platforms: Sequence[Evidence]
) -> str | None:
    """The source repository every platform's provenance agrees on (the index's, if it has one)."""
    for scope in ([top], platforms):
        sources = []
        for ev in scope:
            found = [
                p.source_repository
                for a in ev.attestations
                if a.is_provenance
                and (requirement.key is None or attestation_verifies(a, requirement.key))
                and (p := a.provenance()) is not None
                and p.source_repository
            ]
            sources.append(found[0] if found else None)
        if sources and all(sources):
            return sources[0] if len(set(sources)) == 1 else ", ".join(sorted({*map(str, sources)}))
    return None
