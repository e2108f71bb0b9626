"""A worker killed in the middle of an LLM diagnosis: its job is handed back to the queue by
the incident sweep and the diagnosis completes on another worker, not lost."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ai.test_llm_reactive import alert, detail, set_chain
from tests.conftest import TEST_MASTER_KEY, Factory, LiveServer, OrgInfo
from tests.fakes.llm_openai import FakeOpenAI
from tests.hub.agents import RunningAgent, bearer, enrol, wait_connected
from vixpro.db.urls import DatabaseUrls, libpq_url
from vixpro.jobs.app import create_job_app
from vixpro.jobs.incidents import defer_diagnoses, retry_stalled_diagnoses

VIXPRO = str(Path(sys.executable).parent / "vixpro")
KEY = "sk-recovery-0123456789"


@pytest.fixture(scope="module")
async def org_key(factory: Factory) -> tuple[OrgInfo, str]:
    org = await factory.org("lean")
    return org, await factory.api_key(org, "admin")


@pytest.fixture(scope="module")
def hostagent(live_server: LiveServer, org_key: tuple[OrgInfo, str]) -> Iterator[RunningAgent]:
    running = enrol(live_server.url, org_key[1]).start()
    wait_connected(live_server.url, org_key[1], running.server_id)
    yield running
    running.stop()


def _worker(urls: DatabaseUrls, data_dir: Path) -> subprocess.Popen[bytes]:
    """``vixpro serve --role worker`` on this test's database, as its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIXPRO_")}
    env.update(
        VIXPRO_DATA_DIR=str(data_dir),
        VIXPRO_DATABASE_URL=libpq_url(urls.owner),
        VIXPRO_APP_DATABASE_URL=libpq_url(urls.app),
        VIXPRO_SYSTEM_DATABASE_URL=libpq_url(urls.system),
        VIXPRO_MASTER_KEY=TEST_MASTER_KEY,
        VIXPRO_PURGE_CRON="0 0 1 1 *",
    )
    return subprocess.Popen(
        [VIXPRO, "serve", "--role", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_diagnosis_whose_worker_was_killed_is_retried_and_completes(
    live_server: LiveServer,
    db_urls: DatabaseUrls,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    tmp_path: Path,
) -> None:
    org, key = org_key
    state = live_server.state
    api = httpx.Client(base_url=live_server.url, headers=bearer(key), timeout=30)
    hook = api.post("/api/v1/integrations", json={"source": "alertmanager", "name": "prom"})
    with FakeOpenAI(api_key=KEY) as fake:
        set_chain(live_server, org, "reactive", [(fake, KEY)])
        fake.hang()  # the first worker's model request never answers
        incident_id = alert(api, hook.json()["webhook_url"], "HostHighCpuLoad", "CPU is high")
        app = create_job_app(state.db, purge_cron="0 0 1 1 *")

        async def defer() -> None:
            async with app.open_async():
                await defer_diagnoses(app, org.org_id, [uuid.UUID(incident_id)])

        live_server.call(defer())
        worker = _worker(db_urls, tmp_path)
        try:
            for _ in range(300):  # the worker has asked the model: the run is in flight
                if fake.requests or worker.poll() is not None:
                    break
                time.sleep(0.1)
            assert fake.requests, "the worker never reached the model"
        finally:
            worker.kill()
            worker.wait(10)
        assert detail(api, incident_id)["incident"]["ai_state"] == "running"

        fake.final(
            {
                "summary": "A short CPU burst; nothing to do.",
                "confidence": 0.7,
                "escalate": False,
            }
        )

        async def recover() -> int:
            async with app.open_async():
                retried = 0
                for _ in range(100):  # the killed worker's heartbeat goes stale
                    retried = await retry_stalled_diagnoses(app, state.db, stalled_after_s=1)
                    if retried:
                        break
                    await asyncio.sleep(0.1)
                rerun = create_job_app(
                    state.db,
                    purge_cron="0 0 1 1 *",
                    tools=lambda: (state.runner, state.manifest),
                    settings=state.settings,
                )
                async with rerun.open_async():
                    await rerun.run_worker_async(
                        wait=False, install_signal_handlers=False, queues=["reactive"]
                    )
                return retried

        assert live_server.call(recover(), timeout=60) == 1

    found = detail(api, incident_id)
    assert found["incident"]["ai_state"] == "done"
    assert found["diagnosis"]["engine"] == "llm:fake 0"
    assert found["diagnosis"]["report"]["summary"] == "A short CPU burst; nothing to do."
    kinds = [e["kind"] for e in found["timeline"]]
    assert kinds.count("diagnosis_started") == 2
    assert "diagnosis_interrupted" in kinds and kinds[-1] == "diagnosis"
    api.close()
