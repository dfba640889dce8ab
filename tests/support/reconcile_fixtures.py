"""Reconcile fixtures (auto-loaded by ``tests/conftest.py``): a fake cluster and a fake Receiver.

- ``kube_api``: a :class:`~tests.support.kube_fake.KubeFake` served on 127.0.0.1 (``.url``,
  ``.kubeconfig(path)``), with the bootstrap GitRepository ``flux-system/flux-system``.
- ``flux_receiver``: a :class:`~tests.support.flux_receiver_fake.ReceiverFake` on 127.0.0.1 whose
  triggers annotate resources in ``kube_api`` as notification-controller would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from tests.support.flux_receiver_fake import ReceiverFake
from tests.support.kube_fake import REQUESTED_AT, KubeFake

ServerFactory = Callable[[web.Application], Awaitable[Any]]


@pytest.fixture
async def kube_api(aiohttp_server: ServerFactory) -> KubeFake:
    fake = KubeFake()
    fake.add_gitrepository()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
async def flux_receiver(aiohttp_server: ServerFactory, kube_api: KubeFake) -> ReceiverFake:
    def annotate(resource: tuple[str, str, str]) -> None:
        kind, namespace, name = resource
        plural = {"GitRepository": "gitrepositories", "Kustomization": "kustomizations"}[kind]
        obj = kube_api.objects[(plural, namespace, name)]
        at = dt.datetime.now(dt.UTC).isoformat()
        obj["metadata"].setdefault("annotations", {})[REQUESTED_AT] = at
        if plural == "gitrepositories":
            kube_api._reconcile_source(obj, at)

    fake = ReceiverFake(on_trigger=annotate)
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake
