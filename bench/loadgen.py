"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams.

It spends little CPU per request, so that on a 2-core machine most of the CPU goes to the server
being measured. Both servers in a comparison are driven by the same generator in the same way.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


async def _connection(
    host: str, port: int, request: bytes, stop_at: float, max_requests: int, out: list[float]
) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection(host, port)
    done = errors = 0
    try:
        while time.perf_counter() < stop_at and done + errors < max_requests:
            start = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            if status_line.split(b" ", 2)[1] == b"200":
                done += 1
                out.append((time.perf_counter() - start) * 1000)
            else:
                errors += 1
    finally:
        writer.close()
    return done, errors


def _request(host: str, path: str, headers: dict[str, str], method: str, body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode() + body


async def run(
    host: str,
    port: int,
    path: str | list[str],
    headers: dict[str, str],
    *,
    connections: int,
    seconds: float,
    max_requests: int = 10_000_000,
    method: str = "GET",
    body: bytes = b"",
) -> Result:
    """Drive ``connections`` keep-alive connections; with several paths, connection i uses
    path i modulo their number."""
    paths = [path] if isinstance(path, str) else path
    requests = [_request(host, p, headers, method, body) for p in paths]
    latencies: list[float] = []
    started = time.perf_counter()
    stop_at = started + seconds
    per_connection = max(1, max_requests // connections)
    counts = await asyncio.gather(
        *(
            _connection(host, port, requests[i % len(requests)], stop_at, per_connection, latencies)
            for i in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    return Result(sum(c[0] for c in counts), sum(c[1] for c in counts), elapsed, latencies)
