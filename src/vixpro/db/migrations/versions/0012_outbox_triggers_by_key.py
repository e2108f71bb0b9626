"""outbox triggers look incidents, executions and servers up by primary key, row by row

The statement-level triggers that copy timeline entries and approvals into the notification
outbox joined their transition table to ``incidents`` (or ``tool_executions`` and ``servers``).
A trigger's query runs on a cached plan, and the planner takes a transition table for many rows:
while an organisation's tables were small, or not yet analysed, the plan hashed every incident
of the organisation for each statement (17 ms for a 100-row statement at 20,000 incidents,
growing with every alert). Here each row's incident, execution and server are looked up by
primary key in a ``LATERAL`` subquery that the planner cannot flatten (``OFFSET 0``), so the
cost is per row announced, whatever the statistics say; rows whose kind is never announced
are skipped before any lookup.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_INCIDENT_EVENTS = """
CREATE OR REPLACE FUNCTION notify_incident_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_outbox (org_id, kind, subject_id, title, body, link, data)
    SELECT n.org_id, k.kind, i.id,
           left(format('#%s %s: %s', i.number, k.verb, i.title), 255),
           left(n.detail, 4000),
           '/incidents/' || i.id,
           jsonb_build_object(
               'incident_id', i.id, 'incident_number', i.number, 'incident_title', i.title,
               'severity', i.severity, 'source', i.source, 'event', n.kind,
               'event_id', n.id, 'actor', n.actor)
    FROM new_rows n
    CROSS JOIN LATERAL (
        SELECT x.id, x.number, x.title, x.severity, x.source
        FROM incidents x WHERE x.id = n.incident_id OFFSET 0
    ) i
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN n.kind IN ('opened', 'reopened') AND i.source = 'vixpro'
                 AND i.title LIKE 'Host agent offline%' THEN 'hostagent.offline'
            WHEN n.kind IN ('opened', 'reopened') AND i.source = 'vixpro'
                 AND i.title LIKE 'Host agent config tampered%' THEN 'hostagent.tampered'
            WHEN n.kind IN ('opened', 'reopened') THEN 'incident.opened'
            WHEN n.kind = 'acknowledged' THEN 'incident.acknowledged'
            WHEN n.kind = 'resolved' THEN 'incident.resolved'
            WHEN n.kind = 'diagnosis' THEN 'diagnosis.ready'
            WHEN n.kind = 'escalated' THEN 'diagnosis.escalated'
        END AS kind,
        CASE n.kind WHEN 'diagnosis' THEN 'diagnosed' ELSE n.kind END AS verb
    ) k
    WHERE n.kind IN ('opened', 'reopened', 'acknowledged', 'resolved', 'diagnosis', 'escalated')
      AND k.kind IS NOT NULL;
    RETURN NULL;
END $$;
"""

_APPROVALS = """
CREATE OR REPLACE FUNCTION notify_approvals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_outbox (org_id, kind, subject_id, title, body, link, data)
    SELECT a.org_id, 'approval.requested', a.id,
           left(format('Approval requested: %s on %s', e.tool, coalesce(s.name, 'a server')), 255),
           left(format('%s asked to run %s; it waits for an owner or admin until %s.',
                       e.requested_by_label, e.tool,
                       to_char(a.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')), 4000),
           '/approvals',
           jsonb_build_object('approval_id', a.id, 'execution_id', e.id, 'tool', e.tool,
                              'server_id', e.server_id, 'incident_id', e.incident_id)
    FROM new_rows a
    CROSS JOIN LATERAL (
        SELECT x.id, x.tool, x.requested_by_label, x.server_id, x.incident_id
        FROM tool_executions x WHERE x.id = a.execution_id OFFSET 0
    ) e
    LEFT JOIN LATERAL (
        SELECT y.name FROM servers y WHERE y.id = e.server_id OFFSET 0
    ) s ON true
    WHERE a.state = 'pending';
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(_INCIDENT_EVENTS)
    op.execute(_APPROVALS)


def downgrade() -> None:
    first = importlib.import_module("vixpro.db.migrations.versions.0005_notifications")
    op.execute("DROP TRIGGER notify_incident_events ON incident_events")
    op.execute("DROP FUNCTION notify_incident_events()")
    op.execute(first._INCIDENT_EVENTS_TRIGGER)
    op.execute("DROP TRIGGER notify_approvals ON approvals")
    op.execute("DROP FUNCTION notify_approvals()")
    op.execute(first._APPROVALS_TRIGGER)
