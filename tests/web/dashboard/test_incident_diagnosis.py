"""The incident page shows the latest diagnosis: outcome, summary, evidence, actions."""

from __future__ import annotations

from fastapi import FastAPI

from tests.conftest import Factory
from tests.web.dashboard.conftest import client_for, sign_in
from vixpro.ai import reactive
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.incidents.ingest import Submission
from vixpro.web.state import AppState


async def test_incident_page_shows_an_escalated_diagnosis(
    app: FastAPI, state: AppState, factory: Factory
) -> None:
    org = await factory.org()
    alert = NormalizedAlert(
        "alertmanager", "fp-diagnosed", Status.FIRING, Severity.CRITICAL, "Disk full on nowhere-1"
    )
    outcome = await state.ingest.submit(Submission(org.org_id, None, (alert,)))
    [incident_id] = outcome.incident_ids
    report = await reactive.diagnose_incident(state.db, None, None, org.org_id, incident_id)
    assert report.escalate
    async with client_for(app) as client:
        await sign_in(client, org.owner_email)
        page = await client.get(f"/incidents/{incident_id}")
    assert page.status_code == 200
    assert 'id="diagnosis"' in page.text
    assert "Escalated to you:" in page.text and "no server matched" in page.text
    assert "runbook:disk" in page.text
