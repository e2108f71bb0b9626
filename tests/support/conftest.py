"""Helpers for the support tests: signed-in dashboard clients (staff use the session cookie),
outbox rows as the notification dispatcher will read them, and small real files."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Factory, OrgInfo
from tests.web.dashboard.conftest import client_for, sign_in
from vixpro.web.app import create_app
from vixpro.web.state import AppState

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class Signed:
    client: httpx.AsyncClient
    csrf: str

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, headers={"X-CSRF-Token": self.csrf}, **kwargs)


@pytest.fixture(scope="module")
def app(state: AppState) -> FastAPI:
    return create_app(state)


@pytest.fixture
async def staff(app: FastAPI, factory: Factory) -> AsyncIterator[Signed]:
    org = await factory.org("lean", staff=True)
    async with client_for(app) as c:
        yield Signed(c, await sign_in(c, org.owner_email))


async def signed_in(app: FastAPI, org: OrgInfo) -> tuple[httpx.AsyncClient, str]:
    c = client_for(app)
    return c, await sign_in(c, org.owner_email)


async def outbox(state: AppState, org_id: uuid.UUID, kind: str) -> list[dict[str, Any]]:
    """The organisation's outbox rows of ``kind``, oldest first."""
    async with state.db.system_session("test: read outbox") as session:
        rows = await session.execute(
            text(
                "SELECT title, body, link, data, subject_id FROM notification_outbox "
                "WHERE org_id = :org AND kind = :kind ORDER BY id"
            ),
            {"org": org_id, "kind": kind},
        )
        return [dict(r._mapping) for r in rows]
