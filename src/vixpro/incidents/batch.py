"""One organisation's part of an ingest transaction: what was read, what is decided.

Pure Python over rows already read; ``storage`` reads and writes them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vixpro.core import ids
from vixpro.core.alerts import NormalizedAlert, Status, Tier, tier_of
from vixpro.core.incidents import (
    AiState,
    Rules,
    State,
    Window,
    covering_window,
    group_key,
    is_flap,
    joins_incident,
    over_budget,
    storm_begins,
)
from vixpro.incidents.matching import ServerIndex


@dataclass(frozen=True, slots=True)
class Submission:
    org_id: uuid.UUID
    integration_id: uuid.UUID | None
    alerts: tuple[NormalizedAlert, ...]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # False when the sender's body cannot hold what PostgreSQL refuses (no NUL escape, no
    # NaN or Infinity): the alerts' text is stored as it is, without a cleaning pass.
    needs_cleaning: bool = True


def body_needs_cleaning(body: bytes) -> bool:
    """Whether what is parsed from ``body`` may hold NUL characters (a JSON escape, a raw
    byte, a form-encoded one) or non-finite numbers. Five substring searches take half the
    time of one regular expression with five alternatives."""
    return (
        b"\x00" in body
        or b"\\u0000" in body
        or b"%00" in body
        or b"NaN" in body
        or b"Infinity" in body
    )


class StoreError(Exception):
    """The database refused what was submitted; the message says why."""


def _as_is(value: Any) -> Any:
    return value


def cleaner(needed: bool) -> Callable[[Any], Any]:
    """``clean`` where text may hold what PostgreSQL refuses, else the value as it is."""
    return clean if needed else _as_is


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
    # This batch moved its state (reopened, acknowledged or resolved it): only then are the
    # state and its stamps written back, so a person's action that committed after the
    # batch read the incident is not undone by a batch that merely counted alerts.
    moved: bool = False
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


def incident_row(row: Sequence[Any]) -> IncidentRow:
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
    # Alerts that joined an existing incident, per incident: one timeline entry per batch.
    added: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = field(default_factory=dict)
    alert_rows: list[AlertRow] = field(default_factory=list)
    touched: dict[uuid.UUID, IncidentRow] = field(default_factory=dict)
    # Whether a submission applied may hold text PostgreSQL refuses: timeline entries quote
    # alert titles, so they are cleaned before they are written only then.
    unclean: bool = False

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
        if submission.needs_cleaning:
            self.unclean = True
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
        c = cleaner(submission.needs_cleaning)
        return {
            "integration_id": submission.integration_id,
            "source": alert.source,
            "status": alert.status.value,
            "severity": alert.severity.value,
            "title": c(alert.title)[:500],
            "description": c(alert.description),
            "labels": c(dict(alert.labels)),
            "annotations": c(dict(alert.annotations)),
            "host_hints": c(list(alert.host_hints)),
            "server_id": server_id,
            "source_url": c(alert.source_url) if alert.source_url else None,
            "starts_at": alert.starts_at,
            "ends_at": alert.ends_at,
            "raw": c(dict(alert.raw)),
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
            id=ids.uuid4(),
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
            incident.moved = True
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
            incident.moved = True
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
        incident.moved = True
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
            self.added.setdefault(incident.id, []).append((row.id, alert.title))
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
            id=ids.uuid4(),
            number=self.next_number,
            title=cleaner(submission.needs_cleaning)(title or alert.title)[:500],
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
        storm = StormRow(ids.uuid4(), incident.id, 0, self.now, new=True)
        self.storms[server_id] = storm
        return storm

    def finish(self) -> None:
        """The decisions that summarise the batch: joined alerts, budget crossings."""
        for incident_id, joined in self.added.items():
            incident = self.incidents[incident_id]
            titles = [title for _, title in joined]
            if len(joined) == 1:
                detail = f"Alert added: {titles[0]}"
            else:
                shown = ", ".join(titles[:3])
                more = f" and {len(titles) - 3} more" if len(titles) > 3 else ""
                detail = f"{len(joined)} alerts added: {shown}{more}"
            ids = [str(alert_id) for alert_id, _ in joined[:50]]
            self.event(incident, "alert", detail, {"alert_ids": ids, "count": len(joined)})
        self.budget_events()

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


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)
