"""Shared fixtures: a real PostgreSQL for the whole run, a fresh database per test module.

``VIXPRO_TEST_DATABASE_URL`` (a superuser URL) points the suite at another server; otherwise an
embedded PostgreSQL 16 (``pgserver``) is started in a short temporary directory.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from psycopg import sql
from sqlalchemy.engine import make_url

from vixpro.accounts import api_keys as api_keys_service
from vixpro.accounts import orgs
from vixpro.accounts.principal import CLI
from vixpro.db.embedded import EmbeddedPostgres
from vixpro.db.migrate import head_revision, upgrade
from vixpro.db.sessions import Database
from vixpro.db.urls import DatabaseUrls, libpq_url, resolve_urls
from vixpro.settings import Settings
from vixpro.web.app import create_app
from vixpro.web.server import server_config
from vixpro.web.state import AppState

TEST_MASTER_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def pg_server_uri() -> Iterator[str]:
    """A superuser URI for the server the whole run uses (to the ``postgres`` database)."""
    external = os.environ.get("VIXPRO_TEST_DATABASE_URL")
    if external:
        yield external
        return
    root = Path(tempfile.mkdtemp(prefix="vxt", dir="/tmp"))
    embedded = EmbeddedPostgres(root)
    embedded.start("postgres")
    yield embedded._server.get_uri("postgres")
    embedded.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        _env_file=None,
        env="production",
        data_dir=tmp_path_factory.mktemp("data"),
        master_key=TEST_MASTER_KEY,
        login_max_failures_per_email=3,
    )


def _database_uri(server_uri: str, name: str) -> str:
    return make_url(server_uri).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def db_urls(pg_server_uri: str, settings: Settings) -> Iterator[DatabaseUrls]:
    """A fresh, migrated database for one test module."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    urls = resolve_urls(settings, _database_uri(pg_server_uri, name))
    upgrade(urls)
    yield urls
    with psycopg.connect(pg_server_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
async def database(db_urls: DatabaseUrls) -> AsyncIterator[Database]:
    db = Database(db_urls, pool_size=4)
    yield db
    await db.dispose()


@pytest.fixture(scope="module")
async def state(settings: Settings, database: Database) -> AsyncIterator[AppState]:
    app_state = AppState(settings=settings, db=database, head_revision=head_revision())
    await app_state.start()
    yield app_state
    await app_state.stop()


@pytest.fixture(scope="module")
async def client(state: AppState) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(state)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class OrgInfo:
    org_id: uuid.UUID
    name: str
    owner_email: str
    owner_id: uuid.UUID
    password: str = PASSWORD


class Factory:
    """Makes organisations and API keys through the real services."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def org(self, plan: str = "lean", *, staff: bool = False) -> OrgInfo:
        tag = uuid.uuid4().hex[:8]
        name, email = f"org-{tag}", f"owner-{tag}@example.com"
        async with self.db.system_session("test setup") as session:
            created = await orgs.create_org(
                session,
                CLI,
                name=name,
                plan_code=plan,
                owner_email=email,
                owner_password=PASSWORD,
                owner_is_staff=staff,
            )
        return OrgInfo(created.org_id, name, email, created.owner_id)

    async def api_key(self, org: OrgInfo, role: str = "admin") -> str:
        async with self.db.tenant_session(org.org_id) as session:
            issued = await api_keys_service.create(
                session, CLI, org.org_id, name=f"key-{role}", role_text=role
            )
        return issued.secret


@pytest.fixture(scope="module")
def factory(database: Database) -> Factory:
    return Factory(database)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class LiveServer:
    """The real app under uvicorn on a loopback port, in its own thread and event loop."""

    def __init__(
        self,
        settings: Settings,
        urls: DatabaseUrls,
        port: int = 0,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.port = port
        self.tls = tls
        self.loop: asyncio.AbstractEventLoop | None = None
        self.urls = urls
        self.url = ""
        self._started = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        db = Database(self.urls, pool_size=4)
        self.state = AppState(settings=self.settings, db=db, head_revision=head_revision())
        await self.state.start()
        app = create_app(self.state)
        config = server_config(
            app, host="127.0.0.1", port=self.port, tls=self.tls, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.port = port
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
        self._started.set()
        await task
        await self.state.stop()
        await db.dispose()

    def start(self) -> LiveServer:
        self._thread.start()
        if not self._started.wait(15):
            raise RuntimeError("live server did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(20)

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run ``coro`` on the server's own event loop (for its hub, say) and return the result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@pytest.fixture(scope="module")
def live_server(settings: Settings, db_urls: DatabaseUrls) -> Iterator[LiveServer]:
    server = LiveServer(settings, db_urls).start()
    yield server
    server.stop()


def owner_dsn(urls: DatabaseUrls) -> str:
    return libpq_url(urls.owner)
