"""Tool round trips through the whole platform: API call → execution row → hub → WebSocket →
host agent → result → row → response, for a trivial read tool.

    .venv/bin/python bench/hub.py [--seconds 10] [--connections 16]

Host agents are protocol-level (bench/simagent.py) so that the figures are the platform's.
Targets (issue 3, 2 cores): p50 < 5 ms, p99 < 20 ms, >= 1,000 calls/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

import psutil
import psycopg
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchPlatform, bench_platform, connected_count
from bench.loadgen import run
from bench.simagent import hold_in_process
from vixpro.db.urls import libpq_url

TOOL = "load_uptime"


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: psutil.Process) -> float:
    """CPU time so far of a process and its living children (PostgreSQL: the postmaster and
    its backends, which live as long as their pooled connections)."""
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def add_history(platform: BenchPlatform, executions: int) -> None:
    """Past tool calls (each an execution row and an audit event) on the first server, then
    ANALYZE: the figures are those of a platform that has been in use, whose statistics
    autovacuum keeps current, not of a database whose tables are still empty."""
    with psycopg.connect(libpq_url(platform.urls.owner), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tool_executions (id, org_id, server_id, tool, risk, params, "
            "requested_by_type, requested_by_label, area, status, deadline_ms, output, "
            "duration_ms, created_at, started_at, finished_at) "
            "SELECT gen_random_uuid(), %(org)s, %(server)s, 'load_uptime', 'read', '{}', "
            "'api_key', 'bench', 'manual', 'succeeded', 10000, '{}', 1, t, t, t "
            "FROM generate_series(now() - interval '30 days', now(), "
            "interval '30 days' / %(n)s) AS t",
            {"org": platform.org_id, "server": platform.server_ids[0], "n": executions},
        )
        conn.execute(
            "INSERT INTO audit_events (id, org_id, actor_type, actor_label, action, "
            "target_type, target_id, details, at) "
            "SELECT gen_random_uuid(), org_id, 'api_key', 'bench', 'tool.requested', "
            "'tool_execution', id::text, '{}', created_at FROM tool_executions "
            "WHERE org_id = %(org)s",
            {"org": platform.org_id},
        )
        conn.execute("ANALYZE tool_executions")
        conn.execute("ANALYZE audit_events")


def postmaster(data_dir: str) -> psutil.Process:
    """The embedded PostgreSQL serving the platform whose data directory is ``data_dir``."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "-D" in cmdline and cmdline[cmdline.index("-D") + 1].startswith(data_dir):
            return proc
    raise RuntimeError(f"no PostgreSQL serves {data_dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--history", type=int, default=20_000, help="past tool calls stored before measuring"
    )
    args = parser.parse_args()
    with bench_platform(50) as platform:
        add_history(platform, args.history)
        database = postmaster(platform.env["VIXPRO_DATA_DIR"])
        port = int(platform.url.rsplit(":", 1)[1])
        headers = {"Authorization": f"Bearer {platform.api_key}"}
        for agents in (1, 50):
            ids = platform.server_ids[:agents]
            holder = multiprocessing.Process(
                target=hold_in_process,
                args=((platform.ws_url, ids, platform.key_pem, args.seconds + 30, 15.0),),
            )
            holder.start()
            assert holder.pid is not None
            holder_pid = holder.pid
            while connected_count(platform.urls) < agents:
                time.sleep(0.2)
            paths = [f"/api/v1/servers/{sid}/tools/{TOOL}/run" for sid in ids]
            body = b'{"params": {}}'
            uvloop.run(
                run(
                    "127.0.0.1",
                    port,
                    paths,
                    headers,
                    connections=args.connections,
                    seconds=2,
                    method="POST",
                    body=body,
                )
            )
            cpu_before = process_cpu_seconds(platform.process.pid)
            db_before = tree_cpu_seconds(database)
            bench_before = process_cpu_seconds(os.getpid()) + process_cpu_seconds(holder_pid)
            result = uvloop.run(
                run(
                    "127.0.0.1",
                    port,
                    paths,
                    headers,
                    connections=args.connections,
                    seconds=args.seconds,
                    method="POST",
                    body=body,
                )
            )
            calls = max(1, result.requests + result.errors)
            web = (process_cpu_seconds(platform.process.pid) - cpu_before) / calls * 1000
            db = (tree_cpu_seconds(database) - db_before) / calls * 1000
            bench = process_cpu_seconds(os.getpid()) + process_cpu_seconds(holder_pid)
            harness = (bench - bench_before) / calls * 1000
            print(
                f"{agents:>3} host agent(s): {result.rps:7.0f} calls/s  p50 {result.p50:6.2f} ms  "
                f"p99 {result.percentile(99):6.2f} ms  ({result.requests} ok, {result.errors} errors)"
                f"\n     CPU per call: web process {web:.2f} ms, PostgreSQL {db:.2f} ms, "
                f"load generator and host agents {harness:.2f} ms",
                flush=True,
            )
            holder.terminate()
            holder.join(10)
            while connected_count(platform.urls) > 0:
                time.sleep(0.2)


if __name__ == "__main__":
    main()
