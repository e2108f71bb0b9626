"""analyse the tool-call tables after 2 % of new rows instead of 10 %

Every tool call adds a ``tool_executions`` row and an ``audit_events`` row, and the hot path's
statements run on cached generic plans that are made again when a table is analysed. While a
table grows faster than the default thresholds re-analyse it, those plans keep the row counts
of a much smaller table. Analysing after 2 % of new rows (and at least 500), as migration 0010
does for the ingest tables, keeps them current; an ANALYZE samples a fixed number of rows, so
it costs the same whatever the table's size.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

from vixpro.db.analyze import analyze_as_default, analyze_often

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("tool_executions", "audit_events")


def upgrade() -> None:
    for table in TABLES:
        op.execute(analyze_often(table))


def downgrade() -> None:
    for table in TABLES:
        op.execute(analyze_as_default(table))
