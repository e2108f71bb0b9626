"""drop ix_alerts_org_seen: no query reads alerts by organisation and recency

The ingest path finds each fingerprint's latest alert through ``ix_alerts_org_fingerprint``
(organisation, fingerprint, last seen). While an organisation's alerts grow faster than
ANALYZE runs, the planner's estimate of its rows is tiny and it preferred this index instead,
filtering every alert of the organisation once per fingerprint: a cost per webhook that grew
with the organisation's history. Nothing else used the index, and every alert paid to keep it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_alerts_org_seen", table_name="alerts")


def downgrade() -> None:
    op.create_index("ix_alerts_org_seen", "alerts", ["org_id", "last_seen_at"], unique=False)
