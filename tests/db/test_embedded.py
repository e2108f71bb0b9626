"""The embedded PostgreSQL: room for a web process and several workers, and statistics that
follow a new server's first rows."""

from __future__ import annotations

import os

import psycopg
import pytest

from vixpro.db.embedded import AUTOVACUUM_NAPTIME, MAX_CONNECTIONS


@pytest.mark.skipif(
    bool(os.environ.get("VIXPRO_TEST_DATABASE_URL")), reason="an external server has its own"
)
def test_a_new_embedded_server_allows_enough_connections(pg_server_uri: str) -> None:
    # The test run's server was started on a new data directory by EmbeddedPostgres.start.
    with psycopg.connect(pg_server_uri) as conn:
        allowed = conn.execute("SHOW max_connections").fetchone()
    assert allowed is not None and int(allowed[0]) >= MAX_CONNECTIONS


@pytest.mark.skipif(
    bool(os.environ.get("VIXPRO_TEST_DATABASE_URL")), reason="an external server has its own"
)
def test_the_embedded_server_analyses_new_rows_within_seconds(pg_server_uri: str) -> None:
    with psycopg.connect(pg_server_uri) as conn:
        naptime = conn.execute("SHOW autovacuum_naptime").fetchone()
    assert naptime is not None and naptime[0] == AUTOVACUUM_NAPTIME
