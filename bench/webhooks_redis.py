"""Two webhook replicas sharing one Redis (``FLUXBOT_REDIS_URL``) under wrk, on loopback.

    python bench/webhooks_redis.py [--rate 200] [--duration 30] [--connections 20]

1. Starts a real ``redis-server`` (random port) and two server processes (``build_app`` as
   ``fluxbot serve`` runs it, INFO logs written from a thread, a job executor that does nothing:
   the endpoint is measured) whose delivery dedupe lives in that Redis.
2. Runs two wrk processes at once, each at ``--rate / 2`` against one replica, with signed
   ``push`` payloads from ``@octokit/webhooks-examples``, each with its own delivery id (paced by
   a Lua ``delay()``: wrk has no rate option; see ``bench/webhooks.py``).
3. Prints per replica p50/p90/p99, requests, non-2xx and socket errors, and the Redis key count
   (every delivery claimed exactly once), with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.webhooks import LUA, SECRET, free_port, parse_wrk, payload, wait_ready  # noqa: E402
from tests.support.redis_process import RedisHandle  # noqa: E402

SERVER = """
import asyncio, sys
from aiohttp import web
from bot.app.cli.serve import log_in_background
from bot.app.log import configure
from bot.app.server import build_app
from bot.app.settings import Settings
configure()
log_in_background()

async def execute(job):
    await asyncio.sleep(0)

settings = Settings(github_webhook_secret=%(secret)r, redis_url=sys.argv[2])
app = build_app(settings, execute=execute, schedule=False)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def redis_keys(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"DBSIZE\r\n")
        return int(s.recv(64).strip().lstrip(b":"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    binary = shutil.which("redis-server")
    if wrk is None or binary is None:
        raise SystemExit("wrk and redis-server are needed (apt-get install wrk redis-server)")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    body = payload()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with tempfile.TemporaryDirectory() as tmp, RedisHandle(binary, Path(tmp)).start() as redis:
        ports = [free_port(), free_port()]
        servers = [
            subprocess.Popen(
                [sys.executable, "-c", SERVER % {"secret": SECRET}, str(p), redis.url],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for p in ports
        ]
        try:
            for port, server in zip(ports, servers, strict=True):
                wait_ready(port, server)
            per = args.connections // 2
            pause_ms = 1000.0 * per / (args.rate / 2)
            script = Path(tmp) / "signed.lua"
            lua = LUA % {"body": body.decode(), "signature": signature, "pause_ms": pause_ms}
            script.write_text(lua)
            runs = [
                subprocess.Popen(
                    [
                        wrk,
                        "-t1",
                        f"-c{per}",
                        f"-d{args.duration}s",
                        "--latency",
                        "-s",
                        str(script),
                        f"http://127.0.0.1:{port}/webhooks/github",
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for port in ports
            ]
            outputs = [run.communicate(timeout=args.duration + 60)[0] for run in runs]
        finally:
            for server in servers:
                server.terminate()
                server.wait(30)
        total = 0
        print(f"wrk {args.rate:.0f} req/s total for {args.duration} s, two replicas, one Redis:")
        for n, text in enumerate(outputs):
            f = parse_wrk(text)
            total += int(f["requests"])
            print(
                f"  replica {n + 1}: p50 {f.get('p50')} p90 {f.get('p90')} p99 {f.get('p99')}, "
                f"{f['requests']} requests ({f['rps']} req/s), non-2xx {f['non2xx']}, "
                f"socket errors: {f['socket_errors']}"
            )
        print(f"  delivery ids claimed in Redis: {redis_keys(redis.port)} of {total} requests")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
