"""Writing an event to the notification outbox, inside the caller's transaction.

The row commits or rolls back with the change it reports, so an event is never announced for a
change that did not happen, and never lost for one that did. Delivery happens later, elsewhere.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.notify.events import EventKind

_INSERT = text(
    """
INSERT INTO notification_outbox (org_id, kind, subject_id, title, body, link, data)
VALUES (:org, :kind, :subject, :title, :body, :link, CAST(:data AS jsonb))
"""
)


async def emit(
    session: AsyncSession,
    org_id: uuid.UUID,
    kind: EventKind,
    title: str,
    *,
    body: str = "",
    link: str = "",
    subject_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Record that ``kind`` happened in ``org_id``; ``link`` is a dashboard path like ``/incidents/…``."""
    await session.execute(
        _INSERT,
        {
            "org": org_id,
            "kind": kind.value,
            "subject": subject_id,
            "title": title[:255],
            "body": body[:4000],
            "link": link[:512],
            "data": json.dumps(data or {}),
        },
    )
