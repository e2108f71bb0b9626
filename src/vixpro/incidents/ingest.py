"""Accepted means stored: normalised alerts → alert rows → incidents, in batched transactions.

Concurrent webhook requests are gathered into one transaction (group commit): each request
waits until the transaction holding its alerts has committed, then answers 202. Within the
transaction each organisation costs a fixed number of round trips however many alerts it
brings (psycopg pipelines: reads, reads that depend on server matching, writes), all as the
app role with ``app.org_id`` set, so row-level security holds here too. Organisations are
serialised across replicas by a transaction-scoped advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from vixpro.core.alerts import NormalizedAlert, Status, Tier, tier_of
from vixpro.core.incidents import (
    AiState,
    Rules,
    Scope,
    State,
    Window,
    covering_window,
    effective_budget,
    group_key,
    is_flap,
    joins_incident,
    over_budget,
    storm_begins,
)
from vixpro.db.urls import libpq_url
from vixpro.incidents.matching import ServerIndex

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "vixpro_incidents"
MAX_BATCH_ALERTS = 2000


@dataclass(frozen=True, slots=True)
class Submission:
    org_id: uuid.UUID
    integration_id: uuid.UUID | None
    alerts: tuple[NormalizedAlert, ...]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Outcome:
    alert_ids: tuple[uuid.UUID, ...]
    incident_ids: tuple[uuid.UUID, ...]  # incidents the alerts went to (new or existing)
    suppressed: int  # alerts inside a maintenance window
    queued_for_ai: tuple[uuid.UUID, ...]  # incidents that now wait for a diagnosis


class StoreError(Exception):
    """The database refused what was submitted; the message says why."""


def clean(value: Any) -> Any:
    """JSON-compatible data PostgreSQL accepts: no NUL characters anywhere (jsonb and text refuse them)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, Mapping):
        return {clean(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        if isinstance(value, float) and math.isnan(value):  # NaN is not JSON
            return None
        return value
    return str(value)


# ---- the state of one organisation, as read for one batch ----------------------------------


@dataclass(slots=True)
class AlertRow:
    id: uuid.UUID
    fingerprint: str
    incident_id: uuid.UUID | None
    status: str
    count: int
    suppressed_by: uuid.UUID | None
    new: bool = False
    changed: bool = False
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class IncidentRow:
    id: uuid.UUID
    number: int
    title: str
    state: State
    severity: Tier
    group_key: str
    server_id: uuid.UUID | None
    last_alert_at: datetime
    resolved_at: datetime | None
    alert_count: int
    open_alerts: int
    reopened: int
    manual_mode: bool
    storm: bool
    ai_state: AiState
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    new: bool = False
    changed: bool = False
    # Set only on new incidents:
    source: str = ""
    manual_reason: str | None = None
    first_alert_received_at: datetime | None = None


@dataclass(slots=True)
class StormRow:
    id: uuid.UUID
    incident_id: uuid.UUID
    alerts: int
    last_alert_at: datetime
    new: bool = False


INCIDENT_COLUMNS = (
    "id, number, title, state, severity, group_key, server_id, last_alert_at, resolved_at, "
    "alert_count, open_alerts, reopened, manual_mode, storm, ai_state, acknowledged_at, "
    "acknowledged_by, resolved_by"
)


_I_COLUMNS = ", ".join("i." + column.strip() for column in INCIDENT_COLUMNS.split(","))
CURRENT_SELECT = (
    "SELECT a.id, a.fingerprint, a.incident_id, a.status, a.count, a.suppressed_by, "  # noqa: S608 - constant column list
    + _I_COLUMNS
    + " FROM unnest(%s::text[]) AS f(fp) CROSS JOIN LATERAL ("
    "SELECT id, fingerprint, incident_id, status, count, suppressed_by FROM alerts "
    "WHERE org_id = %s AND fingerprint = f.fp ORDER BY last_seen_at DESC LIMIT 1) a "
    "LEFT JOIN incidents i ON i.id = a.incident_id AND i.org_id = %s"
)
GROUP_SELECT = (
    "SELECT " + _I_COLUMNS + " FROM unnest(%s::text[]) AS k(key) CROSS JOIN LATERAL ("  # noqa: S608 - constant column list
    "SELECT * FROM incidents WHERE org_id = %s AND group_key = k.key AND state <> 'resolved' "
    "ORDER BY last_alert_at DESC LIMIT 1) i"
)
STORM_SELECT = (
    "SELECT s.server_id, s.id, s.incident_id, s.alerts, s.last_alert_at, "
    + ", ".join("i." + column.strip() for column in INCIDENT_COLUMNS.split(","))
    + " "
)


def _incident(row: Sequence[Any]) -> IncidentRow:
    return IncidentRow(
        id=row[0],
        number=row[1],
        title=row[2],
        state=State(row[3]),
        severity=Tier(row[4]),
        group_key=row[5],
        server_id=row[6],
        last_alert_at=row[7],
        resolved_at=row[8],
        alert_count=row[9],
        open_alerts=row[10],
        reopened=row[11],
        manual_mode=row[12],
        storm=row[13],
        ai_state=AiState(row[14]),
        acknowledged_at=row[15],
        acknowledged_by=row[16],
        resolved_by=row[17],
    )


@dataclass
class OrgBatch:
    """Everything one organisation's part of a batch reads, decides and writes."""

    org_id: uuid.UUID
    now: datetime
    rules: Rules = field(default_factory=Rules)
    servers: ServerIndex = field(default_factory=lambda: ServerIndex(()))
    windows: list[Window] = field(default_factory=list)
    current: dict[str, AlertRow] = field(default_factory=dict)
    incidents: dict[uuid.UUID, IncidentRow] = field(default_factory=dict)
    open_by_key: dict[str, IncidentRow] = field(default_factory=dict)
    storms: dict[uuid.UUID, StormRow] = field(default_factory=dict)
    rates: dict[uuid.UUID, int] = field(default_factory=dict)
    budgets: dict[uuid.UUID, int] = field(default_factory=dict)
    next_number: int = 1
    # Decisions:
    rate_delta: dict[uuid.UUID, int] = field(default_factory=dict)
    budget_delta: dict[uuid.UUID, int] = field(default_factory=dict)
    events: list[tuple[uuid.UUID, str, str, str, dict[str, Any]]] = field(default_factory=list)
    org_events: list[tuple[str, str, str, uuid.UUID | None, uuid.UUID | None]] = field(
        default_factory=list
    )
    integration_counts: dict[uuid.UUID, int] = field(default_factory=dict)
    alert_rows: list[AlertRow] = field(default_factory=list)
    touched: dict[uuid.UUID, IncidentRow] = field(default_factory=dict)

    # ---- decisions -------------------------------------------------------------------------

    def event(
        self,
        incident: IncidentRow,
        kind: str,
        detail: str,
        data: dict[str, Any] | None = None,
        actor: str = "system",
    ) -> None:
        self.events.append((incident.id, kind, actor, detail, data or {}))

    def touch(self, incident: IncidentRow) -> None:
        incident.changed = True
        self.touched[incident.id] = incident

    def apply(self, submission: Submission) -> tuple[list[uuid.UUID], list[uuid.UUID], int]:
        alert_ids: list[uuid.UUID] = []
        incident_ids: dict[uuid.UUID, None] = {}  # ordered, without repeats
        suppressed = 0
        if submission.integration_id is not None:
            self.integration_counts[submission.integration_id] = self.integration_counts.get(
                submission.integration_id, 0
            ) + len(submission.alerts)
        for alert in submission.alerts:
            row, incident = self._apply_one(alert, submission)
            alert_ids.append(row.id)
            if incident is not None:
                incident_ids[incident.id] = None
            if row.suppressed_by is not None:
                suppressed += 1
        return alert_ids, list(incident_ids), suppressed

    def _alert_values(
        self, alert: NormalizedAlert, submission: Submission, server_id: uuid.UUID | None
    ) -> dict[str, Any]:
        return {
            "integration_id": submission.integration_id,
            "source": alert.source,
            "status": alert.status.value,
            "severity": alert.severity.value,
            "title": clean(alert.title)[:500],
            "description": clean(alert.description),
            "labels": clean(dict(alert.labels)),
            "annotations": clean(dict(alert.annotations)),
            "host_hints": clean(list(alert.host_hints)),
            "server_id": server_id,
            "source_url": clean(alert.source_url) if alert.source_url else None,
            "starts_at": alert.starts_at,
            "ends_at": alert.ends_at,
            "raw": clean(dict(alert.raw)),
            "last_seen_at": self.now,
            "resolved_at": self.now if alert.status is Status.RESOLVED else None,
        }

    def _new_alert(
        self,
        alert: NormalizedAlert,
        submission: Submission,
        server_id: uuid.UUID | None,
        incident: IncidentRow | None,
        suppressed_by: uuid.UUID | None = None,
    ) -> AlertRow:
        row = AlertRow(
            id=uuid.uuid4(),
            fingerprint=alert.fingerprint,
            incident_id=incident.id if incident else None,
            status=alert.status.value,
            count=1,
            suppressed_by=suppressed_by,
            new=True,
            values=self._alert_values(alert, submission, server_id),
        )
        self.current[alert.fingerprint] = row
        self.alert_rows.append(row)
        return row

    def _update_alert(
        self,
        row: AlertRow,
        alert: NormalizedAlert,
        submission: Submission,
        server_id: uuid.UUID | None,
    ) -> None:
        row.count += 1
        row.status = alert.status.value
        row.values = self._alert_values(alert, submission, server_id)
        if not row.new and not row.changed:
            row.changed = True
            self.alert_rows.append(row)

    def _apply_one(
        self, alert: NormalizedAlert, submission: Submission
    ) -> tuple[AlertRow, IncidentRow | None]:
        now = self.now
        server_id = self.servers.match(alert.host_hints)
        current = self.current.get(alert.fingerprint)
        window = covering_window(self.windows, now, server_id, alert.labels)
        if window is not None:
            if current is not None and current.suppressed_by == window.id:
                self._update_alert(current, alert, submission, server_id)
                return current, None
            return self._new_alert(alert, submission, server_id, None, window.id), None

        incident = (
            self.incidents.get(current.incident_id)
            if current is not None and current.incident_id
            else None
        )
        if alert.status is Status.RESOLVED:
            return self._resolve(alert, submission, server_id, current, incident)

        if server_id is not None:
            self.rate_delta[server_id] = self.rate_delta.get(server_id, 0) + 1
            self.rates[server_id] = self.rates.get(server_id, 0) + 1
            self.budget_delta[server_id] = self.budget_delta.get(server_id, 0) + 1
            self.budgets[server_id] = self.budgets.get(server_id, 0) + 1

        if current is not None and incident is not None:
            if incident.state is not State.RESOLVED:
                self._refire(alert, submission, server_id, current, incident)
                return current, incident
            if is_flap(incident.resolved_at, now, self.rules.group_window):
                self._reopen(incident, f"'{alert.title}' fired again within the group window")
                self._refire(alert, submission, server_id, current, incident)
                return current, incident

        if server_id is not None:
            storm = self._storm_for(server_id, alert)
            if storm is not None:
                incident = self.incidents[storm.incident_id]
                storm.alerts += 1
                storm.last_alert_at = now
                return self._attach(alert, submission, server_id, current, incident), incident

        key = group_key(server_id, alert.fingerprint)
        incident = self.open_by_key.get(key)
        if incident is not None and joins_incident(
            incident.last_alert_at, now, self.rules.group_window
        ):
            return self._attach(alert, submission, server_id, current, incident), incident
        incident = self._open_incident(alert, submission, server_id, key)
        return self._attach(alert, submission, server_id, current, incident, first=True), incident

    def _resolve(
        self,
        alert: NormalizedAlert,
        submission: Submission,
        server_id: uuid.UUID | None,
        current: AlertRow | None,
        incident: IncidentRow | None,
    ) -> tuple[AlertRow, IncidentRow | None]:
        if current is None or current.suppressed_by is not None:
            # A resolve for something never seen firing: kept, but opens nothing.
            return self._new_alert(alert, submission, server_id, None), None
        was_firing = current.status == Status.FIRING.value
        self._update_alert(current, alert, submission, server_id)
        if incident is None or not was_firing:
            return current, incident
        incident.open_alerts = max(0, incident.open_alerts - 1)
        self.event(
            incident, "alert_resolved", f"Resolved: {alert.title}", {"alert_id": str(current.id)}
        )
        if (
            incident.open_alerts == 0
            and self.rules.auto_resolve
            and incident.state is not State.RESOLVED
        ):
            incident.state = State.RESOLVED
            incident.resolved_at = self.now
            incident.resolved_by = "system"
            self.event(incident, "resolved", "All alerts resolved; the incident resolved itself")
        self.touch(incident)
        return current, incident

    def _refire(
        self,
        alert: NormalizedAlert,
        submission: Submission,
        server_id: uuid.UUID | None,
        current: AlertRow,
        incident: IncidentRow,
    ) -> None:
        if current.status == Status.RESOLVED.value:
            incident.open_alerts += 1
            self.event(
                incident,
                "alert_refired",
                f"Fired again: {alert.title}",
                {"alert_id": str(current.id)},
            )
        self._update_alert(current, alert, submission, server_id)
        self._bump(incident, alert)
        if alert.acknowledged and incident.state is State.OPEN:
            incident.state = State.ACKNOWLEDGED
            incident.acknowledged_at = self.now
            incident.acknowledged_by = alert.source
            self.event(
                incident, "acknowledged", f"Acknowledged by {alert.source}", actor=alert.source
            )

    def _bump(self, incident: IncidentRow, alert: NormalizedAlert) -> None:
        incident.last_alert_at = self.now
        if tier_of(alert.severity) is Tier.CRITICAL and incident.severity is not Tier.CRITICAL:
            incident.severity = Tier.CRITICAL
            self.event(incident, "severity", "Severity raised to Critical by a critical alert")
        self.touch(incident)

    def _reopen(self, incident: IncidentRow, why: str) -> None:
        incident.state = State.OPEN
        incident.reopened += 1
        incident.resolved_at = None
        incident.resolved_by = None
        incident.acknowledged_at = None
        incident.acknowledged_by = None
        self.event(incident, "reopened", f"Reopened: {why} (flapping)")
        self.open_by_key[incident.group_key] = incident
        self.touch(incident)

    def _attach(
        self,
        alert: NormalizedAlert,
        submission: Submission,
        server_id: uuid.UUID | None,
        current: AlertRow | None,
        incident: IncidentRow,
        *,
        first: bool = False,
    ) -> AlertRow:
        if current is not None and current.incident_id == incident.id:
            self._refire(alert, submission, server_id, current, incident)
            return current
        row = self._new_alert(alert, submission, server_id, incident)
        incident.alert_count += 1
        incident.open_alerts += 1
        if not first:
            self.event(
                incident,
                "alert",
                f"Alert added: {alert.title}",
                {"alert_id": str(row.id), "severity": alert.severity.value},
            )
        self._bump(incident, alert)
        return row

    def _open_incident(
        self,
        alert: NormalizedAlert,
        submission: Submission,
        server_id: uuid.UUID | None,
        key: str,
        *,
        storm: bool = False,
        title: str | None = None,
    ) -> IncidentRow:
        manual_reason = None
        if not self.rules.triage:
            manual_reason = "the plan does not include AI alert triage"
        elif server_id is not None and over_budget(
            self.budgets.get(server_id, 0), self.rules.alert_budget
        ):
            manual_reason = (
                f"the server is over its alert budget ({self.rules.alert_budget} per day)"
            )
        ai_state = AiState.INELIGIBLE if manual_reason else AiState.QUEUED
        if storm and not manual_reason:
            ai_state = AiState.HELD
        incident = IncidentRow(
            id=uuid.uuid4(),
            number=self.next_number,
            title=clean(title or alert.title)[:500],
            state=State.OPEN,
            severity=tier_of(alert.severity),
            group_key=key,
            server_id=server_id,
            last_alert_at=self.now,
            resolved_at=None,
            alert_count=0,
            open_alerts=0,
            reopened=0,
            manual_mode=manual_reason is not None,
            storm=storm,
            ai_state=ai_state,
            new=True,
            source=alert.source,
            manual_reason=manual_reason,
            first_alert_received_at=submission.received_at,
        )
        self.next_number += 1
        self.incidents[incident.id] = incident
        self.open_by_key[key] = incident
        self.touched[incident.id] = incident
        detail = f"Opened from a {alert.source} alert: {alert.title}"
        self.event(incident, "opened", detail, {"severity": alert.severity.value})
        if manual_reason:
            self.event(incident, "manual_mode", f"Manual mode: {manual_reason}; no AI diagnosis")
        return incident

    def _storm_for(self, server_id: uuid.UUID, alert: NormalizedAlert) -> StormRow | None:
        storm = self.storms.get(server_id)
        if storm is not None:
            return storm
        if not storm_begins(self.rates.get(server_id, 0), self.rules.storm_threshold):
            return None
        name = self.servers.names.get(server_id, str(server_id))
        minutes = int(self.rules.storm_window.total_seconds() // 60)
        title = f"Alert storm on {name}"
        incident = self._open_incident(
            alert,
            Submission(self.org_id, None, (), self.now),
            server_id,
            f"storm:{server_id}",
            storm=True,
            title=title,
        )
        incident.severity = Tier.CRITICAL
        detail = (
            f"More than {self.rules.storm_threshold} alerts in {minutes} min from {name}: "
            "its alerts are gathered here; AI diagnosis waits until the storm has been quiet"
        )
        self.event(incident, "storm", detail)
        self.org_events.append(("storm", "critical", detail, server_id, incident.id))
        storm = StormRow(uuid.uuid4(), incident.id, 0, self.now, new=True)
        self.storms[server_id] = storm
        return storm

    def budget_events(self) -> None:
        """One org event per server on the alert that first takes it over today's budget."""
        for server_id, delta in self.budget_delta.items():
            after = self.budgets.get(server_id, 0)
            before = after - delta
            budget = self.rules.alert_budget
            if self.rules.triage and before <= budget < after:
                name = self.servers.names.get(server_id, str(server_id))
                self.org_events.append(
                    (
                        "budget_exceeded",
                        "normal",
                        f"{name} passed its alert budget of {budget} alerts today; "
                        "new incidents for it are in manual mode (no AI) until tomorrow (UTC)",
                        server_id,
                        None,
                    )
                )


# ---- reading and writing ----------------------------------------------------------------


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def _read_org(conn: AsyncConnection[Any], batch: OrgBatch, fingerprints: list[str]) -> None:
    org = batch.org_id
    now = batch.now
    async with conn.pipeline():
        await conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org),))
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('vixpro-ingest:' || %s, 0))",
            (str(org),),
        )
        settings = await conn.execute(
            "SELECT p.alert_triage, p.alert_budget_per_server_day, "
            "p.max_concurrent_reactive_agents, s.group_window_s, s.auto_resolve, s.alert_budget, "
            "s.storm_threshold, s.storm_window_s, s.storm_quiet_s "
            "FROM organisations o JOIN plans p ON p.code = o.plan_code "
            "LEFT JOIN incident_settings s ON s.org_id = o.id WHERE o.id = %s",
            (org,),
        )
        servers = await conn.execute(
            "SELECT id, name, facts FROM servers WHERE org_id = %s", (org,)
        )
        windows = await conn.execute(
            "SELECT id, starts_at, ends_at, scope, server_ids, labels FROM maintenance_windows "
            "WHERE org_id = %s AND starts_at <= %s AND ends_at > %s",
            (org, now, now),
        )
        # Each fingerprint's latest alert, and its incident: one index probe per fingerprint
        # (org_id, fingerprint, last_seen_at), whatever the planner's statistics say.
        current = await conn.execute(
            CURRENT_SELECT,
            (fingerprints, org, org),
        )
        number = await conn.execute(
            "SELECT coalesce(max(number), 0) + 1 FROM incidents WHERE org_id = %s", (org,)
        )
        settings_row = await settings.fetchone()
        server_rows = await servers.fetchall()
        window_rows = await windows.fetchall()
        current_rows = await current.fetchall()
        number_row = await number.fetchone()
    if settings_row is None:
        raise StoreError("the organisation no longer exists")
    triage, plan_budget, agents, window_s, auto_resolve, budget, storm_n, storm_s, quiet_s = (
        settings_row
    )
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
    batch.servers = ServerIndex(server_rows)
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
    batch.incidents = {r[6]: _incident(r[6:]) for r in current_rows if r[6] is not None}
    assert number_row is not None
    batch.next_number = number_row[0]


