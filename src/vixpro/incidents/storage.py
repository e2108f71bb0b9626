"""The SQL of an ingest transaction: a fixed number of round trips per organisation.

Every statement runs as the app role with ``app.org_id`` set by the caller's transaction.
Reads probe indexes per key (``unnest`` + ``LATERAL ... LIMIT 1``) so that plans do not depend
on statistics; writes send each table's rows as one JSON document (``jsonb_to_recordset``): one
statement per table, however many rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection, AsyncCursor, AsyncPipeline

from vixpro.core.alerts import NormalizedAlert
from vixpro.core.incidents import Rules, Scope, Window, effective_budget, group_key
from vixpro.db.rowdoc import RowDocument, text_list
from vixpro.incidents.batch import (
    INCIDENT_COLUMNS,
    AlertRow,
    OrgBatch,
    StoreError,
    StormRow,
    cleaner,
    incident_row,
    minute_of,
)
from vixpro.incidents.matching import ServerIndex
from vixpro.incidents.overlap import INGEST_LOCK, LEASE_HELD, OverlapRefused, Plan

NOTIFY_CHANNEL = "vixpro_incidents"
# Wakes live incident lists in every replica once the transaction commits (psycopg's
# placeholders: the channel, then the organisation's id as text).
NOTIFY_SQL = "SELECT pg_notify(%s, %s)"

_I_COLUMNS = ", ".join("i." + column.strip() for column in INCIDENT_COLUMNS.split(","))
CURRENT_SELECT = (
    "SELECT a.id, a.fingerprint, a.incident_id, a.status, a.count, a.suppressed_by, "  # noqa: S608 - constant column list
    + _I_COLUMNS
    + " FROM jsonb_array_elements_text(%s::jsonb) AS f(fp) CROSS JOIN LATERAL ("
    "SELECT id, fingerprint, incident_id, status, count, suppressed_by FROM alerts "
    "WHERE org_id = %s AND fingerprint = f.fp ORDER BY last_seen_at DESC LIMIT 1) a "
    "LEFT JOIN incidents i ON i.id = a.incident_id AND i.org_id = %s"
)
GROUP_SELECT = (
    "SELECT "  # noqa: S608 - constant column list
    + _I_COLUMNS
    + " FROM jsonb_array_elements_text(%s::jsonb) AS k(key) CROSS JOIN LATERAL ("
    "SELECT * FROM incidents WHERE org_id = %s AND group_key = k.key AND state <> 'resolved' "
    "ORDER BY last_alert_at DESC LIMIT 1) i"
)


# The organisation's rules, its next incident number and a digest of what server matching
# reads (so the per-process server index is rebuilt only when a server changed).
_ORG_SELECT = """
SELECT p.alert_triage, p.alert_budget_per_server_day, p.max_concurrent_reactive_agents,
    s.group_window_s, s.auto_resolve, s.alert_budget, s.storm_threshold, s.storm_window_s,
    s.storm_quiet_s,
    (SELECT coalesce(max(number), 0) + 1 FROM incidents WHERE org_id = %(org)s),
    (SELECT md5(string_agg(v.id::text || ' ' || v.name || ' ' || coalesce(v.facts->>'hostname', '')
        || ' ' || coalesce(v.facts->>'addresses', ''), '|' ORDER BY v.id))
     FROM servers v WHERE v.org_id = %(org)s)
FROM organisations o JOIN plans p ON p.code = o.plan_code
LEFT JOIN incident_settings s ON s.org_id = o.id WHERE o.id = %(org)s
"""

_SERVERS_SELECT = """
SELECT md5(string_agg(v.id::text || ' ' || v.name || ' ' || coalesce(v.facts->>'hostname', '')
        || ' ' || coalesce(v.facts->>'addresses', ''), '|' ORDER BY v.id)),
    coalesce(json_agg(json_build_array(v.id, v.name, v.facts->'hostname', v.facts->'addresses')),
        '[]')
