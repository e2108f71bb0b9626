"""How many host-agent connections one web process holds, and what they cost.

    .venv/bin/python bench/fleet.py [--levels 1000,5000,10000] [--clients 4] [--hold 45]

Protocol-level host agents (bench/simagent.py: real WebSockets, real challenge-response,
heartbeats every 15 s) are spread over client processes; the platform is ``vixpro serve --role
web`` on the embedded PostgreSQL. At each level: RSS of the web process and its CPU use while
the fleet only heartbeats. Target (issue 3): 10,000 held at < 1 GiB RSS.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bench_platform, connected_count
from bench.simagent import hold_in_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="1000,5000,10000")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--hold", type=float, default=150.0, help="seconds to hold each level")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    print(
        f"{'agents':>7} {'connected':>9} {'RSS MiB':>8} {'CPU % (1 core = 100)':>22} {'connect s':>9}"
    )
    with bench_platform(max(levels)) as platform:
        for level in levels:
            platform.restart_web()
            web = psutil.Process(platform.process.pid)
            ids = platform.server_ids[:level]
            chunks = [ids[i :: args.clients] for i in range(args.clients)]
            started = time.perf_counter()
            workers = [
                multiprocessing.Process(
                    target=hold_in_process,
                    args=((platform.ws_url, chunk, platform.key_pem, args.hold, 15.0),),
                )
                for chunk in chunks
            ]
            for w in workers:
                w.start()
            deadline = time.monotonic() + args.hold
            connected = 0
            while time.monotonic() < deadline - 20:
                connected = connected_count(platform.urls)
                if connected >= level:
                    break
                time.sleep(1)
            connect_s = time.perf_counter() - started
            web.cpu_percent(None)
            time.sleep(10)
            cpu = web.cpu_percent(None)
            rss = web.memory_info().rss / 2**20
            print(
                f"{level:>7} {connected:>9} {rss:>8.0f} {cpu:>22.1f} {connect_s:>9.1f}", flush=True
            )
            for w in workers:
                w.join(args.hold + 60)
            time.sleep(3)


if __name__ == "__main__":
    main()
