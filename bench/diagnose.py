"""Reactive diagnosis through the LLM path: webhook alert → incident → diagnose job (worker
process) → the organisation's reactive provider (the real OpenAI SDK against an instant
scripted model on loopback) → a tool call through the hub to a live host agent → the report.

    .venv/bin/python bench/diagnose.py [--sequential 20] [--burst 50] [--workers 1]

Prints, from the incidents' own stamps and the executions' records:
- platform overhead per diagnosis: (diagnosis_completed_at - diagnosis_started_at) minus the
  model's time (measured inside the scripted model server) minus the tools' time (the host
  agent's reported duration), for diagnoses one at a time and for the burst;
- alert → first tool execution (first_alert_received_at → first_tool_at), p50 and p99, with
  ``--burst`` incidents on as many servers arriving together.

Host agents are protocol-level (bench/simagent.py: real WebSocket, handshake and tool-call
answers, no real tools) so that the figures are the platform's. The plan's concurrent reactive
agents and the worker's concurrency are raised to the burst size: the targets ask what the
platform does with 50 diagnoses at once, not what a plan allows.
Targets (issue 5, 2 cores): overhead < 200 ms; first tool p99 < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BenchPlatform, bench_platform, connected_count
from bench.hub import process_cpu_seconds
from bench.simagent import hold_in_process
from vixpro.accounts import plans
from vixpro.accounts.plans import org_plan
from vixpro.accounts.principal import CLI, Principal
from vixpro.ai import areas, keys
from vixpro.core.roles import Role
from vixpro.db.sessions import Database
from vixpro.db.urls import libpq_url
from vixpro.settings import Settings

MODEL_KEY = "sk-bench-0123456789"
TOOL = "load_uptime"


class InstantModel(ThreadingHTTPServer):
    """OpenAI Chat Completions, answering at once: a tool call first, then the conclusion
    citing it. Records the time spent answering, per server named in the prompt."""

    daemon_threads = True
    request_queue_size = 128  # a burst's requests all connect at once, as to a real provider

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.model_time: dict[str, float] = defaultdict(float)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: InstantModel

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        started = time.perf_counter()
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        messages = body["messages"]
        prompt = next(m for m in messages if m["role"] == "user")["content"]
        server = str(prompt).split("Server: ", 1)[1].split("\n", 1)[0]
        if any(m["role"] == "tool" for m in messages):
            call = {
                "name": "final_result",
                "arguments": json.dumps(
                    {
                        "summary": "Load is normal.",
                        "root_cause": "A short burst of work.",
                        "confidence": 0.9,
                        "evidence": [{"ref": "E1", "finding": "load averages are low"}],
                        "recommended_actions": [],
                        "escalate": False,
                    }
                ),
            }
        else:
            call = {"name": TOOL, "arguments": "{}"}
        answer = json.dumps(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [
                                {
                                    "id": f"call_{uuid.uuid4().hex[:8]}",
                                    "type": "function",
                                    "function": call,
                                }
                            ],
                        },
                        "finish_reason": "tool_calls",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        with self.server.lock:
            self.server.model_time[server] += time.perf_counter() - started


async def _configure(platform: BenchPlatform, model_url: str, burst: int) -> None:
    db = Database(platform.urls, pool_size=2)
    try:
        async with db.system_session("bench setup") as session:
            await plans.update_plan(
                session, CLI, "lean", {"max_concurrent_reactive_agents": max(3, burst)}
            )
            plan = await org_plan(session, platform.org_id)
        owner = Principal(
            kind="user",
            org_id=platform.org_id,
            org_name="bench",
            role=Role.OWNER,
            plan=plan,
            label="bench",
        )
        async with db.tenant_session(platform.org_id) as session:
            key = await keys.add(
                session,
                owner,
                Settings().master_key_bytes(),
                kind="openai_compatible",
                label="instant model",
                api_key=MODEL_KEY,
                base_url=model_url,
            )
            await areas.set_chain(session, owner, "reactive", [(key.id, "bench-model")])
    finally:
        await db.dispose()


def start_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    # VIXPRO_BENCH_WORKER_PROFILE=path runs the worker under cProfile (written when it stops).
    profile = os.environ.get("VIXPRO_BENCH_WORKER_PROFILE")
    prefix = [sys.executable, "-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen(
        [*prefix, str(Path(sys.executable).parent / "vixpro"), "serve", "--role", "worker"],
        env={**env, "VIXPRO_WORKER_CONCURRENCY": str(concurrency)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def sample_worker(worker: subprocess.Popen[bytes], phase: str) -> subprocess.Popen[bytes] | None:
    """VIXPRO_BENCH_WORKER_SAMPLES=path samples the first worker's stacks during the burst (or
    the phase VIXPRO_BENCH_SAMPLE_PHASE names: ``sequential``) with py-spy, which unlike
    cProfile sees through SQLAlchemy's greenlets: collapsed stacks (one line per stack with
    its sample count), or VIXPRO_BENCH_SAMPLES_FORMAT=speedscope for the samples in time
    order. py-spy counts some idle time as samples of the main thread's shortest stack."""
    path = os.environ.get("VIXPRO_BENCH_WORKER_SAMPLES")
    if not path or os.environ.get("VIXPRO_BENCH_SAMPLE_PHASE", "burst") != phase:
        return None
    sampler = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(worker.pid),
            "--format",
            os.environ.get("VIXPRO_BENCH_SAMPLES_FORMAT", "raw"),
            "--rate",
            "250",
            "--nonblocking",
            "--output",
            path,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches before the alerts are sent
    return sampler


