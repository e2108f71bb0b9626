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

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bench_platform, connected_count
from bench.loadgen import run
from bench.simagent import hold_in_process

TOOL = "load_uptime"


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with bench_platform(50) as platform:
        port = int(platform.url.rsplit(":", 1)[1])
        headers = {"Authorization": f"Bearer {platform.api_key}"}
        for agents in (1, 50):
            ids = platform.server_ids[:agents]
            holder = multiprocessing.Process(
                target=hold_in_process,
                args=((platform.ws_url, ids, platform.key_pem, args.seconds + 30, 15.0),),
            )
            holder.start()
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
            cpu = process_cpu_seconds(platform.process.pid) - cpu_before
            per_call = cpu / max(1, result.requests + result.errors) * 1000
            print(
                f"{agents:>3} host agent(s): {result.rps:7.0f} calls/s  p50 {result.p50:6.2f} ms  "
                f"p99 {result.percentile(99):6.2f} ms  ({result.requests} ok, {result.errors} errors; "
                f"web process {per_call:.2f} ms CPU per call)",
                flush=True,
            )
            holder.terminate()
            holder.join(10)
            while connected_count(platform.urls) > 0:
                time.sleep(0.2)


if __name__ == "__main__":
    main()