async def _read_groups(
    conn: AsyncConnection[Any], batch: OrgBatch, alerts: Sequence[NormalizedAlert]
) -> None:
    """Open incidents of the groups these alerts fall in, and their servers' storm, rate and budget."""
    servers = sorted({s for a in alerts if (s := batch.servers.match(a.host_hints)) is not None})
    keys = sorted({group_key(batch.servers.match(a.host_hints), a.fingerprint) for a in alerts})
    org, now = batch.org_id, batch.now
    since = _minute(now - batch.rules.storm_window) + timedelta(minutes=1)
    async with conn.pipeline():
        groups = await conn.execute(GROUP_SELECT, (keys, org))
        storms = await conn.execute(
            STORM_SELECT + "FROM storms s JOIN incidents i ON i.id = s.incident_id "
            "WHERE s.org_id = %s AND s.server_id = ANY(%s) AND s.ended_at IS NULL",
            (org, servers),
        )
        rates = await conn.execute(
            "SELECT server_id, sum(count) FROM alert_rates WHERE org_id = %s "
            "AND server_id = ANY(%s) AND minute >= %s GROUP BY server_id",
            (org, servers, since),
        )
        budgets = await conn.execute(
            "SELECT server_id, count FROM alert_budget_counts WHERE org_id = %s "
            "AND server_id = ANY(%s) AND day = %s",
            (org, servers, now.date()),
        )
        group_rows = await groups.fetchall()
        storm_rows = await storms.fetchall()
        rate_rows = await rates.fetchall()
        budget_rows = await budgets.fetchall()
    for row in group_rows:
        incident = batch.incidents.setdefault(row[0], _incident(row))
        batch.open_by_key[incident.group_key] = incident
    for row in storm_rows:
        incident = batch.incidents.setdefault(row[5], _incident(row[5:]))
        batch.storms[row[0]] = StormRow(row[1], row[2], row[3], row[4])
    batch.rates = {r[0]: int(r[1]) for r in rate_rows}
    batch.budgets = {r[0]: r[1] for r in budget_rows}


