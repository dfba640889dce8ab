"""The registry client's verifying TLS context, its CA certificates loaded on first use.

Loading certifi's bundle costs 30-80 ms of CPU; a ``fluxbot tags`` call against a plain-HTTP
(``--insecure-registry``) host never needs it, and an HTTPS one pays it at the first handshake
instead of at start-up. Same trust as ``httpx.create_ssl_context(trust_env=True)``:
``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["LazyTrustContext", "verifying_context"]


class LazyTrustContext(ssl.SSLContext):
    """A client context (certificate and host name verified) that loads its CAs when first used."""

    ca_locations: Mapping[str, str] = {}
    _trusted = False

    def _trust(self) -> None:
        if not self._trusted:
            self.load_verify_locations(**self.ca_locations)
            self._trusted = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._trust()
        return super().wrap_socket(*args, **kwargs)


def verifying_context(environ: Mapping[str, str]) -> LazyTrustContext:
    """What ``ssl.create_default_context`` builds, with the CA locations httpx would choose."""
    ctx = LazyTrustContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    if environ.get("SSL_CERT_FILE"):
        ctx.ca_locations = {"cafile": environ["SSL_CERT_FILE"]}
    elif environ.get("SSL_CERT_DIR"):
        ctx.ca_locations = {"capath": environ["SSL_CERT_DIR"]}
    else:
        import certifi

        ctx.ca_locations = {"cafile": certifi.where()}
    if sys.version_info >= (3, 13):  # as create_default_context does from 3.13 on
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    return ctx
