"""Sign and attest images in the loopback registry the way cosign and OCI 1.1 clients do.

Documents follow cosign's documented formats: a ``sha256-<hex>.sig`` manifest whose layers are
simple-signing payloads with the base64 signature in the ``dev.cosignproject.cosign/signature``
annotation, a ``sha256-<hex>.att`` manifest of DSSE envelopes, and (``mode="referrers"``) the same
documents as manifests with a ``subject``, listed in the referrers tag-schema index
``sha256-<hex>`` as a client must maintain it on a registry without the referrers API.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.core.supplychain.evidence import (
    COSIGN_SIG_ARTIFACT,
    DSSE,
    INTOTO_PAYLOAD,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    pae,
)
from tests.support.registry_images import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    run_coroutine,
    sha256,
)
from tests.support.registry_process import RegistryHandle
from tests.support.registry_servers import BackgroundServer

EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def simple_signing_payload(docker_reference: str, digest: str) -> bytes:
    doc = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def provenance_v1(repository: str, commit: str, builder: str) -> dict[str, Any]:
    return {
        "buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {"workflow": {"repository": repository, "path": "ci.yml"}},
            "resolvedDependencies": [
                {"uri": f"git+{repository}@refs/heads/main", "digest": {"gitCommit": commit}}
            ],
        },
        "runDetails": {"builder": {"id": builder}},
    }


def dsse_envelope(
    key: ec.EllipticCurvePrivateKey, digest: str, predicate_type: str, predicate: Mapping[str, Any]
) -> bytes:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "image", "digest": {"sha256": digest.removeprefix("sha256:")}}],
        "predicateType": predicate_type,
        "predicate": dict(predicate),
    }
    payload = json.dumps(statement).encode()
    sig = _sign(key, pae(INTOTO_PAYLOAD, payload))
    return json.dumps(
        {
            "payloadType": INTOTO_PAYLOAD,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
        }
    ).encode()


class Signer:
    """Pushes signatures and attestations for images of one registry."""

    def __init__(self, registry: RegistryHandle) -> None:
        self.registry = registry

    def sign(
        self,
        repository: str,
        digest: str,
        key: ec.EllipticCurvePrivateKey,
        *,
        mode: str = "tag",
        tamper: bool = False,
        signed_digest: str | None = None,
    ) -> None:
        """cosign sign; ``tamper`` alters the payload after signing, breaking the signature."""
        payload = simple_signing_payload(
            f"{self.registry.host}/{repository}", signed_digest or digest
        )
        signature = base64.b64encode(_sign(key, payload)).decode()
        if tamper:
            payload = payload.replace(b"cosign container", b"cosign container ")
        layer = (SIMPLE_SIGNING, payload, {SIGNATURE_ANNOTATION: signature})
        run_coroutine(self._push(repository, digest, [layer], mode, ".sig", COSIGN_SIG_ARTIFACT))

    def attest(
        self,
        repository: str,
        digest: str,
        key: ec.EllipticCurvePrivateKey,
        predicate_type: str,
        predicate: Mapping[str, Any],
        *,
        mode: str = "tag",
    ) -> None:
        envelope = dsse_envelope(key, digest, predicate_type, predicate)
        layer = (DSSE, envelope, {"predicateType": predicate_type})
        run_coroutine(self._push(repository, digest, [layer], mode, ".att", DSSE))

    async def _push(
        self,
        repository: str,
        digest: str,
        layers: list[tuple[str, bytes, dict[str, str]]],
        mode: str,
        suffix: str,
        artifact_type: str,
    ) -> None:
        reg = self.registry
        async with reg._client() as client:
            config = b"{}"
            config_digest = await reg._blob(client, repository, config)
            descriptors = []
            for media, blob, annotations in layers:
                blob_digest = await reg._blob(client, repository, blob)
                descriptors.append(
                    {
                        "mediaType": media,
                        "digest": blob_digest,
                        "size": len(blob),
                        "annotations": annotations,
                    }
                )
            manifest: dict[str, Any] = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": EMPTY_CONFIG if mode == "referrers" else OCI_CONFIG,
                    "digest": config_digest,
                    "size": len(config),
                },
                "layers": descriptors,
            }
            tag_hex = digest.replace(":", "-")
            if mode == "tag":
                body = json.dumps(manifest).encode()
                await reg._put_manifest(client, repository, tag_hex + suffix, body, OCI_MANIFEST)
                return
            subject = await client.head(
                f"/v2/{repository}/manifests/{digest}",
                headers={
                    **await reg._auth(client, repository),
                    "Accept": OCI_INDEX + "," + OCI_MANIFEST,
                },
            )
            manifest["artifactType"] = artifact_type
            manifest["subject"] = {
                "mediaType": subject.headers.get("content-type", OCI_MANIFEST),
                "digest": digest,
                "size": int(subject.headers.get("content-length", "0")),
            }
            body = json.dumps(manifest).encode()
            await reg._put_manifest(client, repository, sha256(body), body, OCI_MANIFEST)
            await self._add_to_fallback_index(client, repository, tag_hex, body, artifact_type)

    async def _add_to_fallback_index(
        self, client: Any, repository: str, tag: str, body: bytes, artifact_type: str
    ) -> None:
        """The referrers tag schema: a client appends its manifest to the ``sha256-<hex>`` index."""
        reg = self.registry
        auth = await reg._auth(client, repository)
        resp = await client.get(
            f"/v2/{repository}/manifests/{tag}", headers={**auth, "Accept": OCI_INDEX}
        )
        index = (
            resp.json()
            if resp.status_code == 200
            else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        )
        index["manifests"].append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha256(body),
                "size": len(body),
                "artifactType": artifact_type,
            }
        )
        await reg._put_manifest(client, repository, tag, json.dumps(index).encode(), OCI_INDEX)


class ReferrersProxy(BackgroundServer):
    """A registry front that offers the OCI 1.1 referrers API (Distribution 2.8 has none).

    ``GET /v2/<name>/referrers/<digest>`` answers the index the tag schema keeps, so the same
    pushed documents are found through the API; every other request goes to the registry.
    """

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.record(request)
        path = request.path
        if request.method == "GET" and "/referrers/" in path:
            name, _, digest = path.removeprefix("/v2/").partition("/referrers/")
            tag = digest.replace(":", "-")
            status, _, body = await self.forward(
                self.upstream, request, f"/v2/{name}/manifests/{tag}"
            )
            if status != 200:
                body = json.dumps(
                    {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
                ).encode()
            return web.Response(status=200, body=body, content_type=OCI_INDEX)
        status, headers, body = await self.forward(self.upstream, request)
        return web.Response(status=status, headers=headers, body=body)
