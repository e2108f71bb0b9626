"""Reactive diagnosis end to end: a webhook alert about a real server with a real host agent
becomes an incident, the diagnose job runs the runbook engine through the platform, and the
report, its evidence and the timeline are on the incident."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ai import faults
from tests.conftest import Factory, LiveServer, OrgInfo
from tests.hub.agents import RunningAgent, bearer, enrol, wait_connected
from vixpro.jobs.app import create_job_app
from vixpro.jobs.incidents import defer_diagnoses


@pytest.fixture(scope="module")
async def org_key(factory: Factory) -> tuple[OrgInfo, str]:
    org = await factory.org("lean")
    return org, await factory.api_key(org, "admin")


@pytest.fixture(scope="module")
def agent(live_server: LiveServer, org_key: tuple[OrgInfo, str]) -> Iterator[RunningAgent]:
    running = enrol(live_server.url, org_key[1]).start()
    wait_connected(live_server.url, org_key[1], running.server_id)
    yield running
    running.stop()


def _run_diagnosis(live_server: LiveServer, org_id: uuid.UUID, incident_id: uuid.UUID) -> None:
    state = live_server.state

    async def run() -> None:
        app = create_job_app(
            state.db, purge_cron="0 0 1 1 *", tools=lambda: (state.runner, state.manifest)
        )
        async with app.open_async():
            await defer_diagnoses(app, org_id, [incident_id])
            await app.run_worker_async(
                wait=False, install_signal_handlers=False, queues=["reactive"]
            )

    live_server.call(run(), timeout=240)


def test_a_full_disk_alert_is_diagnosed_on_the_real_server(
    live_server: LiveServer, org_key: tuple[OrgInfo, str], agent: RunningAgent, tmp_path: Path
) -> None:
    org, key = org_key
    client = httpx.Client(base_url=live_server.url, headers=bearer(key), timeout=30)
    hook = client.post("/api/v1/integrations", json={"source": "alertmanager", "name": "prom"})
    assert hook.status_code == 201, hook.text
    with faults.small_filesystem(tmp_path) as mnt:
        filled = faults.fill_to(mnt, 93)
        alert = {
            "version": "4",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "NodeFilesystemSpaceFillingUp",
                        "instance": f"{socket.gethostname()}:9100",
                        "mountpoint": str(mnt),
                        "severity": "critical",
                    },
                    "annotations": {"summary": f"Filesystem {mnt} is almost full"},
                    "startsAt": "2026-11-27T12:00:00Z",
                }
            ],
        }
        sent = httpx.post(hook.json()["webhook_url"], json=alert, timeout=30)
        assert sent.status_code == 202, sent.text
        [incident_id] = sent.json()["incident_ids"]
        _run_diagnosis(live_server, org.org_id, uuid.UUID(incident_id))
    detail = client.get(f"/api/v1/incidents/{incident_id}").json()
    incident = detail["incident"]
    assert incident["server_id"] == agent.server_id
    assert incident["ai_state"] == "done"
    assert (
        incident["first_alert_received_at"]
        <= incident["diagnosis_started_at"]
        <= incident["first_tool_at"]
        <= incident["diagnosis_completed_at"]
    )
    report = detail["diagnosis"]["report"]
    assert detail["diagnosis"]["engine"] == "runbook:disk"
    assert report["escalate"] is False, report
    assert str(filled) in report["root_cause"]
    executions = {e["id"] for e in client.get("/api/v1/executions").json()["items"]}
    assert report["evidence"] and all(e["execution_id"] in executions for e in report["evidence"])
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[:1] == ["opened"]
    assert "diagnosis_started" in kinds and kinds.count("tool") >= 2 and kinds[-1] == "diagnosis"
    client.close()
