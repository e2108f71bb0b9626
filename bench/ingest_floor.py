"""The CPU an alert costs to ingest, measured with nothing else running: the floor under
``bench/ingest.py``'s throughput.

    .venv/bin/python bench/ingest_floor.py [--transactions 25] [--rounds 5]
        [--without foreign-keys,outbox]

One process, one connection as the app role, no HTTP, no concurrency: Alertmanager batches of
100 alerts parsed by the adapter, four to a transaction (400 alerts, as the ingest writer sends
them while an organisation's transactions overlap), stored by ``incidents.ingest.store``.
Per alert it reports the web process's CPU (parsing, and storing: reading, deciding, the row
documents, the pipeline) and the PostgreSQL backend's, read from ``/proc``, and the WAL
written. Two cases: every alert from an unknown host, so each opens its own incident (the
heaviest case); and alerts from 50 enrolled servers, grouping into their incidents.

The sum bounds what two cores can do: ``2,000,000 / (web + PostgreSQL)`` alerts/s with both
cores busy all the time, before HTTP, the load generator, and what running concurrently adds.

``--without`` measures what a part of the schema costs, on the run's throwaway database:
``foreign-keys`` drops the foreign keys of ``incidents``, ``alerts``, ``incident_events`` and
``notification_outbox``; ``org-foreign-keys`` only their keys to ``organisations``;
``outbox`` disables the trigger that copies timeline entries into the notification outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.ingest import _setup, _ticks, body  # noqa: E402
from vixpro.cli.runtime import database  # noqa: E402
from vixpro.db.migrate import upgrade  # noqa: E402
from vixpro.db.urls import DatabaseUrls, libpq_url  # noqa: E402
from vixpro.incidents import ingest  # noqa: E402
from vixpro.incidents.batch import Submission  # noqa: E402
from vixpro.ingest.alertmanager import AlertmanagerAdapter  # noqa: E402
from vixpro.ingest.base import IntegrationConfig, WebhookRequest  # noqa: E402
from vixpro.settings import Settings  # noqa: E402

BATCH = 100
PER_TRANSACTION = 4  # batches: 400 alerts
HOT_TABLES = ("incidents", "alerts", "incident_events", "notification_outbox")
_TABLES = ", ".join(f"'{t}'" for t in HOT_TABLES)
WITHOUT: dict[str, str] = {
    "foreign-keys": f"""
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
           WHERE contype = 'f' AND conrelid::regclass::text IN ({_TABLES})
  LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); END LOOP;
END $$""",
    "org-foreign-keys": f"""
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
           WHERE contype = 'f' AND conrelid::regclass::text IN ({_TABLES})
             AND confrelid = 'organisations'::regclass
  LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); END LOOP;
