"""What the database knows about connected host agents: online, offline, tampered, last seen."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text

from vixpro.db.action_items import raise_action_item
from vixpro.db.sessions import Database

# Connection state is written often (every connect, disconnect and heartbeat flush) and is
# re-established by the next heartbeat if lost: one autocommit statement each on the system
# role's psycopg pool, without waiting for the WAL flush.
_ONLINE = """
UPDATE servers SET replica = %(replica)s, last_seen_at = now(), agent_version = %(version)s,
       manifest_version = %(manifest)s,
       status = CASE WHEN status = 'tampered' THEN 'tampered' ELSE 'online' END
WHERE id = %(id)s
"""
_OFFLINE = """
UPDATE servers SET replica = NULL, last_seen_at = now(),
       status = CASE WHEN status = 'tampered' THEN 'tampered' ELSE 'offline' END
WHERE id = %(id)s AND replica = %(replica)s
"""
_SEEN = "UPDATE servers SET last_seen_at = now() WHERE id = ANY(%(ids)s)"
_TAMPERED = text(
    """
UPDATE servers SET status = 'tampered', tamper_detail = :detail
WHERE id = :id AND status <> 'tampered' RETURNING org_id
"""
)
_EVENT = text(
    """
INSERT INTO server_events (id, org_id, server_id, kind, severity, detail)
VALUES (:eid, :org, :id, :kind, :severity, :detail)
"""
)
# Silent for two minutes: offline, and raised once per silence.
_SWEEP = text(
    """
WITH silent AS (
    UPDATE servers s SET status = CASE WHEN status = 'tampered' THEN 'tampered' ELSE 'offline' END,
                         replica = NULL
    WHERE s.last_seen_at < now() - interval '2 minutes'
      AND NOT EXISTS (SELECT 1 FROM server_events e WHERE e.server_id = s.id
                      AND e.kind = 'offline' AND e.at >= s.last_seen_at)
    RETURNING s.id, s.org_id, s.name, s.last_seen_at
)
INSERT INTO server_events (id, org_id, server_id, kind, severity, detail)
SELECT gen_random_uuid(), org_id, id, 'offline', 'critical',
       'no heartbeat from the host agent since ' || to_char(last_seen_at, 'YYYY-MM-DD HH24:MI:SS TZ')
FROM silent
RETURNING server_id
"""
)


class Presence:
    def __init__(self, db: Database, replica: str) -> None:
        self.db = db
        self.replica = replica

    async def online(self, server_id: uuid.UUID, hello: dict[str, Any]) -> None:
        params = {
            "replica": self.replica,
            "id": server_id,
            "version": str(hello.get("agent_version", ""))[:32],
            "manifest": int(hello.get("manifest_version") or 0),
        }
        async with self.db.counter_connection() as conn:  # system role: connection state
            await conn.execute(_ONLINE, params)

    async def offline(self, server_id: uuid.UUID) -> None:
        async with self.db.counter_connection() as conn:
            await conn.execute(_OFFLINE, {"id": server_id, "replica": self.replica})

    async def seen(self, server_ids: Iterable[uuid.UUID]) -> None:
        ids = list(server_ids)
        if ids:
            async with self.db.counter_connection() as conn:
                await conn.execute(_SEEN, {"ids": ids})

    async def tampered(self, server_id: uuid.UUID, detail: str) -> None:
        async with self.db.system_session("host agent reported tampering") as session:
            org = (
                await session.execute(_TAMPERED, {"id": server_id, "detail": detail[:2000]})
            ).scalar()
            if org is not None:
                await session.execute(
                    _EVENT,
                    {
                        "eid": uuid.uuid4(),
                        "org": org,
                        "id": server_id,
                        "kind": "tampered",
                        "severity": "critical",
                        "detail": f"host agent config tampered: {detail}"[:4000],
                    },
                )

    async def manifest_refused(self, server_id: uuid.UUID, org_id: uuid.UUID, reason: str) -> None:
        async with self.db.system_session("host agent refused a manifest") as session:
            await session.execute(
                _EVENT,
                {
                    "eid": uuid.uuid4(),
                    "org": org_id,
                    "id": server_id,
                    "kind": "manifest_refused",
                    "severity": "critical",
                    "detail": reason[:4000],
                },
            )
            await raise_action_item(
                session,
                org_id,
                "manifest",
                "manifest_refused",
                "A host agent refused the tool manifest",
                reason,
            )

    async def facts(self, server_id: uuid.UUID, facts: dict[str, Any]) -> None:
        async with self.db.system_session("host agent facts") as session:
            await session.execute(
                text("UPDATE servers SET facts = CAST(:facts AS jsonb) WHERE id = :id"),
                {"facts": _json(facts), "id": server_id},
            )

    async def sweep(self) -> int:
        """Mark silent servers offline and raise a Critical event for each (system session)."""
        async with self.db.system_session("periodic offline sweep") as session:
            rows = (await session.execute(_SWEEP)).all()
        return len(rows)


def _json(value: Any) -> str:
    text_ = json.dumps(value)
    return text_ if len(text_) <= 65536 else "{}"
