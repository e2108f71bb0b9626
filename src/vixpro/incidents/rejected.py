"""Payloads that could not be used: kept raw with the reason, so the sender can be fixed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts.errors import NotFound
from vixpro.core.pagination import Cursor
from vixpro.db.models import RejectedPayload
from vixpro.db.paging import keyset

# Request headers never kept: they carry credentials.
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value[:500] for name, value in headers.items() if name.lower() not in SECRET_HEADERS
    }


async def keep(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    integration_id: uuid.UUID | None,
    source: str,
    reason: str,
    content_type: str,
    headers: Mapping[str, str],
    body: bytes,
) -> uuid.UUID:
    row = RejectedPayload(
        org_id=org_id,
        integration_id=integration_id,
        source=source,
        reason=reason.replace("\x00", "")[:2000],
        content_type=content_type.replace("\x00", "")[:255],
        headers={
            k.replace("\x00", ""): v.replace("\x00", "") for k, v in kept_headers(headers).items()
        },
        body=body,
    )
    session.add(row)
    await session.flush()
    return row.id


async def list_rejected(
    session: AsyncSession, cursor: Cursor | None, limit: int
) -> Sequence[RejectedPayload]:
    query = keyset(
        select(RejectedPayload),
        RejectedPayload.received_at,
        RejectedPayload.id,
        cursor,
        limit,
        newest_first=True,
    )
    return (await session.scalars(query)).all()


async def get(session: AsyncSession, payload_id: uuid.UUID) -> RejectedPayload:
    row = await session.get(RejectedPayload, payload_id)
    if row is None:
        raise NotFound("rejected payload")
    return row
