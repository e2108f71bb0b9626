"""The embedded PostgreSQL: room for a web process and several workers."""

from __future__ import annotations

import os

import psycopg
import pytest

from vixpro.db.embedded import MAX_CONNECTIONS


@pytest.mark.skipif(
    bool(os.environ.get("VIXPRO_TEST_DATABASE_URL")), reason="an external server has its own"
)
def test_a_new_embedded_server_allows_enough_connections(pg_server_uri: str) -> None:
    # The test run's server was started on a new data directory by EmbeddedPostgres.start.
    with psycopg.connect(pg_server_uri) as conn:
        allowed = conn.execute("SHOW max_connections").fetchone()
    assert allowed is not None and int(allowed[0]) >= MAX_CONNECTIONS
