"""A real headless Chromium (Debian ``chromium``) driven over the Chrome DevTools Protocol.

    async with start_browser() as page:
        await page.goto("http://127.0.0.1:8000/")
        await page.click("#submit")
        await page.wait_for(lambda url: "/callback" in url)
        text = await page.text("#title")

Only loopback: the browser runs with a throwaway profile, no proxy, no first-run traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.paths import IN_CI

FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in CI containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--metrics-recording-only",
    "--password-store=basic",
    "--proxy-server=direct://",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        (pytest.fail if IN_CI else pytest.skip)(
            "chromium is not installed (apt-get install chromium)"
        )
        raise AssertionError
    return path


class Page:
    """One tab: navigate, evaluate, click, wait."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        await self._ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = await self._ws.receive(timeout=30)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"DevTools connection closed: {msg.type}")
            data = json.loads(msg.data)
            if data.get("id") == msg_id:
                if "error" in data:
                    raise AssertionError(f"{method}: {data['error']}")
                result: dict[str, Any] = data.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for(lambda now: now.startswith(url))

    async def url(self) -> str:
        return str(await self.evaluate("document.readyState === 'complete' ? location.href : ''"))

    async def wait_for(self, match: Callable[[str], bool], timeout: float = 20.0) -> str:
        """Wait until a loaded page's URL matches (polled: the page may navigate meanwhile)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                last = await self.url()
            except AssertionError:  # the context was replaced mid-navigation
                last = ""
            if last and match(last):
                return last
            await asyncio.sleep(0.05)
        raise AssertionError(f"page never reached the expected URL (last: {last!r})")

    async def click(self, selector: str) -> None:
        found = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.click(); return true; })()"
        )
        assert found, f"no {selector} on the page"

    async def text(self, selector: str) -> str:
        return str(
            await self.evaluate(
                f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''"
            )
        )

    async def attribute(self, selector: str, name: str) -> str | None:
        value = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" return e ? e.getAttribute({json.dumps(name)}) : null; }})()"
        )
        return None if value is None else str(value)


@asynccontextmanager
async def start_browser() -> AsyncIterator[Page]:
    """Chromium with a fresh profile; yields its first tab."""
    binary = chromium()
    # chromium's helpers (zygote, crashpad) can outlive the browser and keep writing to the
    # profile: run it in its own process group and end the whole group.
    with tempfile.TemporaryDirectory(
        prefix="fluxbot-chromium-", ignore_cleanup_errors=True
    ) as profile:
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            port_file = Path(profile, "DevToolsActivePort")
            deadline = time.monotonic() + 30
            while not (port_file.is_file() and port_file.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("chromium did not start its DevTools endpoint")
                await asyncio.sleep(0.05)
            port = port_file.read_text().split()[0]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                    targets = await resp.json()
                (tab,) = [t for t in targets if t["type"] == "page"]
                async with session.ws_connect(tab["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    page = Page(ws)
                    await page.send("Page.enable")
                    yield page
        finally:
            _end_group(proc)


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the browser's process group, then SIGKILL whatever of it is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # helpers that outlived the browser
    proc.wait()
