"""Alert ingestion: Alertmanager webhooks into ``vixpro serve`` on its embedded PostgreSQL.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 32] [--batch-connections 16]
        [--only single,paced,...] [--rate 500 --paced-connections 64]

(``VIXPRO_BENCH_STDERR=path`` keeps the web process's log.)

Each run starts a fresh data directory, one organisation with an Alertmanager integration, and
``vixpro serve --role web``; the load generator is a separate process on loopback. Every alert
is new (its own labels, so its own fingerprint); from unknown hosts each is its own incident,
the heaviest case.

1. single-alert webhooks from 32 senders, as fast as they are answered: accepted/s, p50/p99;
2. single-alert webhooks at a fixed 500/s (open loop, latency from the scheduled send);
   and at a fixed 1,500/s from 128 senders (the target rate: kept up with, or falling behind);
3. batches of 100 alerts: alerts/s; then batches and single alerts from 50 enrolled servers,
   where alerts group by server and storms form (the realistic flood);
4. the same single-alert load against a bare FastAPI endpoint that parses the JSON and does
   nothing (``bench/bare_ingest.py``), for the ratio;
5. the database holds exactly the alerts answered 202;
6. kill -9 of the server in the middle of a flood, restart: every alert answered 202 is stored.

Targets (issue 4, 2 cores): >= 1,500 accepted/s single; p99 < 50 ms at 500/s; >= 10,000 alerts/s
in batches of 100.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.harness import free_port, start_web  # noqa: E402
from vixpro.accounts import orgs  # noqa: E402
from vixpro.accounts.principal import CLI, Principal  # noqa: E402
from vixpro.cli.runtime import database  # noqa: E402
from vixpro.core.plans import DEFAULT_PLANS  # noqa: E402
from vixpro.core.roles import Role  # noqa: E402
from vixpro.db.migrate import upgrade  # noqa: E402
from vixpro.db.sessions import Database  # noqa: E402
from vixpro.db.urls import DatabaseUrls, libpq_url  # noqa: E402
from vixpro.incidents import integrations  # noqa: E402
from vixpro.settings import Settings  # noqa: E402

# ---- payloads --------------------------------------------------------------------------------


def alert(run: str, seq: int, grouped: bool = False) -> dict[str, Any]:
    # grouped: from 50 enrolled servers (alerts group by server, and storms form);
    # otherwise from hosts VixPro does not know (each alert its own incident: the worst case).
    instance = f"host-{seq % 50}:9100" if grouped else f"unknown-{seq}:9100"
    return {
        "status": "firing",
        "labels": {
            "alertname": "BenchAlert",
            "instance": instance,
            "severity": "warning",
            "run": run,
            "seq": str(seq),
        },
        "annotations": {"summary": f"bench alert {seq}"},
        "startsAt": "2026-11-27T12:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph",
    }


def body(run: str, first: int, count: int, grouped: bool = False) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "vixpro",
            "groupKey": "{}:{}",
            "truncatedAlerts": 0,
            "alerts": [alert(run, first + i, grouped) for i in range(count)],
        }
    ).encode()


# ---- the load generator (its own process) ---------------------------------------------------


@dataclass
class Load:
    path: str
    port: int
    seconds: float
    connections: int
    batch: int = 1
    rate: float | None = None  # requests/s across all connections (open loop); None: closed
    grouped: bool = False
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    first_seq: int = 0


@dataclass
class Outcome:
    accepted_requests: int = 0
    accepted_alerts: int = 0
    other: int = 0
    failed: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    accepted_seqs: list[int] = field(default_factory=list)


async def _connection(load: Load, index: int, stop_at: float, start: float, out: Outcome) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", load.port)
    except OSError:
        out.failed += 1
        return
    seq = load.first_seq + index * 10_000_000
    sent = 0
    interval = load.connections / load.rate if load.rate else 0.0
    try:
        while True:
            if load.rate:
                scheduled = start + index * (interval / load.connections) + sent * interval
                if scheduled >= stop_at:
                    return
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                scheduled = time.perf_counter()
                if scheduled >= stop_at:
                    return
            payload = body(load.run, seq, load.batch, load.grouped)
            head = (
                f"POST {load.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionError("closed")
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            status = status_line.split(b" ", 2)[1]
            if status == b"202":
                out.accepted_requests += 1
                out.accepted_alerts += load.batch
                out.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
                out.accepted_seqs.extend(range(seq, seq + load.batch))
            else:
                out.other += 1
            seq += load.batch
            sent += 1
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        out.failed += 1
    finally:
        writer.close()


async def _drive(load: Load) -> Outcome:
    out = Outcome()
    start = time.perf_counter()
    stop_at = start + load.seconds
    await asyncio.gather(
        *(_connection(load, i, stop_at, start, out) for i in range(load.connections))
    )
    out.seconds = time.perf_counter() - start
    return out


def _child(load: Load, conn: Any) -> None:
    conn.send(asyncio.run(_drive(load)))
    conn.close()


def drive(load: Load) -> Outcome:
    """Run the load in a separate process and return what it saw."""
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_child, args=(load, child))
    proc.start()
    result: Outcome = parent.recv()
    proc.join()
    return result


def _ticks(pid: int) -> int:
    """User + system CPU ticks of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _postgres_kind(pid: int) -> str:
    """``pg:<role or background process>`` from a PostgreSQL process's title."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "pg:gone"
    words = title.removeprefix("postgres:").split()
    return "pg:" + (
        " ".join(words[:2]) if words and words[0] == "autovacuum" else words[0] if words else "?"
    )


def _children(pid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                pids.append(int(entry.name))
    return pids


@dataclass
class CpuMeter:
    """CPU time of the web process(es) and of PostgreSQL (postmaster and backends) while a
    scenario runs: steadier than throughput on a shared machine."""

    web: int
    pgdata: Path

    def _postgres(self) -> list[int]:
        try:
            postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster, *_children(postmaster)]

    def sample(self) -> dict[int, tuple[str, int]]:
        web = [self.web, *_children(self.web)]
        return {
            **{p: ("web", _ticks(p)) for p in web},
            **{p: (_postgres_kind(p), _ticks(p)) for p in self._postgres()},
        }

    @staticmethod
    def merge(seen: dict[int, tuple[str, int]], sample: dict[int, tuple[str, int]]) -> None:
        """Keep each process's latest ticks (a process gone between listing and reading
        reads as 0, which must not undo what was seen before)."""
        for pid, (role, ticks) in sample.items():
            seen[pid] = (role, max(ticks, seen.get(pid, (role, 0))[1]))

    @staticmethod
    def spent(
        before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]
    ) -> dict[str, float]:
        """CPU seconds per role between two samples (a process that exited in between counts
        up to its last sample in ``after``)."""
        tick = os.sysconf("SC_CLK_TCK")
        totals = {"web": 0.0, "postgres": 0.0}
        for pid, (role, ticks) in after.items():
            seconds = (ticks - before.get(pid, (role, 0))[1]) / tick
            totals[role] = totals.get(role, 0.0) + seconds
            if role != "web":
                totals["postgres"] += seconds
        return totals


def measured(meter: CpuMeter | None, load: Load) -> tuple[Outcome, dict[str, float] | None]:
    """Drive ``load`` and measure the CPU it cost. Processes are sampled every quarter of a
    second while it runs: the ingest pool replaces its connections every 30 s, and a backend
    that exits takes its CPU time with it."""
    if meter is None:
        return drive(load), None
    before = meter.sample()
    seen = dict(before)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.25):
            CpuMeter.merge(seen, meter.sample())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out = drive(load)
    finally:
        stop.set()
        watcher.join()
    CpuMeter.merge(seen, meter.sample())
    return out, CpuMeter.spent(before, seen)


def report(name: str, out: Outcome, cpu: dict[str, float] | None = None) -> dict[str, Any]:
    lat = sorted(out.latencies_ms)
    p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))] if lat else float("nan")  # noqa: E731
    row = {
        "name": name,
        "requests_per_s": round(out.accepted_requests / out.seconds),
        "alerts_per_s": round(out.accepted_alerts / out.seconds),
        "p50_ms": round(statistics.median(lat), 2) if lat else None,
        "p99_ms": round(p(0.99), 2),
        "accepted_alerts": out.accepted_alerts,
        "not_202": out.other,
        "connection_failures": out.failed,
    }
    if cpu is not None and out.accepted_alerts:
        # CPU per accepted alert, in microseconds: the web process(es) and PostgreSQL.
        row["web_cpu_us_per_alert"] = round(cpu["web"] * 1e6 / out.accepted_alerts)
        row["pg_cpu_us_per_alert"] = round(cpu["postgres"] * 1e6 / out.accepted_alerts)
        row["pg_cpu_us_per_alert_by_process"] = {
            kind[3:]: round(seconds * 1e6 / out.accepted_alerts)
            for kind, seconds in sorted(cpu.items())
            if kind.startswith("pg:") and seconds > 0
        }
    print(json.dumps(row), flush=True)
    return row


# ---- the platform ---------------------------------------------------------------------------


async def _setup(urls: DatabaseUrls, settings: Settings) -> tuple[uuid.UUID, str]:
    db = Database(urls, pool_size=2)
    try:
        async with db.system_session("bench setup") as session:
            created = await orgs.create_org(
                session,
                CLI,
                name="bench",
                plan_code="lean",
                owner_email="bench@example.com",
                owner_password="bench password 123",
            )
        plan = next(p for p in DEFAULT_PLANS if p.code == "lean")
        principal = Principal(
            "user", created.org_id, "bench", Role.OWNER, plan, "bench", created.owner_id
        )
        async with db.tenant_session(created.org_id) as session:
            view = await integrations.create(
                session,
                principal,
                settings.master_key_bytes(),
                source="alertmanager",
                name="bench",
            )
        async with db.system_session("bench setup") as session:
            for i in range(50):
                await session.execute(
                    text(
                        "INSERT INTO servers (id, org_id, name, public_key, facts) "
                        "VALUES (:id, :org, :name, '', CAST(:facts AS jsonb))"
                    ),
                    {
                        "id": uuid.uuid4(),
                        "org": created.org_id,
                        "name": f"host-{i}",
                        "facts": json.dumps({"hostname": f"host-{i}.example"}),
                    },
                )
        return created.org_id, f"/api/v1/webhooks/{view.token}"
    finally:
        await db.dispose()


def stored(urls: DatabaseUrls, run: str) -> set[int]:
    with psycopg.connect(libpq_url(urls.owner)) as conn:
        rows = conn.execute(
            "SELECT (labels->>'seq')::bigint FROM alerts WHERE labels->>'run' = %s", (run,)
        ).fetchall()
    return {r[0] for r in rows}


def stored_count(urls: DatabaseUrls, org_id: uuid.UUID) -> int:
    with psycopg.connect(libpq_url(urls.owner)) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(count), 0) FROM alerts WHERE org_id = %s", (org_id,)
        ).fetchone()
    return int(row[0]) if row else 0


def incident_statistics(urls: DatabaseUrls) -> dict[str, Any]:
    """How many incidents there are, and how many the planner believes there are (its estimate
    of an organisation's rows follows the last ANALYZE): stale statistics change plans."""
    with psycopg.connect(libpq_url(urls.owner)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM incidents), c.reltuples::bigint, "
            "s.autoanalyze_count, "
            "(SELECT n_distinct FROM pg_stats WHERE tablename = 'incidents' "
            "AND attname = 'org_id') "
            "FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.relname = 'incidents'"
        ).fetchone()
    assert row is not None
    return {
        "incidents": row[0],
        "incidents_at_last_analyze": row[1],
        "autoanalyzed": row[2],
        "org_id_n_distinct": row[3],
    }


