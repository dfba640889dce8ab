"""Webhook endpoint latency under load, and the idle memory of ``fluxbot serve``.

    python bench/webhooks.py [--rate 200] [--duration 10] [--connections 20]

1. Starts the real server application (``bot.app.server.build_app``) in a child process on 127.0.0.1
   with a job executor that does nothing (the jobs are not what is measured: the endpoint is),
   configured as ``fluxbot serve`` runs: INFO log lines written from a background thread, and
   delivery ids in a SQLite cache file (``--no-cache``: in memory).
2. Drives ``POST /webhooks/github`` with wrk (Debian ``wrk``) for ``--duration`` seconds: every
   request is a real signed ``push`` payload from ``@octokit/webhooks-examples`` with its own
   ``X-GitHub-Delivery`` (so none is deduplicated). wrk has no rate option: a Lua ``delay()`` paces
   every connection at ``connections / rate`` seconds between requests (open-loop per connection,
   so latency is measured per request, not inflated by queueing in wrk itself).
3. Prints p50/p90/p99 latency, requests/s, non-2xx responses and socket errors, and the load
   average before and after (the machine is shared: figures on a loaded one are worse).
4. Starts ``python -m bot serve --no-schedule`` and reports its resident memory after it idles.

Loopback only; every loop is bounded by ``--duration`` and timeouts.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
SECRET = "bench-secret"

LUA = """
local counter = 0
local prefix = tostring({}):gsub("[^%%w]", "")  -- differs per wrk thread (own Lua state)
local body = [==[%(body)s]==]
local signature = "%(signature)s"
local pause = %(pause_ms)f

function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-GitHub-Event"] = "push"
  headers["X-GitHub-Delivery"] = string.format("bench-%%s-%%d-%%d", prefix, os.time(), counter)
  headers["X-Hub-Signature-256"] = signature
  return wrk.format("POST", "/webhooks/github", headers, body)
end

function delay()
  return pause
end
"""

SERVER = """
import asyncio, sys
from aiohttp import web
from bot.app.cli.serve import log_in_background
from bot.app.log import configure
from bot.app.server import build_app
from bot.app.settings import Settings
configure()            # INFO, as fluxbot serve: one log line per delivery
log_in_background()    # written from a thread, as fluxbot serve does

async def execute(job):
    await asyncio.sleep(0)

settings = Settings(github_webhook_secret=%(secret)r, cache_path=sys.argv[2] or None)
app = build_app(settings, execute=execute, schedule=False)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server not ready")


def payload() -> bytes:
    examples = {e["name"]: e["examples"] for e in json.loads(EXAMPLES.read_text("utf-8"))}
    push = copy.deepcopy(examples["push"][0])
    push.update(ref="refs/heads/main", deleted=False)
    push["repository"]["default_branch"] = "main"
    push["commits"] = [{"added": [], "modified": ["apps/app.yaml"], "removed": []}]
    return json.dumps(push).encode()


def parse_wrk(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", text, re.M)
        if m:
            out[f"p{pct}"] = m.group(1)
    for key, pattern in (
        ("requests", r"(\d+) requests in"),
        ("rps", r"Requests/sec:\s+(\S+)"),
        ("non2xx", r"Non-2xx or 3xx responses: (\d+)"),
        ("socket_errors", r"Socket errors: (.*)"),
    ):
        m = re.search(pattern, text)
        out[key] = m.group(1) if m else "0"
    return out


def bench_wrk(rate: float, duration: int, connections: int, threads: int, cache: bool) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    body = payload()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    port = free_port()
    state = tempfile.TemporaryDirectory()
    cache_path = str(Path(state.name) / "cache.sqlite") if cache else ""
    logs = open(Path(state.name) / "server.log", "wb")  # noqa: SIM115 (closed in finally)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER % {"secret": SECRET}, str(port), cache_path],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=logs,
    )
    try:
        wait_ready(port, server)
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "signed.lua"
            pause_ms = 1000.0 * connections / rate if rate > 0 else 0.0
            lua = LUA % {"body": body.decode(), "signature": signature, "pause_ms": pause_ms}
            script.write_text(lua)
            ticks = os.sysconf("SC_CLK_TCK")
            fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu_before = (int(fields[11]) + int(fields[12])) / ticks
            argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
            argv += ["-s", str(script), f"http://127.0.0.1:{port}/webhooks/github"]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30)
        figures = parse_wrk(done.stdout)
        label = f"{rate:.0f} req/s target" if rate > 0 else "unpaced"
        store = "SQLite delivery cache" if cache else "in-memory delivery ids"
        print(f"wrk {label}, {connections} connections, {threads} threads, {duration} s, {store}:")
        print(
            f"  p50 {figures.get('p50')}  p75 {figures.get('p75')}  p90 {figures.get('p90')}"
            f"  p99 {figures.get('p99')}"
        )
        print(
            f"  {figures['requests']} requests, {figures['rps']} req/s achieved, "
            f"non-2xx {figures['non2xx']}, socket errors: {figures['socket_errors']}"
        )
        ticks = os.sysconf("SC_CLK_TCK")
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / ticks - cpu_before
        served = int(figures["requests"]) or 1
        print(
            f"  server CPU: {cpu:.2f} s for {served} deliveries = {1000 * cpu / served:.2f} ms each"
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
        accepted = re.search(r'result="accepted"\} (\S+)', metrics)
        print(f"  server counted accepted deliveries: {accepted.group(1) if accepted else 0}")
        if os.environ.get("BENCH_VERBOSE"):
            print(done.stdout)
    finally:
        server.terminate()
        server.wait(30)
        logs.close()
        lines = (Path(state.name) / "server.log").read_bytes().count(b"github.webhook ")
        print(f"  log lines written by the server: {lines}")
        state.cleanup()


def idle_rss(seconds: float = 3.0) -> None:
    port = free_port()
    env = {**os.environ, "FLUXBOT_GITHUB_WEBHOOK_SECRET": SECRET}
    argv = [sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-schedule"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        time.sleep(seconds)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss = re.search(r"VmRSS:\s+(\d+) kB", status)
        hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
        mib = int(rss.group(1)) / 1024 if rss else float("nan")
        peak = int(hwm.group(1)) / 1024 if hwm else float("nan")
        print(f"fluxbot serve idle RSS after {seconds:.0f} s: {mib:.1f} MiB (peak {peak:.1f} MiB)")
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--unpaced", action="store_true", help="also measure without pacing")
    parser.add_argument(
        "--no-cache", action="store_true", help="in-memory delivery ids instead of FLUXBOT_CACHE"
    )
    args = parser.parse_args()
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    bench_wrk(args.rate, args.duration, args.connections, args.threads, not args.no_cache)
    if args.unpaced:
        bench_wrk(0.0, min(args.duration, 5), args.connections, args.threads, not args.no_cache)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    idle_rss()


if __name__ == "__main__":
    main()