def stop_sampling(sampler: subprocess.Popen[bytes] | None) -> None:
    if sampler is not None:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(30)


def alert_body(server_name: str) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "HostHighCpuLoad",
                    "instance": f"{server_name}:9100",
                    "severity": "critical",
                    "run": uuid.uuid4().hex,  # a new incident, never a reopened one
                },
                "annotations": {"summary": "CPU load is high"},
                "startsAt": "2026-11-27T12:00:00Z",
            }
        ],
    }


async def send_alerts(webhook: str, names: list[str]) -> list[str]:
    async with httpx.AsyncClient(timeout=60) as client:
        answers = await asyncio.gather(*(client.post(webhook, json=alert_body(n)) for n in names))
    ids = []
    for answer in answers:
        assert answer.status_code == 202, answer.text
        ids.extend(answer.json()["incident_ids"])
    return ids


def wait_done(dsn: str, incident_ids: list[str], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(dsn) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM incidents WHERE id = ANY(%s::uuid[]) "
                "AND diagnosis_completed_at IS NOT NULL",
                (incident_ids,),
            ).fetchone()
            if row and row[0] == len(incident_ids):
                return
            time.sleep(0.1)
    raise RuntimeError("diagnoses did not finish in time")


def measure(
    dsn: str, incident_ids: list[str], model: InstantModel
) -> tuple[list[float], list[float], list[str], list[float], list[float]]:
    """(overheads, alert → first tool, engines, alert → diagnosis started, alert → report) of
    the given incidents, times in ms."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT i.id, s.name,
                   extract(epoch FROM i.diagnosis_completed_at - i.diagnosis_started_at),
                   extract(epoch FROM i.first_tool_at - i.first_alert_received_at),
                   extract(epoch FROM i.diagnosis_started_at - i.first_alert_received_at),
                   extract(epoch FROM i.diagnosis_completed_at - i.first_alert_received_at),
                   (SELECT coalesce(sum(duration_ms), 0) FROM tool_executions t
                     WHERE t.incident_id = i.id),
                   (SELECT engine FROM diagnoses d WHERE d.incident_id = i.id
                     ORDER BY completed_at DESC LIMIT 1)
            FROM incidents i JOIN servers s ON s.id = i.server_id
            WHERE i.id = ANY(%s::uuid[])
            """,
            (incident_ids,),
        ).fetchall()
    overheads, first_tool, engines, starts, reports = [], [], [], [], []
    for _id, name, total, first, started, done, tool_ms, engine in rows:
        overheads.append(float(total) * 1000 - model.model_time[name] * 1000 - float(tool_ms))
        first_tool.append(float(first) * 1000)
        engines.append(str(engine))
        starts.append(float(started) * 1000)
        reports.append(float(done) * 1000)
    return overheads, first_tool, engines, starts, reports


def job_breakdown(dsn: str, incident_ids: list[str]) -> str:
    """Where the wait before a diagnosis starts goes: alert → job deferred → job started."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT extract(epoch FROM min(e.at) FILTER (WHERE e.type = 'deferred')
                                     - i.first_alert_received_at),
                   extract(epoch FROM min(e.at) FILTER (WHERE e.type = 'started')
                                     - i.first_alert_received_at)
            FROM incidents i
            JOIN procrastinate_jobs j ON j.args->>'incident_id' = i.id::text
            JOIN procrastinate_events e ON e.job_id = j.id
            WHERE i.id = ANY(%s::uuid[])
            GROUP BY i.id, i.first_alert_received_at
            """,
            (incident_ids,),
        ).fetchall()
    deferred = [float(r[0]) * 1000 for r in rows if r[0] is not None]
    started = [float(r[1]) * 1000 for r in rows if r[1] is not None]
    if not deferred or not started:
        return "no job events"
    return (
        f"alert → job deferred p50 {percentile(deferred, 50):.0f} ms, p99 "
        f"{percentile(deferred, 99):.0f} ms; alert → job started p50 "
        f"{percentile(started, 50):.0f} ms, p99 {percentile(started, 99):.0f} ms"
    )


