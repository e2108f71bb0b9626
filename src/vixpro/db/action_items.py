"""Creating action items, de-duplicated per organisation, tool and kind of error.

This sits in ``db`` because the tools and hub layers raise items and cannot import ``support``.
A new item gets the first entry of its history and two notification outbox rows (the
organisation's members, and platform staff for the engineering queue) in the same transaction;
a recurrence only counts. The outbox rows are written here as SQL because ``notify`` is above
``db``; the columns and audience contract are those of ``vixpro.notify.outbox.emit``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ACTION_ITEM_CHANGED = "action_item.changed"  # vixpro.notify.events.EventKind.ACTION_ITEM_CHANGED

_UPSERT = text(
    """
INSERT INTO action_items (id, org_id, tool, error_kind, status, title, detail)
VALUES (:id, :org, :tool, :kind, 'pending', :title, :detail)
ON CONFLICT (org_id, tool, error_kind) WHERE status <> 'resolved'
DO UPDATE SET occurrences = action_items.occurrences + 1, last_seen_at = now(),
              detail = EXCLUDED.detail
RETURNING id, (xmax = 0) AS created
"""
)
_EVENT = text(
    """
INSERT INTO action_item_events (org_id, action_item_id, from_status, to_status, mover,
                                actor_label, note)
VALUES (:org, :item, NULL, 'pending', 'system', 'vixpro', :note)
"""
)
_OUTBOX = text(
    """
INSERT INTO notification_outbox (org_id, kind, subject_id, title, body, link, data)
VALUES (:org, :kind, :item, :title, :body, :link, CAST(:data AS jsonb))
"""
)


@dataclass(frozen=True, slots=True)
class Raised:
    id: uuid.UUID
    created: bool


async def raise_action_item(
    session: AsyncSession, org_id: uuid.UUID, tool: str, error_kind: str, title: str, detail: str
) -> Raised:
    row = (
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
    ).one()
    raised = Raised(row.id, bool(row.created))
    if raised.created:
        await session.execute(
            _EVENT, {"org": org_id, "item": raised.id, "note": "found by the platform"}
        )
        body = "VixPro found a platform-side problem and put it in the engineering queue."
        for audience, link in (
            ("members", f"/action-items/{raised.id}"),
            ("staff", f"/staff/engineering/{raised.id}"),
        ):
            await session.execute(
                _OUTBOX,
                {
                    "org": org_id,
                    "kind": ACTION_ITEM_CHANGED,
                    "item": raised.id,
                    "title": f"Action item: {title}"[:255],
                    "body": body,
                    "link": link,
                    "data": json.dumps({"audience": audience, "status": "pending", "tool": tool}),
                },
            )
    return raised
