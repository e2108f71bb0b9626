"""Webhook tokens: a flood of one tool's webhooks looks its token up once when the last
second's answer has expired, not once per request."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg

from tests.incidents.helpers import new_org, path_of
from vixpro.db.urls import DatabaseUrls, libpq_url
from vixpro.incidents import integrations
from vixpro.settings import Settings


async def test_requests_arriving_together_share_one_lookup(
    client, factory, db_urls: DatabaseUrls, settings: Settings
) -> None:
    org = await new_org(factory, client)
    created = await org.integration()
    token = path_of(created["webhook_url"]).rsplit("/", 1)[1]
    opened = 0

    @asynccontextmanager
    async def connect() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        nonlocal opened
        opened += 1
        async with await psycopg.AsyncConnection.connect(libpq_url(db_urls.system)) as conn:
            yield conn

    integrations.TOKENS.forget(integrations.token_digest(token))
    found = await asyncio.gather(
        *(integrations.lookup(connect, settings.master_key_bytes(), token) for _ in range(20))
    )
    assert opened == 1
    assert {f.id if f else None for f in found} == {uuid.UUID(created["id"])}
    # Remembered now: no connection at all.
    assert await integrations.lookup(connect, settings.master_key_bytes(), token) == found[0]
    assert opened == 1
    # An unknown token is looked up once too, and remembered as unknown.
    unknown = await asyncio.gather(
        *(integrations.lookup(connect, settings.master_key_bytes(), "vxw_nope") for _ in range(5))
    )
    assert unknown == [None] * 5 and opened == 2
