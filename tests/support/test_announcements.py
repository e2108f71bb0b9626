"""Maintenance announcements: 24 hours' notice unless emergency, every organisation told, a
banner on the dashboard until the maintenance ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Factory, bearer
from tests.support.conftest import Signed, outbox, signed_in
from vixpro.web.state import AppState

KIND = "maintenance.announced"


def _window(hours_ahead: float, length: float = 2) -> dict[str, str]:
    start = datetime.now(UTC) + timedelta(hours=hours_ahead)
    return {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=length)).isoformat(),
    }


async def test_scheduled_maintenance_needs_a_day_of_notice_unless_emergency(
    staff: Signed,
) -> None:
    soon = await staff.post(
        "/api/v1/staff/announcements", json={"title": "DB upgrade", **_window(23)}
    )
    assert soon.status_code == 422
    assert soon.json()["errors"][0]["field"] == "starts_at"
    assert "24 hours" in soon.json()["detail"]
    emergency = await staff.post(
        "/api/v1/staff/announcements",
        json={"title": "Security patch", "emergency": True, **_window(0.5)},
    )
    assert emergency.status_code == 201 and emergency.json()["emergency"] is True
    backwards = await staff.post(
        "/api/v1/staff/announcements",
        json={
            "title": "x",
            "starts_at": _window(30)["ends_at"],
            "ends_at": _window(30)["starts_at"],
        },
    )
    assert backwards.status_code == 422


async def test_every_org_is_told_and_sees_the_banner_until_it_ends(
    client: httpx.AsyncClient, state: AppState, factory: Factory, staff: Signed, app
) -> None:
    one, two = await factory.org("free"), await factory.org("lean")
    made = await staff.post(
        "/api/v1/staff/announcements",
        json={"title": "Queue migration", "body": "Webhooks keep working", **_window(25)},
    )
    assert made.status_code == 201, made.text
    announcement_id = made.json()["id"]
    for org in (one, two):
        [row] = [r for r in await outbox(state, org.org_id, KIND) if r["subject_id"] is not None]
        assert row["data"]["audience"] == "members" and "Queue migration" in row["title"]
    key = await factory.api_key(one, "stakeholder")  # read-only callers see it too
    current = (await client.get("/api/v1/announcements", headers=bearer(key))).json()
    assert announcement_id in [a["id"] for a in current]

    owner, _ = await signed_in(app, two)
    banner = await owner.get("/announcements/banner")
    assert banner.status_code == 200 and "Queue migration" in banner.text
    assert "Scheduled maintenance" in banner.text

    cancelled = await staff.post(f"/api/v1/staff/announcements/{announcement_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"]
    assert "Queue migration" not in (await owner.get("/announcements/banner")).text
    assert any(r["data"].get("cancelled") for r in await outbox(state, two.org_id, KIND))
    again = await staff.post(f"/api/v1/staff/announcements/{announcement_id}/cancel")
    assert again.status_code == 409
    await owner.aclose()


async def test_only_staff_announce(client: httpx.AsyncClient, factory: Factory, app) -> None:
    org = await factory.org("lean")
    owner, csrf = await signed_in(app, org)
    r = await owner.post(
        "/api/v1/staff/announcements",
        headers={"X-CSRF-Token": csrf},
        json={"title": "mine", **_window(30)},
    )
    assert r.status_code == 403
    await owner.aclose()