class CpuMeter:
    """CPU time (user + system) the worker processes and the web process use from now on: a
    steadier measure than wall-clock time on a shared machine."""

    def __init__(
        self, workers: list[subprocess.Popen[bytes]], web: subprocess.Popen[bytes]
    ) -> None:
        self.workers = [w.pid for w in workers]
        self.web = web.pid
        self.start = self._now()

    def _now(self) -> tuple[float, float]:
        return sum(process_cpu_seconds(p) for p in self.workers), process_cpu_seconds(self.web)

    def per(self, diagnoses: int) -> str:
        worker, web = self._now()
        return (
            f"CPU per diagnosis: worker {(worker - self.start[0]) * 1000 / diagnoses:.0f} ms, "
            f"web {(web - self.start[1]) * 1000 / diagnoses:.0f} ms"
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def resolve_all(url: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for _ in range(100):
            items = client.get(
                "/api/v1/incidents", params={"state": "active", "limit": 200}
            ).json()["items"]
            if not items:
                return
            for item in items:
                client.post(f"/api/v1/incidents/{item['id']}/actions", json={"action": "resolve"})


def report(
    label: str,
    overheads: list[float],
    first_tool: list[float],
    engines: list[str],
    starts: list[float],
    reports: list[float],
) -> None:
    llm = sum(1 for e in engines if e.startswith("llm:"))
    print(
        f"{label}: {len(overheads)} diagnoses ({llm} by the LLM path); overhead per diagnosis "
        f"p50 {percentile(overheads, 50):.0f} ms, p99 {percentile(overheads, 99):.0f} ms, "
        f"mean {statistics.mean(overheads):.0f} ms; alert → first tool p50 "
        f"{percentile(first_tool, 50):.0f} ms, p99 {percentile(first_tool, 99):.0f} ms "
        f"(of which alert → diagnosis started p50 {percentile(starts, 50):.0f} ms, "
        f"p99 {percentile(starts, 99):.0f} ms); alert → report p50 "
        f"{percentile(reports, 50):.0f} ms, p99 {percentile(reports, 99):.0f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequential", type=int, default=20)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args()
    servers = max(args.sequential, args.burst)
    model = InstantModel()
    threading.Thread(target=model.serve_forever, daemon=True).start()
    with bench_platform(servers) as platform:
        asyncio.run(_configure(platform, model.url, args.burst))
        per_worker = max(4, -(-args.burst // args.workers))
        workers = [start_worker(platform.env, per_worker) for _ in range(args.workers)]
        holder = multiprocessing.Process(
            target=hold_in_process,
            args=((platform.ws_url, platform.server_ids, platform.key_pem, 3600.0, 15.0),),
        )
        holder.start()
        try:
            while connected_count(platform.urls) < servers:
                time.sleep(0.2)
            headers = {"Authorization": f"Bearer {platform.api_key}"}
            made = httpx.post(
                f"{platform.url}/api/v1/integrations",
                json={"source": "alertmanager", "name": "bench"},
                headers=headers,
                timeout=30,
            )
            webhook = made.json()["webhook_url"]
            dsn = libpq_url(platform.urls.owner)
            names = [f"sim-{sid[:8]}" for sid in platform.server_ids]

            # Warm-up: one diagnosis (imports, connections, the first model client).
            wait_done(dsn, asyncio.run(send_alerts(webhook, names[:1])))
            resolve_all(platform.url, headers)

            model.model_time.clear()
            done: list[str] = []
            cpu = CpuMeter(workers, platform.process)
            sampler = sample_worker(workers[0], "sequential")
            for name in names[: args.sequential]:
                ids = asyncio.run(send_alerts(webhook, [name]))
                wait_done(dsn, ids)
                done.extend(ids)
            stop_sampling(sampler)
            report("one at a time", *measure(dsn, done, model))
            print(f"  {cpu.per(len(done))}", flush=True)
            resolve_all(platform.url, headers)

            model.model_time.clear()
            cpu = CpuMeter(workers, platform.process)
            sampler = sample_worker(workers[0], "burst")
            ids = asyncio.run(send_alerts(webhook, names[: args.burst]))
            wait_done(dsn, ids)
            stop_sampling(sampler)
            report(f"{args.burst} together", *measure(dsn, ids, model))
            print(f"  {cpu.per(len(ids))}", flush=True)
            print(f"  {job_breakdown(dsn, ids)}", flush=True)
        finally:
            holder.terminate()
            holder.join(10)
            for worker in workers:
                worker.terminate()
                worker.wait(30)
    model.shutdown()
    print(f"({os.cpu_count()} CPUs, {args.workers} worker process(es))")


if __name__ == "__main__":
    main()
