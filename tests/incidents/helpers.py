"""Shared steps for incident tests: integrations through the API, servers through enrolment."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from vixpro_agent.protocol import signing

from tests.conftest import Factory, OrgInfo, bearer
from vixpro.accounts.principal import CLI
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.tools import servers
from vixpro.web.state import AppState


class Org:
    def __init__(self, info: OrgInfo, key: str, client: httpx.AsyncClient) -> None:
        self.info = info
        self.key = key
        self.client = client
        self.headers = bearer(key)

    async def integration(self, source: str = "alertmanager", **extra: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/integrations",
            json={"source": source, "name": f"{source} test", **extra},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.client.get(f"/api/v1{path}", headers=self.headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def settings(self, **values: Any) -> dict[str, Any]:
        """Change the organisation's incident settings (grouping, budgets, storms)."""
        response = await self.client.patch(
            "/api/v1/incident-settings", json=values, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def incidents(self, **params: Any) -> list[dict[str, Any]]:
        return list((await self.get("/incidents", **params))["items"])


async def new_org(
    factory: Factory, client: httpx.AsyncClient, plan: str = "lean", role: str = "admin"
) -> Org:
    info = await factory.org(plan)
    return Org(info, await factory.api_key(info, role), client)


def firing(fingerprint: str, hints: tuple[str, ...] = ()) -> NormalizedAlert:
    """A normalised warning alert, firing, titled after its fingerprint."""
    return NormalizedAlert(
        source="test",
        fingerprint=fingerprint,
        status=Status.FIRING,
        severity=Severity.WARNING,
        title=fingerprint,
        host_hints=hints,
    )


def path_of(url: str) -> str:
    return "/api/v1/webhooks/" + url.rsplit("/", 1)[1]


def am_alert(
    name: str, instance: str, status: str = "firing", severity: str = "warning", **labels: str
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "instance": instance, "severity": severity, **labels},
        "annotations": {"summary": f"{name} on {instance}"},
        "startsAt": datetime.now(UTC).isoformat(),
        "endsAt": datetime.now(UTC).isoformat() if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph",
    }


def am_body(*alerts: dict[str, Any], truncated: int = 0) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "status": alerts[0]["status"] if alerts else "firing",
            "receiver": "vixpro",
            "groupKey": "{}:{}",
            "truncatedAlerts": truncated,
            "alerts": list(alerts),
        }
    ).encode()


async def post(client: httpx.AsyncClient, url: str, body: bytes, **headers: str) -> httpx.Response:
    return await client.post(
        path_of(url), content=body, headers={"content-type": "application/json", **headers}
    )


async def enrol_server(
    state: AppState, org: OrgInfo, hostname: str, addresses: list[str] | None = None
) -> uuid.UUID:
    assert state.signer is not None and state.manifest is not None
    async with state.db.tenant_session(org.org_id) as session:
        issued = await servers.create_enrollment_token(session, CLI, org.org_id, None)
    async with state.db.system_session("test") as session:
        answer = await servers.enroll(
            session,
            state.signer,
            state.manifest,
            token=issued.token,
            public_key=signing.public_pem(signing.generate_private_key()),
            facts={"hostname": hostname, "addresses": addresses or []},
            platform_url="http://127.0.0.1",
            ip=None,
        )
    return uuid.UUID(answer["server_id"])