async def _write_org(conn: AsyncConnection[Any], batch: OrgBatch) -> None:
    org, now = batch.org_id, batch.now
    new_incidents = [i for i in batch.touched.values() if i.new]
    changed_incidents = [i for i in batch.touched.values() if not i.new]
    async with conn.pipeline():
        cur = conn.cursor()
        if new_incidents:
            await cur.executemany(
                "INSERT INTO incidents (id, org_id, number, title, state, severity, source, "
                "group_key, server_id, manual_mode, manual_reason, storm, ai_state, alert_count, "
                "open_alerts, reopened, first_alert_received_at, last_alert_at, created_at, "
                "updated_at, ai_queued_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, 0, %s, %s, %s, %s, %s)",
                [
                    (
                        i.id,
                        org,
                        i.number,
                        i.title,
                        i.state.value,
                        i.severity.value,
                        i.source,
                        i.group_key,
                        i.server_id,
                        i.manual_mode,
                        i.manual_reason,
                        i.storm,
                        i.ai_state.value,
                        i.alert_count,
                        i.open_alerts,
                        i.first_alert_received_at,
                        i.last_alert_at,
                        now,
                        now,
                        now if i.ai_state is AiState.QUEUED else None,
                    )
                    for i in new_incidents
                ],
            )
        if changed_incidents:
            await cur.executemany(
                "UPDATE incidents SET state = %s, severity = %s, alert_count = %s, "
                "open_alerts = %s, reopened = %s, last_alert_at = %s, resolved_at = %s, "
                "resolved_by = %s, acknowledged_at = %s, acknowledged_by = %s, updated_at = %s "
                "WHERE id = %s",
                [
                    (
                        i.state.value,
                        i.severity.value,
                        i.alert_count,
                        i.open_alerts,
                        i.reopened,
                        i.last_alert_at,
                        i.resolved_at,
                        i.resolved_by,
                        i.acknowledged_at,
                        i.acknowledged_by,
                        now,
                        i.id,
                    )
                    for i in changed_incidents
                ],
            )
        new_alerts = [a for a in batch.alert_rows if a.new]
        changed_alerts = [a for a in batch.alert_rows if not a.new]
        if new_alerts:
            await cur.executemany(
                "INSERT INTO alerts (id, org_id, incident_id, integration_id, source, fingerprint, "
                "status, severity, title, description, labels, annotations, host_hints, "
                "server_id, source_url, starts_at, ends_at, raw, count, first_seen_at, "
                "last_seen_at, resolved_at, suppressed_by) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [_alert_insert(org, a, now) for a in new_alerts],
            )
        if changed_alerts:
            await cur.executemany(
                "UPDATE alerts SET status = %s, severity = %s, title = %s, description = %s, "
                "labels = %s, annotations = %s, server_id = coalesce(%s, server_id), "
                "source_url = %s, ends_at = %s, raw = %s, count = %s, last_seen_at = %s, "
                "resolved_at = %s WHERE id = %s",
                [_alert_update(a) for a in changed_alerts],
            )
        if batch.events:
            await cur.executemany(
                "INSERT INTO incident_events (org_id, incident_id, kind, actor, detail, data, at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (org, i, k, actor, clean(d), Jsonb(clean(data)), now)
                    for i, k, actor, d, data in batch.events
                ],
            )
        if batch.rate_delta:
            await cur.executemany(
                "INSERT INTO alert_rates (org_id, server_id, minute, count) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (org_id, server_id, minute) "
                "DO UPDATE SET count = alert_rates.count + EXCLUDED.count",
                [(org, s, _minute(now), n) for s, n in batch.rate_delta.items()],
            )
            await cur.executemany(
                "INSERT INTO alert_budget_counts (org_id, server_id, day, count) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (org_id, server_id, day) "
                "DO UPDATE SET count = alert_budget_counts.count + EXCLUDED.count",
                [(org, s, now.date(), n) for s, n in batch.budget_delta.items()],
            )
        for server_id, storm in batch.storms.items():
            if storm.new:
                await cur.execute(
                    "INSERT INTO storms (id, org_id, server_id, incident_id, alerts, started_at, "
                    "last_alert_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        storm.id,
                        org,
                        server_id,
                        storm.incident_id,
                        storm.alerts,
                        now,
                        storm.last_alert_at,
                    ),
                )
            else:
                await cur.execute(
                    "UPDATE storms SET alerts = %s, last_alert_at = %s WHERE id = %s",
                    (storm.alerts, storm.last_alert_at, storm.id),
                )
        if batch.org_events:
            await cur.executemany(
                "INSERT INTO org_events (org_id, kind, severity, detail, server_id, incident_id, at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(org, *event, now) for event in batch.org_events],
            )
        if batch.integration_counts:
            await cur.executemany(
                "UPDATE integrations SET alerts_received = alerts_received + %s, "
                "last_alert_at = %s WHERE id = %s",
                [(n, now, i) for i, n in batch.integration_counts.items()],
            )
        await cur.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(org)))


