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


def safe_link(link: str) -> str:
    """``link`` if it is a path on the dashboard, else ``""`` (never a link off the site)."""
    if not link.startswith("/") or link.startswith(("//", "/\\")):
        return ""
    if any(ord(ch) < 32 for ch in link):
        return ""
    return link[:512]


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
            "link": safe_link(link),
            "data": json.dumps(data or {}),
        },
    )
