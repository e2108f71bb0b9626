"""Host-agent events become incidents: offline, tampered, manifest refused.

The hub records these as ``server_events`` the moment they happen; the incident sweep (every
15 s) raises each as a Critical alert from source ``vixpro`` through the same ingest path as a
monitoring tool's, and raises its resolution once the server is back (online again, or a fresh
signed config cleared the tampering). Well inside the minute the service-level page promises.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.core.alerts import NormalizedAlert, Severity, Status, fingerprint
from vixpro.incidents.ingest import Submission, store

SOURCE = "vixpro"
KINDS = ("offline", "tampered", "manifest_refused")
TITLES = {
    "offline": "Host agent offline on {name}",
    "tampered": "Host agent config tampered on {name}",
    "manifest_refused": "Host agent on {name} refused the tool manifest",
}

_PENDING = text(
    """
SELECT e.id, e.org_id, e.server_id, e.kind, e.detail, e.alert_stage, s.name, s.status,
       s.last_seen_at > e.at AS seen_since
FROM server_events e JOIN servers s ON s.id = e.server_id
WHERE e.alert_stage < 2 AND e.kind = ANY(:kinds)
ORDER BY e.at
LIMIT 500
FOR UPDATE OF e SKIP LOCKED
"""
)


def _alert(row: Any, status: Status) -> NormalizedAlert:
    name = row.name
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, str(row.server_id), row.kind),
        status=status,
        severity=Severity.CRITICAL,
        title=TITLES[row.kind].format(name=name),
        description=row.detail,
        labels={"server_id": str(row.server_id), "kind": row.kind},
        host_hints=(name.lower(),),
        raw={"server_event_id": str(row.id), "kind": row.kind, "detail": row.detail},
    )


def _over(row: Any) -> bool:
    """Whether what the event reported has ended."""
    if row.kind == "offline":
        return bool(row.status == "online" and row.seen_since)
    return bool(row.kind == "tampered" and row.status != "tampered")


def _stage_after(kind: str, status: Status) -> int:
    # A refused manifest has no "over" to wait for: a person resolves that incident.
    if status is Status.RESOLVED or kind == "manifest_refused":
        return 2
    return 1


async def raise_pending(system: AsyncSession, app_url: str) -> int:
    """Raise new events and the end of old ones; returns how many alerts were sent.

    ``system`` is a system session (events of every organisation); alerts are stored per
    organisation through the app role, like a webhook's.
    """
    rows = (await system.execute(_PENDING, {"kinds": list(KINDS)})).all()
    by_org: dict[uuid.UUID, list[tuple[Any, Status]]] = defaultdict(list)
    for row in rows:
        if row.alert_stage == 0:
            by_org[row.org_id].append((row, Status.FIRING))
        elif _over(row):
            by_org[row.org_id].append((row, Status.RESOLVED))
    sent = 0
    for org_id, items in by_org.items():
        # ``store`` sends its own BEGIN and COMMIT.
        async with await AsyncConnection.connect(app_url, autocommit=True) as conn:
            await store(conn, [Submission(org_id, None, tuple(_alert(r, s) for r, s in items))])
        for row, status in items:
            await system.execute(
                text("UPDATE server_events SET alert_stage = :stage WHERE id = :id"),
                {"stage": _stage_after(row.kind, status), "id": row.id},
            )
        sent += len(items)
    return sent
