"""The runbook engine through the platform and a real host agent: a disk fault created on this
machine, diagnosed from the agent's own tool output, with evidence on real executions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ai import faults
from tests.conftest import Factory, LiveServer, OrgInfo
from tests.hub.agents import RunningAgent, bearer, enrol, wait_connected
from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks import IncidentContext, diagnose
from vixpro.ai.runbooks.platform_port import PlatformToolPort


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


def _diagnose(
    live_server: LiveServer,
    org: OrgInfo,
    server_id: str,
    context: IncidentContext,
    incident_id: uuid.UUID,
) -> tuple[DiagnosisReport, frozenset[str]]:
    state = live_server.state
    assert state.manifest is not None

    async def run() -> tuple[DiagnosisReport, frozenset[str]]:
        port = await PlatformToolPort.open(
            state.runner,
            state.manifest,  # type: ignore[arg-type]
            org.org_id,
            uuid.UUID(server_id),
            incident_id=incident_id,
        )
        return await diagnose(context, port), port.available

    result: tuple[DiagnosisReport, frozenset[str]] = live_server.call(run(), timeout=180)
    return result


def test_disk_fault_diagnosed_through_a_live_host_agent(
    live_server: LiveServer, org_key: tuple[OrgInfo, str], agent: RunningAgent, tmp_path: Path
) -> None:
    org, key = org_key
    incident_id = uuid.uuid4()
    with faults.small_filesystem(tmp_path) as mnt:
        filled = faults.fill_to(mnt, 93)
        context = IncidentContext(
            title="NodeFilesystemSpaceFillingUp",
            labels={"alertname": "NodeFilesystemSpaceFillingUp", "mountpoint": str(mnt)},
            severity="critical",
        )
        report, available = _diagnose(live_server, org, agent.server_id, context, incident_id)
    assert "disk_usage" in available and "delete_old_files" not in available
    assert not report.escalate and report.outcome == "diagnosed", report
    assert report.engine == "runbook:disk"
    assert report.root_cause and str(filled) in report.root_cause
    listed = httpx.get(
        f"{live_server.url}/api/v1/executions",
        params={"server_id": agent.server_id},
        headers=bearer(key),
    ).json()["items"]
    executions = {e["id"]: e for e in listed}
    assert [e.tool for e in report.evidence] == ["disk_usage", "largest_directories"]
    for item in report.evidence:
        row = executions[str(item.execution_id)]
        assert row["tool"] == item.tool and row["status"] == "succeeded"
    detail = httpx.get(
        f"{live_server.url}/api/v1/executions/{report.evidence[0].execution_id}",
        headers=bearer(key),
    ).json()
    mounts = [f["mountpoint"] for f in detail["output"]["filesystems"]]
    assert str(mnt) in mounts  # the host agent's own reading of the fault


def test_unavailable_systemd_escalates_through_a_live_host_agent(
    live_server: LiveServer, org_key: tuple[OrgInfo, str], agent: RunningAgent
) -> None:
    if Path("/run/systemd/system").is_dir():
        pytest.skip("this machine runs systemd")
    context = IncidentContext(title="nginx.service is down", labels={"unit": "nginx.service"})
    report, _ = _diagnose(live_server, org_key[0], agent.server_id, context, uuid.uuid4())
    assert report.escalate and report.escalation_reason
    assert "systemd is not running" in report.escalation_reason