FROM servers v WHERE v.org_id = %(org)s
"""

_WINDOWS_SELECT = (
    "SELECT id, starts_at, ends_at, scope, server_ids, labels FROM maintenance_windows "
    "WHERE org_id = %(org)s AND starts_at <= %(now)s AND ends_at > %(now)s"
)

# Alerts per server over the organisation's storm window (whole minutes), its window read
# in the same statement so that it needs no earlier round trip.
_RATES_SELECT = """
SELECT server_id, sum(count) FROM alert_rates WHERE org_id = %(org)s
AND server_id = ANY(%(servers)s)
AND minute >= date_bin('1 minute'::interval, %(now)s::timestamptz - make_interval(secs => coalesce(
    (SELECT storm_window_s FROM incident_settings WHERE org_id = %(org)s), 300)),
    '2000-01-01 00:00:00+00'::timestamptz) + interval '1 minute'
GROUP BY server_id
"""

_BUDGETS_SELECT = (
    "SELECT server_id, count FROM alert_budget_counts WHERE org_id = %(org)s "
    "AND server_id = ANY(%(servers)s) AND day = %(day)s"
)

# Each open storm's incident probed by key (OFFSET 0 keeps the planner from flattening the
# subquery into a join, which it hashes over every incident once it knows the storms).
_STORMS_SELECT = (
    "SELECT s.server_id, s.id, s.incident_id, s.alerts, s.last_alert_at, "  # noqa: S608 - constant column list
    + _I_COLUMNS
    + " FROM storms s CROSS JOIN LATERAL (SELECT * FROM incidents WHERE id = s.incident_id "
    "AND org_id = %(org)s OFFSET 0) i "
    "WHERE s.org_id = %(org)s AND s.server_id = ANY(%(servers)s) AND s.ended_at IS NULL"
)


_LOCK_ALONE = (
    f"SELECT set_config('app.org_id', %(org)s, true), pg_advisory_xact_lock({INGEST_LOCK})"
)
_LOCK_SHARED = (
    f"SELECT set_config('app.org_id', %(org)s, true), pg_advisory_xact_lock_shared({INGEST_LOCK})"
)
# After the shared lock, not before: a process that gains the lease after this check waits
# for this transaction (it takes the lock exclusively once).
_LEASE_CHECK = f"SELECT {LEASE_HELD}"


class ServerCache:
    """Each organisation's server index, kept while the servers' digest is unchanged.

    Matching reads every server of the organisation; reading and indexing them for every
    transaction cost more than the alerts themselves. The digest (one aggregate over the
    columns matching reads) comes back in the first round trip with the rules."""

    MAX_ORGS = 10_000

    def __init__(self) -> None:
        self._entries: dict[uuid.UUID, tuple[str, ServerIndex]] = {}

    def get(self, org: uuid.UUID) -> tuple[str, ServerIndex] | None:
        return self._entries.get(org)

    def put(self, org: uuid.UUID, digest: str, index: ServerIndex) -> None:
        if len(self._entries) >= self.MAX_ORGS:
            self._entries.clear()
        self._entries[org] = (digest, index)


SERVERS = ServerCache()
_NO_SERVERS = ""  # the digest of an organisation without servers (md5 of nothing is NULL)


def _server_index(rows: list[list[Any]]) -> ServerIndex:
    return ServerIndex(
        (
            uuid.UUID(server_id),
            name,
            {"hostname": hostname, "addresses": addresses},
        )
        for server_id, name, hostname, addresses in rows
    )


async def read(
    conn: AsyncConnection[Any],
    pipeline: AsyncPipeline,
    batch: OrgBatch,
    alerts: Sequence[NormalizedAlert],
    plan: Plan | None = None,
) -> None:
    """Everything ``batch`` needs to decide, in one round trip (two when a server changed):
    what ``conn``'s ``pipeline`` holds already goes with it.

    Takes the organisation's ingest lock first: exclusively, so that its alerts are decided
    one transaction at a time; or shared, under ``plan``'s lease, with the lease checked in
    the same round trip (``overlap``: raises ``OverlapRefused`` when the lease is lost or the
    servers changed since the plan's keys were worked out). Group keys depend on server
    matching, which uses the cached index; when the digest read alongside says the servers
    changed, the index is rebuilt and the group reads redone.
    """
    org, now = batch.org_id, batch.now
    fingerprints = sorted({a.fingerprint for a in alerts})
    cached = SERVERS.get(org)
    lease = None
    if plan is None:
        await conn.execute(_LOCK_ALONE, {"org": str(org)}, prepare=True)
    else:
        if cached is not plan.servers:  # the keys were worked out with other servers
            raise OverlapRefused
        await conn.execute(_LOCK_SHARED, {"org": str(org)}, prepare=True)
        lease = await conn.execute(_LEASE_CHECK, plan.lease.check_params(), prepare=True)
    settings = await conn.execute(_ORG_SELECT, {"org": org})
    windows = await conn.execute(_WINDOWS_SELECT, {"org": org, "now": now})
    # Each fingerprint's latest alert, and its incident: one index probe per fingerprint
    # (org_id, fingerprint, last_seen_at), whatever the planner's statistics say.
    current = await conn.execute(CURRENT_SELECT, (text_list(fingerprints), org, org))
    groups = None
    if cached is not None:
        groups = await _read_groups(conn, batch, cached[1], alerts)
    await pipeline.sync()
    settings_row = await settings.fetchone()
    window_rows = await windows.fetchall()
    current_rows = await current.fetchall()
    group_rows = await groups.fetch() if groups is not None else None
    if lease is not None:
        held = await lease.fetchone()
        if held is None or not held[0]:  # the lease was lost: run alone
            raise OverlapRefused(lost=True)
    if settings_row is None:
        raise StoreError("the organisation no longer exists")
    (
        triage,
        plan_budget,
        agents,
        window_s,
        auto_resolve,
        budget,
        storm_n,
        storm_s,
        quiet_s,
        next_number,
        digest,
    ) = settings_row
    batch.rules = Rules(
        group_window=timedelta(seconds=window_s if window_s is not None else 300),
        auto_resolve=True if auto_resolve is None else auto_resolve,
        alert_budget=effective_budget(plan_budget, budget),
        storm_threshold=storm_n if storm_n is not None else 20,
        storm_window=timedelta(seconds=storm_s if storm_s is not None else 300),
        storm_quiet=timedelta(seconds=quiet_s if quiet_s is not None else 600),
        triage=triage,
        max_reactive_agents=agents,
    )
    batch.windows = [
        Window(r[0], r[1], r[2], Scope(r[3]), frozenset(r[4] or ()), r[5] or {})
        for r in window_rows
    ]
    batch.current = {
        r[1]: AlertRow(
            id=r[0], fingerprint=r[1], incident_id=r[2], status=r[3], count=r[4], suppressed_by=r[5]
        )
        for r in current_rows
    }
    batch.incidents = {r[6]: incident_row(r[6:]) for r in current_rows if r[6] is not None}
    batch.next_number = next_number
    digest = digest or _NO_SERVERS
    if cached is not None and cached[0] == digest and group_rows is not None:
        batch.servers = cached[1]
    elif plan is not None:  # the servers changed since the keys were worked out
        raise OverlapRefused
    else:
        servers = await conn.execute(_SERVERS_SELECT, {"org": org})
        await pipeline.sync()
        row = await servers.fetchone()
        assert row is not None
        index = _server_index(row[1])
        SERVERS.put(org, row[0] or _NO_SERVERS, index)
        batch.servers = index
        groups = await _read_groups(conn, batch, index, alerts)
        await pipeline.sync()
        group_rows = await groups.fetch()
    _apply_groups(batch, group_rows)


@dataclass
class _GroupReads:
    """The group reads in flight: open incidents per group key, and the matched servers'
    storms, alert rates and budget counts (none of these when no alert matched a server)."""

    groups: AsyncCursor[Any]
    storms: AsyncCursor[Any] | None
    rates: AsyncCursor[Any] | None
    budgets: AsyncCursor[Any] | None

    async def fetch(self) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
        return (
            await self.groups.fetchall(),
            await self.storms.fetchall() if self.storms is not None else [],
            await self.rates.fetchall() if self.rates is not None else [],
            await self.budgets.fetchall() if self.budgets is not None else [],
        )


async def _read_groups(
    conn: AsyncConnection[Any],
    batch: OrgBatch,
    index: ServerIndex,
    alerts: Sequence[NormalizedAlert],
) -> _GroupReads:
    matched = [(index.match(a.host_hints), a.fingerprint) for a in alerts]
    servers = sorted({s for s, _ in matched if s is not None})
    keys = sorted({group_key(s, fp) for s, fp in matched})
    org, now = batch.org_id, batch.now
    groups = await conn.execute(GROUP_SELECT, (text_list(keys), org))
    if not servers:
        return _GroupReads(groups, None, None, None)
    params = {"org": org, "servers": servers, "now": now, "day": now.date()}
    return _GroupReads(
        groups,
        await conn.execute(_STORMS_SELECT, params),
        await conn.execute(_RATES_SELECT, params),
        await conn.execute(_BUDGETS_SELECT, params),
    )


def _apply_groups(batch: OrgBatch, rows: tuple[list[Any], list[Any], list[Any], list[Any]]) -> None:
    group_rows, storm_rows, rate_rows, budget_rows = rows
    for row in group_rows:
        incident = batch.incidents.setdefault(row[0], incident_row(row))
        batch.open_by_key[incident.group_key] = incident
    for row in storm_rows:
        batch.incidents.setdefault(row[5], incident_row(row[5:]))
        batch.storms[row[0]] = StormRow(row[1], row[2], row[3], row[4])
    batch.rates = {r[0]: int(r[1]) for r in rate_rows}
    batch.budgets = {r[0]: r[1] for r in budget_rows}


_NEW_INCIDENTS = RowDocument(
    (
        ("id", "uuid"),
        ("number", "bigint"),
        ("title", "text"),
        ("state", "text"),
        ("severity", "text"),
        ("source", "text"),
        ("group_key", "text"),
        ("server_id", "uuid"),
        ("manual_mode", "boolean"),
        ("manual_reason", "text"),
        ("storm", "boolean"),
        ("ai_state", "text"),
        ("alert_count", "int"),
        ("open_alerts", "int"),
        ("first_alert_received_at", "timestamptz"),
        ("last_alert_at", "timestamptz"),
        ("ai_queued_at", "timestamptz"),
    )
)
_INSERT_INCIDENTS = f"""
INSERT INTO incidents (id, org_id, number, title, state, severity, source, group_key, server_id,
    manual_mode, manual_reason, storm, ai_state, alert_count, open_alerts, reopened,
    first_alert_received_at, last_alert_at, created_at, updated_at, ai_queued_at)
SELECT r.id, %(org)s, r.number, r.title, r.state, r.severity, r.source, r.group_key,
    r.server_id, r.manual_mode, r.manual_reason, r.storm, r.ai_state, r.alert_count,
    r.open_alerts, 0, r.first_alert_received_at, r.last_alert_at, %(now)s, %(now)s,
    r.ai_queued_at
FROM {_NEW_INCIDENTS.source("%(rows)s")} AS r
"""  # noqa: S608 - constant columns

_CHANGED_INCIDENTS = RowDocument(
    (
        ("id", "uuid"),
        ("moved", "boolean"),
        ("state", "text"),
        ("severity", "text"),
        ("alert_count", "int"),
        ("open_alerts", "int"),
        ("reopened", "int"),
        ("last_alert_at", "timestamptz"),
        ("resolved_at", "timestamptz"),
        ("resolved_by", "text"),
        ("acknowledged_at", "timestamptz"),
        ("acknowledged_by", "text"),
    )
)
_UPDATE_INCIDENTS = f"""
UPDATE incidents i SET alert_count = r.alert_count, open_alerts = r.open_alerts,
    last_alert_at = r.last_alert_at, updated_at = %(now)s,
    severity = CASE WHEN r.severity = 'critical' THEN r.severity ELSE i.severity END,
    state = CASE WHEN r.moved THEN r.state ELSE i.state END,
    reopened = CASE WHEN r.moved THEN r.reopened ELSE i.reopened END,
    resolved_at = CASE WHEN r.moved THEN r.resolved_at ELSE i.resolved_at END,
    resolved_by = CASE WHEN r.moved THEN r.resolved_by ELSE i.resolved_by END,
    acknowledged_at = CASE WHEN r.moved THEN r.acknowledged_at ELSE i.acknowledged_at END,
    acknowledged_by = CASE WHEN r.moved THEN r.acknowledged_by ELSE i.acknowledged_by END
FROM {_CHANGED_INCIDENTS.source("%(rows)s")} AS r
WHERE i.id = r.id AND i.id = ANY(%(ids)s::uuid[]) AND i.org_id = %(org)s
"""  # noqa: S608 - constant columns

# An alert's columns (``AlertRow.values`` with its id, fingerprint and count), as both alert
# documents carry them.
_ALERT_VALUES: tuple[tuple[str, str], ...] = (
    ("id", "uuid"),
    ("integration_id", "uuid"),
    ("source", "text"),
    ("fingerprint", "text"),
    ("status", "text"),
    ("severity", "text"),
    ("title", "text"),
    ("description", "text"),
    ("labels", "jsonb"),
    ("annotations", "jsonb"),
    ("host_hints", "text[]"),
    ("server_id", "uuid"),
    ("source_url", "text"),
    ("starts_at", "timestamptz"),
    ("ends_at", "timestamptz"),
    ("raw", "jsonb"),
    ("count", "int"),
    ("last_seen_at", "timestamptz"),
    ("resolved_at", "timestamptz"),
)
_NEW_ALERTS = RowDocument((*_ALERT_VALUES, ("incident_id", "uuid"), ("suppressed_by", "uuid")))
_INSERT_ALERTS = f"""
INSERT INTO alerts (id, org_id, incident_id, integration_id, source, fingerprint, status,
    severity, title, description, labels, annotations, host_hints, server_id, source_url,
    starts_at, ends_at, raw, count, first_seen_at, last_seen_at, resolved_at, suppressed_by)
SELECT r.id, %(org)s, r.incident_id, r.integration_id, r.source, r.fingerprint, r.status,
    r.severity, r.title, r.description, r.labels, r.annotations,
    r.host_hints, r.server_id, r.source_url,
    r.starts_at, r.ends_at, r.raw, r.count, %(now)s, r.last_seen_at, r.resolved_at,
    r.suppressed_by
FROM {_NEW_ALERTS.source("%(rows)s")} AS r
"""  # noqa: S608 - constant columns

_CHANGED_ALERTS = RowDocument(_ALERT_VALUES)
_UPDATE_ALERTS = f"""
UPDATE alerts a SET status = r.status, severity = r.severity, title = r.title,
    description = r.description, labels = r.labels, annotations = r.annotations,
    server_id = coalesce(r.server_id, a.server_id), source_url = r.source_url,
    ends_at = r.ends_at, raw = r.raw, count = r.count, last_seen_at = r.last_seen_at,
    resolved_at = r.resolved_at
FROM {_CHANGED_ALERTS.source("%(rows)s")} AS r
WHERE a.id = r.id AND a.id = ANY(%(ids)s::uuid[]) AND a.org_id = %(org)s
"""  # noqa: S608 - constant columns

_EVENTS = RowDocument(
    (
        ("incident_id", "uuid"),
        ("kind", "text"),
        ("actor", "text"),
        ("detail", "text"),
        ("data", "jsonb"),
    )
)
_INSERT_EVENTS = f"""
INSERT INTO incident_events (org_id, incident_id, kind, actor, detail, data, at)
SELECT %(org)s, r.incident_id, r.kind, r.actor, r.detail, r.data, %(now)s
FROM {_EVENTS.source("%(rows)s")} AS r
"""  # noqa: S608 - constant columns


def _alert_values(row: AlertRow) -> dict[str, Any]:
    return {**row.values, "id": row.id, "fingerprint": row.fingerprint, "count": row.count}


_STARTABLE_TEMPLATE = """
SELECT id FROM incidents
WHERE org_id = :org AND ai_state = 'queued'
ORDER BY ai_queued_at, created_at, id
LIMIT greatest(0,
    (SELECT p.max_concurrent_reactive_agents FROM organisations o
     JOIN plans p ON p.code = o.plan_code WHERE o.id = :org)
    - (SELECT count(*) FROM incidents WHERE org_id = :org AND ai_state = 'running'))
"""


def startable_sql(placeholder: str) -> str:
    """The queued incidents of one organisation that fit in its free reactive-agent slots,
    oldest first, with ``placeholder`` as the organisation's bind marker: the ORM (``:org``)
    and this writer (``%(org)s``) share the one query."""
    return _STARTABLE_TEMPLATE.replace(":org", placeholder)


_STARTABLE = startable_sql("%(org)s")


async def write_org(conn: AsyncConnection[Any], batch: OrgBatch) -> AsyncCursor[Any] | None:
    """Send everything ``batch`` decided: one statement per table.

    The caller's pipeline carries the statements with the transaction's COMMIT (one round
    trip). Returns, when this batch queued incidents for the AI, the cursor that reads the
    queued incidents fitting in the organisation's free reactive-agent slots (the diagnoses
    to start once committed); fetch it after the pipeline has synced.
    """
    org, now = batch.org_id, batch.now
    base = {"org": org, "now": now}
    new_incidents = [i for i in batch.touched.values() if i.new]
    changed_incidents = [i for i in batch.touched.values() if not i.new]
    new_alerts = [a for a in batch.alert_rows if a.new]
    changed_alerts = [a for a in batch.alert_rows if not a.new]
    if new_incidents:
        rows = _NEW_INCIDENTS.dumps(
            {
                "id": i.id,
                "number": i.number,
                "title": i.title,
                "state": i.state,
                "severity": i.severity,
                "source": i.source,
                "group_key": i.group_key,
                "server_id": i.server_id,
                "manual_mode": i.manual_mode,
                "manual_reason": i.manual_reason,
                "storm": i.storm,
                "ai_state": i.ai_state,
                "alert_count": i.alert_count,
                "open_alerts": i.open_alerts,
                "first_alert_received_at": i.first_alert_received_at,
                "last_alert_at": i.last_alert_at,
                "ai_queued_at": now if i.ai_state.value == "queued" else None,
            }
            for i in new_incidents
        )
        await conn.execute(_INSERT_INCIDENTS, {**base, "rows": rows}, prepare=True)
    if changed_incidents:
        rows = _CHANGED_INCIDENTS.dumps(
            {
                "id": i.id,
                "moved": i.moved,
                "state": i.state,
                "severity": i.severity,
                "alert_count": i.alert_count,
                "open_alerts": i.open_alerts,
                "reopened": i.reopened,
                "last_alert_at": i.last_alert_at,
                "resolved_at": i.resolved_at,
                "resolved_by": i.resolved_by,
                "acknowledged_at": i.acknowledged_at,
                "acknowledged_by": i.acknowledged_by,
            }
            for i in changed_incidents
        )
        ids = [i.id for i in changed_incidents]
        await conn.execute(_UPDATE_INCIDENTS, {**base, "rows": rows, "ids": ids})
    if new_alerts:
        rows = _NEW_ALERTS.dumps(
            {**_alert_values(a), "incident_id": a.incident_id, "suppressed_by": a.suppressed_by}
            for a in new_alerts
        )
        await conn.execute(_INSERT_ALERTS, {**base, "rows": rows}, prepare=True)
    if changed_alerts:
        rows = _CHANGED_ALERTS.dumps(_alert_values(a) for a in changed_alerts)
        ids = [a.id for a in changed_alerts]
        await conn.execute(_UPDATE_ALERTS, {**base, "rows": rows, "ids": ids})
    if batch.events:
        c = cleaner(batch.unclean)
        rows = _EVENTS.dumps(
            {"incident_id": i, "kind": k, "actor": actor, "detail": c(d), "data": c(data)}
            for i, k, actor, d, data in batch.events
        )
        await conn.execute(_INSERT_EVENTS, {**base, "rows": rows}, prepare=True)
    if batch.rate_delta:
        minute = minute_of(now)
        await conn.execute(
            "INSERT INTO alert_rates (org_id, server_id, minute, count) "
            "SELECT %(org)s, r.server_id, %(minute)s, r.n "
            "FROM unnest(%(servers)s::uuid[], %(counts)s::int[]) AS r(server_id, n) "
            "ON CONFLICT (org_id, server_id, minute) "
            "DO UPDATE SET count = alert_rates.count + EXCLUDED.count",
            {
                "org": org,
                "minute": minute,
                "servers": list(batch.rate_delta),
                "counts": list(batch.rate_delta.values()),
            },
            prepare=True,
        )
    if batch.budget_delta:
        await conn.execute(
            "INSERT INTO alert_budget_counts (org_id, server_id, day, count) "
            "SELECT %(org)s, r.server_id, %(day)s, r.n "
            "FROM unnest(%(servers)s::uuid[], %(counts)s::int[]) AS r(server_id, n) "
            "ON CONFLICT (org_id, server_id, day) "
            "DO UPDATE SET count = alert_budget_counts.count + EXCLUDED.count",
            {
                "org": org,
                "day": now.date(),
                "servers": list(batch.budget_delta),
                "counts": list(batch.budget_delta.values()),
            },
            prepare=True,
        )
    if batch.storms:
        await _write_storms(conn, org, now, batch.storms)
    if batch.org_events:
        await conn.cursor().executemany(
            "INSERT INTO org_events (org_id, kind, severity, detail, server_id, incident_id, at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(org, *event, now) for event in batch.org_events],
        )
    # One statement per integration, in the order of their ids: transactions that overlap
    # (``overlap``) lock the rows they share in one order, so none waits on the other in turn.
    for integration_id, count in sorted(batch.integration_counts.items()):
        await conn.execute(
            "UPDATE integrations SET alerts_received = alerts_received + %(n)s, "
            "last_alert_at = %(now)s WHERE id = %(id)s",
            {"now": now, "id": integration_id, "n": count},
            prepare=True,
        )
    await conn.execute(NOTIFY_SQL, (NOTIFY_CHANNEL, str(org)), prepare=True)
    if any(i.new and i.ai_state.value == "queued" for i in new_incidents):
        return await conn.execute(_STARTABLE, {"org": org})
    return None


_INSERT_STORMS = """
INSERT INTO storms (id, org_id, server_id, incident_id, alerts, started_at, last_alert_at)
SELECT r.id, %(org)s, r.server_id, r.incident_id, r.alerts, %(now)s, r.last_alert_at
FROM unnest(%(ids)s::uuid[], %(servers)s::uuid[], %(incidents)s::uuid[], %(alerts)s::int[],
    %(last)s::timestamptz[]) AS r(id, server_id, incident_id, alerts, last_alert_at)