def _alert_insert(org: uuid.UUID, a: AlertRow, now: datetime) -> tuple[Any, ...]:
    v = a.values
    return (
        a.id,
        org,
        a.incident_id,
        v["integration_id"],
        v["source"],
        a.fingerprint,
        v["status"],
        v["severity"],
        v["title"],
        v["description"],
        Jsonb(v["labels"]),
        Jsonb(v["annotations"]),
        v["host_hints"],
        v["server_id"],
        v["source_url"],
        v["starts_at"],
        v["ends_at"],
        Jsonb(v["raw"]),
        a.count,
        now,
        v["last_seen_at"],
        v["resolved_at"],
        a.suppressed_by,
    )


def _alert_update(a: AlertRow) -> tuple[Any, ...]:
    v = a.values
    return (
        v["status"],
        v["severity"],
        v["title"],
        v["description"],
        Jsonb(v["labels"]),
        Jsonb(v["annotations"]),
        v["server_id"],
        v["source_url"],
        v["ends_at"],
        Jsonb(v["raw"]),
        a.count,
        v["last_seen_at"],
        v["resolved_at"],
        a.id,
    )


async def store(conn: AsyncConnection[Any], submissions: Sequence[Submission]) -> list[Outcome]:
    """Store ``submissions`` in the connection's open transaction (the caller commits)."""
    by_org: dict[uuid.UUID, list[int]] = {}
    for index, submission in enumerate(submissions):
        by_org.setdefault(submission.org_id, []).append(index)
    outcomes: list[Outcome | None] = [None] * len(submissions)
    now = datetime.now(UTC)
    for org_id in sorted(by_org):
        indexes = by_org[org_id]
        alerts = [a for i in indexes for a in submissions[i].alerts]
        batch = OrgBatch(org_id=org_id, now=now)
        await _read_org(conn, batch, sorted({a.fingerprint for a in alerts}))
        await _read_groups(conn, batch, alerts)
        for i in indexes:
            alert_ids, incident_ids, suppressed = batch.apply(submissions[i])
            queued = tuple(
                x
                for x in incident_ids
                if batch.incidents[x].new and batch.incidents[x].ai_state is AiState.QUEUED
            )
            outcomes[i] = Outcome(tuple(alert_ids), tuple(incident_ids), suppressed, queued)
        batch.budget_events()
        await _write_org(conn, batch)
    return [o for o in outcomes if o is not None]


