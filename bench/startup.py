"""Time from ``vixpro up`` to ``/readyz`` answering 200: first start (empty data directory:
initdb, migrations, first organisation) and warm start (same data, everything installed).

    .venv/bin/python bench/startup.py [--runs 3]

Target (issue 2): warm start ready in under 10 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

VIXPRO = str(Path(sys.executable).parent / "vixpro")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_and_time(env: dict[str, str]) -> float:
    url = f"http://127.0.0.1:{env['VIXPRO_PORT']}/readyz"
    began = time.perf_counter()
    proc = subprocess.Popen(
        [VIXPRO, "up"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return time.perf_counter() - began
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("vixpro up exited before it was ready")
            if time.perf_counter() - began > 120:
                raise RuntimeError("not ready after 120 s")
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="vxs", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIXPRO_")}
    env.update(VIXPRO_DATA_DIR=str(data), VIXPRO_PORT=str(free_port()))
    try:
        first = start_and_time(env)
        warm = [start_and_time(env) for _ in range(args.runs)]
        print(f"first start (empty data directory): {first:.2f} s to /readyz 200")
        print(f"warm start: {', '.join(f'{w:.2f}' for w in warm)} s (target < 10 s)")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
