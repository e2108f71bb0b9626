"""Find the database (embedded or external), run the web and worker roles, shut down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Coroutine, Iterator
from typing import Any, Literal

import uvicorn
import uvloop

from vixpro.accounts import orgs
from vixpro.accounts.principal import SYSTEM
from vixpro.accounts.secrets import generate_password
from vixpro.cli.logformat import SecondCachedFormatter
from vixpro.db.embedded import EmbeddedPostgres
from vixpro.db.migrate import head_revision
from vixpro.db.sessions import Database
from vixpro.db.urls import DatabaseUrls, resolve_urls
from vixpro.settings import Settings

Role = Literal["web", "worker", "all"]
log = logging.getLogger("vixpro")
FIRST_ORG = "My organisation"


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the server's event loop on uvloop (libuv: less CPU per request and per socket)."""
    uvloop.run(main)


def configure_logging() -> None:
    # The format names no source file, thread or process, so records need not collect them
    # (the logging HOWTO's "Optimization" knobs): every API request writes an access-log line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SecondCachedFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # The access log is ours (by route template, see web/middleware.py); uvicorn's logs raw paths.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("pgserver").setLevel(logging.WARNING)


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[DatabaseUrls]:
    """The database URLs for this process; starts (or joins) the embedded PostgreSQL if needed."""
    embedded: EmbeddedPostgres | None = None
    if settings.database_url is not None:
        owner = settings.database_url.get_secret_value()
    else:
        embedded = EmbeddedPostgres(settings.data_dir)
        owner = embedded.start()
    try:
        yield resolve_urls(settings, owner)
    finally:
        if embedded is not None:
            embedded.stop()


async def bootstrap(db: Database, settings: Settings) -> tuple[str, str] | None:
    """On the very first start, make an organisation and its owner; return (email, password)."""
    async with db.system_session("first-start bootstrap") as session:
        if await orgs.count(session) > 0:
            return None
        password = generate_password()
        await orgs.create_org(
            session,
            SYSTEM,
            name=FIRST_ORG,
            plan_code=settings.bootstrap_plan,
            owner_email=settings.admin_email,
            owner_password=password,
            owner_is_staff=True,
        )
    return settings.admin_email, password


def reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def web_process(settings: Settings, urls: DatabaseUrls, ssl: tuple[str, str] | None) -> None:
    """One of several web processes sharing the port (``vixpro serve --processes N``)."""
    configure_logging()
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(serve(settings, urls, "web", ssl=ssl, shared_port=True))


def serve_processes(
    settings: Settings, urls: DatabaseUrls, ssl: tuple[str, str] | None, processes: int
) -> None:
    """Run ``processes`` web processes on one port; SIGINT/SIGTERM stop them all."""
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=web_process, args=(settings, urls, ssl), name=f"web-{i}")
        for i in range(processes)
    ]
    for child in children:
        child.start()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()


def _log_preload_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not preload the AI provider SDKs: %s", task.exception())


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns SIGINT/SIGTERM for both roles."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    settings: Settings,
    urls: DatabaseUrls,
    role: Role,
    *,
    announce_first_login: bool = False,
    ssl: tuple[str, str] | None = None,
    shared_port: bool = False,
) -> None:
    """Run ``role`` until SIGINT/SIGTERM. ``shared_port``: bind with SO_REUSEPORT, so that
    several web processes on one machine share the port (the kernel spreads connections)."""
    # The web app, the jobs and the AI stack take seconds to import: only the serving roles pay.
    from vixpro.ai.providers.registry import preload_sdks
    from vixpro.jobs.app import create_job_app
    from vixpro.web.app import create_app
    from vixpro.web.server import server_config
    from vixpro.web.state import AppState

    db = Database(urls, pool_size=10)
    state = AppState(settings=settings, db=db, head_revision=head_revision())
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)

    server: _Server | None = None
    tasks: list[asyncio.Task[None]] = []
    job_app = create_job_app(
        db,
        purge_cron=settings.purge_cron,
        tools=lambda: (state.runner, state.manifest),
        settings=settings,
    )
    state.jobs = job_app
    await state.start()
    async with job_app.open_async():
        if role in ("web", "all"):
            app = create_app(state)
            config = server_config(
                app,
                host=settings.host,
                port=settings.port,
                tls=ssl,
                log_config=None,
                timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            )
            server = _Server(config)
            sockets = [reuse_port_socket(settings.host, settings.port)] if shared_port else None
            tasks.append(asyncio.create_task(server.serve(sockets=sockets), name="web"))
        if role in ("worker", "all"):
            tasks.append(
                asyncio.create_task(
                    job_app.run_worker_async(
                        concurrency=settings.worker_concurrency,
                        install_signal_handlers=False,
                        shutdown_graceful_timeout=settings.shutdown_grace_seconds,
                    ),
                    name="worker",
                )
            )
        if server is not None:
            while not server.started:
                if tasks[0].done():  # failed to bind, for instance
                    await tasks[0]
                    raise SystemExit(
                        f"the web server could not start on {settings.host}:{settings.port}"
                    )
                await asyncio.sleep(0.02)
            credentials = await bootstrap(db, settings) if announce_first_login else None
            print(f"VixPro is running at {settings.base_url}", flush=True)
            if credentials:
                email, password = credentials
                print(
                    "First login (shown only this once; the password is stored hashed):", flush=True
                )
                print(f"  email:    {email}", flush=True)
                print(f"  password: {password}", flush=True)
        else:
            print("VixPro worker is running", flush=True)
        if role in ("worker", "all"):
            # The provider SDKs take a second or more to import; load them now, off the event
            # loop, rather than in the first diagnosis after a start.
            # Not one of the roles: its end must not look like a role stopping.
            preload = asyncio.create_task(asyncio.to_thread(preload_sdks), name="preload")
            preload.add_done_callback(_log_preload_failure)

        # What start-up built (modules, the app, the routes, the models) lives as long as the
        # process: out of the garbage collector's generations, its full collections stop
        # walking it again and again under load.
        gc.freeze()
        waiter = asyncio.create_task(stopping.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        log.info("shutting down: finishing in-flight requests and jobs")
        state.ready = False
        if server is not None:
            server.should_exit = True
        for task in tasks:
            if task.get_name() == "worker":
                task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        waiter.cancel()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                log.error("a role stopped with an error: %s", type(result).__name__)
    await state.stop()
    await db.dispose()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    log.info("stopped")