# ---- the batching writer -------------------------------------------------------------------


Committed = Callable[[Sequence[Submission], Sequence[Outcome]], Awaitable[None]]


class IngestWriter:
    """Gathers concurrent submissions into shared transactions (group commit)."""

    def __init__(
        self,
        app_url: Any,
        *,
        workers: int = 2,
        pool_size: int = 4,
        on_committed: Committed | None = None,
    ) -> None:
        self._pool = AsyncConnectionPool(
            libpq_url(app_url), min_size=1, max_size=pool_size, open=False, name="vixpro-ingest"
        )
        self._queue: asyncio.Queue[tuple[Submission, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._after_tasks: set[asyncio.Task[None]] = set()
        self.on_committed = on_committed

    async def start(self) -> None:
        await self._pool.open()
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._after_tasks:
            await asyncio.gather(*self._after_tasks, return_exceptions=True)
        await self._pool.close()

    async def submit(self, submission: Submission) -> Outcome:
        """Store one request's alerts; returns once they are committed."""
        if not self._tasks:
            raise RuntimeError("the ingest writer is not running")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put((submission, future))
        return await future

    async def _work(self) -> None:
        while True:
            first = await self._queue.get()
            items = [first]
            size = len(first[0].alerts)
            while size < MAX_BATCH_ALERTS and not self._queue.empty():
                item = self._queue.get_nowait()
                items.append(item)
                size += len(item[0].alerts)
            await self._commit(items)

    async def _commit(self, items: list[tuple[Submission, asyncio.Future[Outcome]]]) -> None:
        try:
            outcomes = await self._transaction([s for s, _ in items])
        except Exception as exc:
            if len(items) == 1:
                log.warning("alerts could not be stored: %s", type(exc).__name__)
                _settle(items[0][1], exc=StoreError(_describe(exc)))
                return
            # One bad submission must not sink the others: store them one by one.
            for item in items:
                await self._commit([item])
            return
        for (_, future), outcome in zip(items, outcomes, strict=True):
            _settle(future, outcome=outcome)
        if self.on_committed is not None and any(o.queued_for_ai for o in outcomes):
            # In the background, so that the next batch does not wait for it.
            task = asyncio.create_task(self._after([s for s, _ in items], outcomes))  # noqa: RUF006 - kept in self._after_tasks
            self._after_tasks.add(task)
            task.add_done_callback(self._after_tasks.discard)

    async def _after(self, submissions: list[Submission], outcomes: list[Outcome]) -> None:
        assert self.on_committed is not None
        try:
            await self.on_committed(submissions, outcomes)
        except Exception:
            log.exception("after-commit hook failed; the sweep will pick the incidents up")

    async def _transaction(self, submissions: list[Submission]) -> list[Outcome]:
        async with self._pool.connection() as conn, conn.transaction():
            return await store(conn, submissions)


def _settle(
    future: asyncio.Future[Outcome], *, outcome: Outcome | None = None, exc: Exception | None = None
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert outcome is not None
        future.set_result(outcome)


def _describe(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"the alerts could not be stored: {text[:300]}"