END $$""",
    "outbox": "ALTER TABLE incident_events DISABLE TRIGGER notify_incident_events",
}


@dataclass
class Round:
    parse_us: float  # web CPU per alert: the adapter
    store_us: float  # web CPU per alert: ingest.store
    postgres_us: float  # the backend's CPU per alert
    wall_us: float


def _batches(first: int, grouped: bool, transactions: int) -> list[bytes]:
    return [
        body("floor", first + k * BATCH, BATCH, grouped)
        for k in range(transactions * PER_TRANSACTION)
    ]


def _parse(bodies: list[bytes], org: uuid.UUID, integration: uuid.UUID) -> list[Submission]:
    adapter = AlertmanagerAdapter()
    return [
        Submission(
            org,
            integration,
            adapter.parse(WebhookRequest(body=b, headers={}, query={}), IntegrationConfig()).alerts,
            needs_cleaning=False,
        )
        for b in bodies
    ]


async def _round(
    conn: psycopg.AsyncConnection[Any],
    backend: int,
    org: uuid.UUID,
    integration: uuid.UUID,
    first: int,
    grouped: bool,
    transactions: int,
) -> Round:
    bodies = _batches(first, grouped, transactions)
    alerts = len(bodies) * BATCH
    tick = os.sysconf("SC_CLK_TCK")
    started = time.perf_counter()
    cpu = time.process_time()
    submissions = _parse(bodies, org, integration)
    parse_s = time.process_time() - cpu
    cpu = time.process_time()
    ticks = _ticks(backend)
    for k in range(transactions):
        await ingest.store(conn, submissions[k * PER_TRANSACTION : (k + 1) * PER_TRANSACTION])
    store_s = time.process_time() - cpu
    postgres_s = (_ticks(backend) - ticks) / tick
    wall_s = time.perf_counter() - started
    return Round(*(seconds / alerts * 1e6 for seconds in (parse_s, store_s, postgres_s, wall_s)))


async def _case(
    urls: DatabaseUrls, org: uuid.UUID, integration: uuid.UUID, grouped: bool, args: Any
) -> dict[str, Any]:
    async with await psycopg.AsyncConnection.connect(
        libpq_url(urls.app), autocommit=True, prepare_threshold=None
    ) as conn:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        backend = int(row[0])
        first = 1_000_000 if grouped else 0
        # Warm up: the first transactions plan, prepare and fill the caches.
        await _round(conn, backend, org, integration, first, grouped, 5)
        first += 5 * PER_TRANSACTION * BATCH
        lsn = await _wal(urls)
        rounds = []
        for _ in range(args.rounds):
            rounds.append(
                await _round(conn, backend, org, integration, first, grouped, args.transactions)
            )
            first += args.transactions * PER_TRANSACTION * BATCH
        wal = (await _wal(urls) - lsn) / (args.rounds * args.transactions * PER_TRANSACTION * BATCH)

    def median(values: list[float]) -> float:
        return round(sorted(values)[len(values) // 2], 1)

    parse = median([r.parse_us for r in rounds])
    store = median([r.store_us for r in rounds])
    postgres = median([r.postgres_us for r in rounds])
    return {
        "case": "grouped (50 servers)" if grouped else "each alert a new incident",
        "without": args.without or "-",
        "web_parse_us_per_alert": parse,
        "web_store_us_per_alert": store,
        "pg_us_per_alert": postgres,
        "pg_us_per_alert_rounds": [round(r.postgres_us) for r in rounds],
        "wal_bytes_per_alert": round(wal),
        "serial_wall_us_per_alert": median([r.wall_us for r in rounds]),
        "two_core_ceiling_alerts_per_s": round(2e6 / (parse + store + postgres)),
    }


async def _wal(urls: DatabaseUrls) -> int:
    async with await psycopg.AsyncConnection.connect(libpq_url(urls.owner)) as conn:
        row = await (await conn.execute("SELECT pg_current_wal_lsn() - '0/0'")).fetchone()
        assert row is not None
        return int(row[0])


async def _run(urls: DatabaseUrls, settings: Settings, args: Any) -> list[dict[str, Any]]:
    org, _ = await _setup(urls, settings)
    async with await psycopg.AsyncConnection.connect(
        libpq_url(urls.owner), autocommit=True
    ) as conn:
        row = await (await conn.execute("SELECT id FROM integrations")).fetchone()
        assert row is not None
        integration = row[0]
        for part in filter(None, args.without.split(",")):
            await conn.execute(WITHOUT[part])
    return [await _case(urls, org, integration, grouped, args) for grouped in (False, True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=25, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--without", default="", help=f"comma-separated: {', '.join(WITHOUT)}")
    args = parser.parse_args()
    unknown = set(filter(None, args.without.split(","))) - set(WITHOUT)
    if unknown:
        parser.error(f"--without: unknown part(s) {', '.join(sorted(unknown))}")
    data = Path(tempfile.mkdtemp(prefix="vixpro-floor-"))
    os.environ["VIXPRO_DATA_DIR"] = str(data)
    try:
        settings = Settings()
        with database(settings) as urls:
            upgrade(urls)
            for result in asyncio.run(_run(urls, settings, args)):
                print(json.dumps(result))
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
