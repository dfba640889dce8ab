"""Offline verification of cosign signatures and DSSE attestations with a public key.

cosign signs the simple-signing payload bytes (ECDSA P-256/SHA-256 by default, RSA PKCS#1 v1.5 or
Ed25519 when the key is one); a DSSE signature covers the envelope's pre-authentication encoding.
Verification uses ``cryptography`` and never the network.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from bot.core.errors import ConfigError
from bot.core.supplychain.evidence import Attestation, Signature, pae

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
_SUPPORTED = (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey)


@dataclass(frozen=True)
class Key:
    """A public key from PEM text, with a short fingerprint for messages."""

    key: PublicKey
    pem: str

    @classmethod
    def from_pem(cls, pem: str) -> Key:
        try:
            key = serialization.load_pem_public_key(pem.strip().encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ConfigError(f"require.signature.key is not a PEM public key: {exc}") from None
        if not isinstance(
            key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
        ):
            raise ConfigError(f"require.signature.key: unsupported key type {type(key).__name__}")
        return cls(key, pem)

    def verifies(self, data: bytes, signature: bytes) -> bool:
        try:
            if isinstance(self.key, ec.EllipticCurvePublicKey):
                self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(self.key, rsa.RSAPublicKey):
                self.key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                self.key.verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True


def signature_problem(sig: Signature, key: Key, digest: str) -> str | None:
    """Why ``sig`` does not prove ``key`` signed ``digest``, or None when it does."""
    if sig.signed_digest != digest:
        return f"signature is for {sig.signed_digest[:19]}, not this image"
    if not key.verifies(sig.payload, sig.signature):
        return "signature does not verify with the configured key"
    return None


def attestation_verifies(att: Attestation, key: Key) -> bool:
    data = pae(att.payload_type, att.envelope_payload)
    return any(key.verifies(data, s) for s in att.signatures)
