"""Statistics for tables that grow fast: analysed after 2 % new rows (at least 500).

The default (10 %) lets an organisation's tables grow far past what the planner believes
between two ANALYZEs, and the hot paths run on cached plans that are made again only when a
table is analysed. An ANALYZE samples a fixed number of rows, so analysing more often costs
the same whatever the table's size. Used by migrations.
"""

from __future__ import annotations


def analyze_often(table: str) -> str:
    return (
        f"ALTER TABLE {table} SET (autovacuum_analyze_scale_factor = 0.02, "
        "autovacuum_analyze_threshold = 500)"
    )


def analyze_as_default(table: str) -> str:
    return (
        f"ALTER TABLE {table} RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)"
    )
