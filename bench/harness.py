"""A platform for benchmarks: embedded PostgreSQL in a temporary directory, migrated, one
organisation with room for many servers, and ``vixpro serve --role web`` as its own process."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from vixpro_agent.protocol import signing

from vixpro.accounts import api_keys, orgs, plans
from vixpro.accounts.principal import CLI
from vixpro.cli.runtime import database
from vixpro.db.migrate import upgrade
from vixpro.db.sessions import Database
from vixpro.db.urls import DatabaseUrls, libpq_url
from vixpro.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BenchPlatform:
    url: str
    ws_url: str
    api_key: str
    org_id: uuid.UUID
    key_pem: bytes
    server_ids: list[str]
    process: subprocess.Popen[bytes]
    urls: DatabaseUrls
    env: dict[str, str]

    def restart_web(self) -> None:
        """A fresh web process on a new port (to measure each level from a clean start)."""
        self.process.terminate()
        self.process.wait(60)
        port = free_port()
        self.process = start_web(self.env, port)
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/api/v1/hostagent/ws"


def _stderr() -> Any:
    """Where the web process's log goes: VIXPRO_BENCH_STDERR=path keeps it, else nowhere."""
    path = os.environ.get("VIXPRO_BENCH_STDERR")
    return (path and Path(path).open("ab")) or subprocess.DEVNULL


def start_web(env: dict[str, str], port: int, processes: int = 1) -> subprocess.Popen[bytes]:
    # VIXPRO_BENCH_PROFILE=path runs the web process under cProfile (written when it stops).
    profile = os.environ.get("VIXPRO_BENCH_PROFILE")
    prefix = [sys.executable, "-m", "cProfile", "-o", profile] if profile else []
    proc = subprocess.Popen(
        [
            *prefix,
            str(Path(sys.executable).parent / "vixpro"),
            "serve",
            "--role",
            "web",
            "--port",
            str(port),
            "--processes",
            str(processes),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=_stderr(),
        start_new_session=True,  # its own process group: kill -9 reaches every web process
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the web process did not become ready")


async def _setup(urls: DatabaseUrls) -> tuple[uuid.UUID, str]:
    db = Database(urls, pool_size=2)
    try:
        async with db.system_session("bench setup") as session:
            await plans.update_plan(
                session,
                CLI,
                "lean",
                {"api_requests_per_hour": 100_000_000, "max_servers": 1_000_000},
            )
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
        return created.org_id, issued.secret
    finally:
        await db.dispose()


def add_servers(urls: DatabaseUrls, org_id: uuid.UUID, public_pem: str, count: int) -> list[str]:
    """Servers registered straight in the database (enrolment is not what is measured)."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with psycopg.connect(libpq_url(urls.owner)) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO servers (id, org_id, name, public_key, config) VALUES (%s, %s, %s, %s, %s)",
            [(i, org_id, f"sim-{i[:8]}", public_pem, '{"platform_url": ""}') for i in ids],
        )
    return ids


@contextmanager
def bench_platform(servers: int) -> Iterator[BenchPlatform]:
    data = Path(tempfile.mkdtemp(prefix="vxb", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIXPRO_")}
    env.update(VIXPRO_DATA_DIR=str(data))
    os.environ["VIXPRO_DATA_DIR"] = str(data)
    port = free_port()
    platform: BenchPlatform | None = None
    try:
        with database(Settings()) as urls:
            upgrade(urls)
            org_id, key = asyncio.run(_setup(urls))
            private = signing.generate_private_key()
            server_ids = add_servers(urls, org_id, signing.public_pem(private), servers)
            proc = start_web(env, port)
            url = f"http://127.0.0.1:{port}"
            platform = BenchPlatform(
                url=url,
                ws_url=f"ws://127.0.0.1:{port}/api/v1/hostagent/ws",
                api_key=key,
                org_id=org_id,
                key_pem=signing.private_pem(private),
                server_ids=server_ids,
                process=proc,
                urls=urls,
                env=env,
            )
            yield platform
    finally:
        if platform is not None:
            platform.process.terminate()
            platform.process.wait(30)
        shutil.rmtree(data, ignore_errors=True)


def connected_count(urls: DatabaseUrls) -> int:
    with psycopg.connect(libpq_url(urls.owner)) as conn:
        row = conn.execute("SELECT count(*) FROM servers WHERE replica IS NOT NULL").fetchone()
    return int(row[0]) if row else 0
