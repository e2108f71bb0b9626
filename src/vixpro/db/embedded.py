"""The embedded PostgreSQL 16 (the ``pgserver`` package) that ``vixpro up`` runs in the data directory.

Several processes may hold it at once (``vixpro up`` and an admin command): ``pgserver`` counts
the holders and stops the server when the last one lets go.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DATABASE = "vixpro"
# Each VixPro process keeps pools of up to about 80 connections (ORM sessions as the app and the
# system role, the hot-path pools, the job queue's fetch loops and listeners). PostgreSQL's
# default of 100 is exhausted by a web process and a worker under a burst of diagnoses, and a
# refused connection fails whatever needed it. 300 leaves room for a web process and several
# workers on the machine the embedded server runs on.
MAX_CONNECTIONS = 300
# How often autovacuum looks for tables to analyse. At PostgreSQL's default (1 min) a new
# server had not analysed anything 90 s into a flood of 10,000 incidents, so the planner kept
# the empty tables' estimates; every 10 s, the first analysis came within seconds.
AUTOVACUUM_NAPTIME = "10s"
log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: Any = None

    def start(self, database: str = DATABASE) -> str:
        """Start (or join) the server, make sure ``database`` exists, return the owner's URL."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._server = self._get_server()
        admin_uri: str = self._server.get_uri("postgres")
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            allowed = conn.execute("SHOW max_connections").fetchone()
            raise_limit = allowed is not None and int(allowed[0]) < MAX_CONNECTIONS
            if raise_limit:
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET max_connections = {}").format(
                        sql.Literal(MAX_CONNECTIONS)
                    )
                )
            naptime = conn.execute("SHOW autovacuum_naptime").fetchone()
            if naptime is None or naptime[0] != AUTOVACUUM_NAPTIME:
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET autovacuum_naptime = {}").format(
                        sql.Literal(AUTOVACUUM_NAPTIME)
                    )
                )
                conn.execute("SELECT pg_reload_conf()")  # no restart needed for this one
        if raise_limit:
            # Takes effect at a start: the first one, on a new data directory, restarts now.
            # (Were another process holding the server, it restarts when the last one lets go.)
            self.stop()
            self._server = self._get_server()
        uri: str = self._server.get_uri(database)
        return uri

    def _get_server(self) -> Any:
        with warnings.catch_warnings():
            # pgserver warns when XDG_RUNTIME_DIR is unset; its fallback is fine here.
            warnings.simplefilter("ignore")
            import pgserver

            return pgserver.get_server(  # type: ignore[attr-defined]
                self.pgdata, cleanup_mode="stop"
            )

    @property
    def tools_dir(self) -> Path:
        """Where ``psql``, ``pg_dump`` and friends live."""
        import pgserver

        return Path(pgserver.__file__).parent / "pginstall" / "bin"

    def stop(self) -> None:
        """Let go of the server; it stops if no other VixPro process holds it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
