"""analyse the ingest tables after 2 % of new rows instead of 10 %

An organisation that floods alerts grows ``incidents``, ``alerts``, ``incident_events`` and
``notification_outbox`` faster than the default autovacuum thresholds re-analyse them. Until
they are, the planner believes the organisation holds a handful of rows, and a join by
incident id can be planned as a hash of every incident of the organisation (the outbox
trigger's join did: 17 ms for a 100-alert batch at 20,000 incidents, growing with every
alert). Analysing a table after 2 % of new rows (and at least 500) keeps the estimates within a
few percent of the truth; an ANALYZE samples a fixed number of rows, so it costs the same
whatever the table's size.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from vixpro.db.analyze import analyze_as_default, analyze_often

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("incidents", "alerts", "incident_events", "notification_outbox")


def upgrade() -> None:
    for table in TABLES:
        op.execute(analyze_often(table))


def downgrade() -> None:
    for table in TABLES:
        op.execute(analyze_as_default(table))
