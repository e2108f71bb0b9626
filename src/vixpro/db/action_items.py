"""Creating action items, de-duplicated per organisation, tool and kind of error."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_UPSERT = text(
    """
INSERT INTO action_items (id, org_id, tool, error_kind, status, title, detail)
VALUES (:id, :org, :tool, :kind, 'pending', :title, :detail)
ON CONFLICT (org_id, tool, error_kind) WHERE status <> 'resolved'
DO UPDATE SET occurrences = action_items.occurrences + 1, last_seen_at = now(),
              detail = EXCLUDED.detail
"""
)


async def raise_action_item(
    session: AsyncSession, org_id: uuid.UUID, tool: str, error_kind: str, title: str, detail: str
) -> None:
    await session.execute(
        _UPSERT,
        {
            "id": uuid.uuid4(),
            "org": org_id,
            "tool": tool,
            "kind": error_kind,
            "title": title[:255],
            "detail": detail[:4000],
        },
    )