def start_bare(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_ingest:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            httpx.post(f"http://127.0.0.1:{port}/api/v1/webhooks/x", content=b"{}", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the bare endpoint did not start")


SCENARIOS = (
    "single",
    "paced",
    "sustained",
    "batches",
    "grouped",
    "grouped_single",
    "kill",
    "bare",
)
# The single-alert target as a fixed offered rate: does one web process keep up with it?
# Each sender has one request in flight, so the senders must outnumber rate x latency: at
# 64 a sender's turn (43 ms) is about the median latency near saturation, and a sender that
# falls behind shows as a growing backlog, not as the server's limit.
SUSTAINED_RATE = 1500
SUSTAINED_SENDERS = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument(
        "--paced-connections",
        type=int,
        default=64,
        help="connections of the fixed-rate scenario (each sends at most one request at a time)",
    )
    parser.add_argument(
        "--batch-connections",
        type=int,
        default=16,
        help="connections of the batch scenarios (each sends one batch of 100 at a time; "
        "16 keep enough alerts in flight for an organisation's transactions to overlap)",
    )
    parser.add_argument("--processes", type=int, default=1, help="web processes on the port")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run, of: {', '.join(SCENARIOS)}",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    data = Path(tempfile.mkdtemp(prefix="vxi", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIXPRO_")}
    env.update(VIXPRO_DATA_DIR=str(data))
    os.environ["VIXPRO_DATA_DIR"] = str(data)
    settings = Settings()
    proc: subprocess.Popen[bytes] | None = None
    results: list[dict[str, Any]] = []
    try:
        with database(settings) as urls:
            upgrade(urls)
            org_id, path = asyncio.run(_setup(urls, settings))
            port = free_port()
            proc = start_web(env, port, args.processes)
            meter = CpuMeter(proc.pid, data / "pg")
            # Warm up (connection pools, caches), then measure.
            warmup = drive(Load(path, port, 2, args.connections))
            scenarios = [
                (
                    "single",
                    "single alerts, closed loop",
                    Load(path, port, args.seconds, args.connections),
                ),
                (
                    "paced",
                    f"single alerts at {args.rate:.0f}/s",
                    Load(path, port, args.seconds, args.paced_connections, rate=args.rate),
                ),
                (
                    "sustained",
                    f"single alerts at a fixed {SUSTAINED_RATE}/s from {SUSTAINED_SENDERS} senders",
                    Load(path, port, args.seconds, SUSTAINED_SENDERS, rate=SUSTAINED_RATE),
                ),
                (
                    "batches",
                    "batches of 100",
                    Load(path, port, args.seconds, args.batch_connections, batch=100),
                ),
                (
                    "grouped",
                    "batches of 100 from 50 servers (grouped, storms)",
                    Load(path, port, args.seconds, args.batch_connections, batch=100, grouped=True),
                ),
                (
                    "grouped_single",
                    "single alerts from 50 servers",
                    Load(path, port, args.seconds, args.connections, grouped=True),
                ),
            ]
            outs = []
            for key, name, load in scenarios:
                if key in only:
                    before = incident_statistics(urls)
                    out, cpu = measured(meter, load)
                    results.append(report(name, out, cpu))
                    outs.append(out)
                    print(json.dumps({"statistics_before": before}), flush=True)
            answered = sum(o.accepted_alerts for o in (warmup, *outs))
            total = stored_count(urls, org_id)
            print(
                json.dumps(
                    {
                        "answered_202_alerts_including_warmup": answered,
                        "alerts_in_database": total,
                        "equal": answered == total,
                    }
                ),
                flush=True,
            )
            # Every alert answered 202, for these runs, is in the database.
            for out in outs:
                assert len(out.accepted_seqs) == out.accepted_alerts
            if "kill" not in only:
                return
            # kill -9 in the middle of a flood.
            flood = Load(path, port, 6, args.connections)
            parent, child = multiprocessing.Pipe()
            loader = multiprocessing.Process(target=_child, args=(flood, child))
            loader.start()
            time.sleep(3)
            os.killpg(proc.pid, signal.SIGKILL)  # every web process of the group
            proc.wait()
            flooded: Outcome = parent.recv()
            loader.join()
            proc = start_web(env, port, args.processes)
            kept = stored(urls, flood.run)
            lost = [s for s in flooded.accepted_seqs if s not in kept]
            print(
                json.dumps(
                    {
                        "kill_9": True,
                        "answered_202_before_kill": flooded.accepted_alerts,
                        "stored": len(kept),
                        "answered_but_lost": len(lost),
                    }
                ),
                flush=True,
            )
            proc.terminate()
            proc.wait(60)
            proc = None
        if "bare" not in only:
            return
        bare_port = free_port()
        bare = start_bare(bare_port)
        try:
            drive(Load("/api/v1/webhooks/x", bare_port, 2, args.connections))
            baseline = drive(Load("/api/v1/webhooks/x", bare_port, args.seconds, args.connections))
            row = report("bare FastAPI, single alerts", baseline)
            ratio = (results[0]["requests_per_s"] if results else 0) / max(1, row["requests_per_s"])
            print(json.dumps({"vixpro_over_bare": round(ratio, 3)}), flush=True)
        finally:
            bare.terminate()
            bare.wait(30)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