"""

_UPDATE_STORMS = """
UPDATE storms s SET alerts = r.alerts, last_alert_at = r.last_alert_at
FROM unnest(%(ids)s::uuid[], %(alerts)s::int[], %(last)s::timestamptz[])
    AS r(id, alerts, last_alert_at)
WHERE s.id = r.id AND s.id = ANY(%(ids)s::uuid[]) AND s.org_id = %(org)s
"""


async def _write_storms(
    conn: AsyncConnection[Any],
    org: uuid.UUID,
    now: datetime,
    storms: dict[uuid.UUID, StormRow],
) -> None:
    """The batch's storms, begun and continued: one statement each, however many servers."""
    new = [(server, storm) for server, storm in storms.items() if storm.new]
    old = [storm for storm in storms.values() if not storm.new]
    if new:
        await conn.execute(
            _INSERT_STORMS,
            {
                "org": org,
                "now": now,
                "ids": [storm.id for _, storm in new],
                "servers": [server for server, _ in new],
                "incidents": [storm.incident_id for _, storm in new],
                "alerts": [storm.alerts for _, storm in new],
                "last": [storm.last_alert_at for _, storm in new],
            },
            prepare=True,
        )
    if old:
        await conn.execute(
            _UPDATE_STORMS,
            {
                "org": org,
                "ids": [storm.id for storm in old],
                "alerts": [storm.alerts for storm in old],
                "last": [storm.last_alert_at for storm in old],
            },
        )
