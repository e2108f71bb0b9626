"""Authenticated ``GET /api/v1/me`` (API key, rate-limit count in PostgreSQL) against a bare
FastAPI endpoint, each in one uvicorn process, driven by the same load generator.

    .venv/bin/python bench/api.py [--seconds 10] [--connections 32]

Target (issue 2): VixPro at >= 40 % of the bare endpoint's requests per second on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.loadgen import Result, run  # noqa: E402
from vixpro.accounts import api_keys, orgs, plans  # noqa: E402
from vixpro.accounts.principal import CLI  # noqa: E402
from vixpro.cli.runtime import database  # noqa: E402
from vixpro.db.migrate import upgrade  # noqa: E402
from vixpro.db.sessions import Database  # noqa: E402
from vixpro.db.urls import DatabaseUrls  # noqa: E402
from vixpro.settings import Settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


async def make_key(settings: Settings, urls: DatabaseUrls) -> str:
    db = Database(urls, pool_size=2)
    try:
        async with db.system_session("bench setup") as session:
            await plans.update_plan(session, CLI, "lean", {"api_requests_per_hour": 100_000_000})
            created = await orgs.create_org(
                session,
                CLI,
                name="bench",
                plan_code="lean",
                owner_email="bench@example.com",
                owner_password="bench password 123",
            )
        async with db.tenant_session(created.org_id) as session:
            issued = await api_keys.create(
                session, CLI, created.org_id, name="bench", role_text="admin"
            )
        return issued.secret
    finally:
        await db.dispose()


def measure(name: str, port: int, key: str, args: argparse.Namespace) -> Result:
    headers = {"Authorization": f"Bearer {key}"}
    asyncio.run(
        run("127.0.0.1", port, "/api/v1/me", headers, connections=args.connections, seconds=2)
    )
    result = asyncio.run(
        run(
            "127.0.0.1",
            port,
            "/api/v1/me",
            headers,
            connections=args.connections,
            seconds=args.seconds,
        )
    )
    print(
        f"{name:>8}: {result.rps:8.0f} req/s  p50 {result.p50:6.2f} ms  p99 {result.percentile(99):6.2f} ms"
        f"  ({result.requests} ok, {result.errors} errors)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="vxb", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIXPRO_")}
    env.update(VIXPRO_DATA_DIR=str(data))
    os.environ.update(VIXPRO_DATA_DIR=str(data))
    settings = Settings()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with database(settings) as urls:
            upgrade(urls)
            key = asyncio.run(make_key(settings, urls))
            bare_port, vixpro_port = free_port(), free_port()
            uvicorn = [sys.executable, "-m", "uvicorn", "--no-access-log", "--log-level", "warning"]
            procs.append(
                subprocess.Popen(
                    [*uvicorn, "--port", str(bare_port), "bench.bare_app:app"], cwd=ROOT, env=env
                )
            )
            procs.append(
                subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "vixpro"),
                        "serve",
                        "--role",
                        "web",
                        "--port",
                        str(vixpro_port),
                    ],
                    env=env,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_ready(f"http://127.0.0.1:{bare_port}/api/v1/me")
            wait_ready(f"http://127.0.0.1:{vixpro_port}/readyz")
            print(
                f"GET /api/v1/me, {args.connections} connections, {args.seconds:.0f} s each, "
                f"{os.cpu_count()} cores"
            )
            bare = measure("bare", bare_port, key, args)
            vixpro = measure("vixpro", vixpro_port, key, args)
            print(f"   ratio: {vixpro.rps / bare.rps:.0%} of the bare endpoint (target >= 40%)")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
