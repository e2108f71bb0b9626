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
log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: Any = None

    def start(self, database: str = DATABASE) -> str:
        """Start (or join) the server, make sure ``database`` exists, return the owner's URL."""
        with warnings.catch_warnings():
            # pgserver warns when XDG_RUNTIME_DIR is unset; its fallback is fine here.
            warnings.simplefilter("ignore")
            import pgserver

            self.pgdata.mkdir(parents=True, exist_ok=True)
            self._server = pgserver.get_server(  # type: ignore[attr-defined]
                self.pgdata, cleanup_mode="stop"
            )
        admin_uri: str = self._server.get_uri("postgres")
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        uri: str = self._server.get_uri(database)
        return uri

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
