"""The ingest writer's statements must probe by key, whichever organisation they serve and however
stale the statistics: an organisation that floods alerts grows its rows faster than ANALYZE runs.

Each statement is planned as the writer sends it (with its values, no prepared statement) and
also as a generic plan, for one large organisation and one small, after the tables grew
twenty-fold since they were last analysed.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.conftest import Factory, owner_dsn
from vixpro.db.rowdoc import text_list
from vixpro.db.urls import DatabaseUrls, libpq_url
from vixpro.incidents import storage

_PARAM = re.compile(r"%\((\w+)\)s|%s")


def dollar(query: str) -> str:
    """``query`` with psycopg's placeholders turned into PostgreSQL's ``$n``."""
    names: dict[str, int] = {}
    position = 0

    def number(match: re.Match[str]) -> str:
        nonlocal position
        if match.group(1) is None:
            position += 1
            return f"${position}"
        return f"${names.setdefault(match.group(1), len(names) + 1)}"

    return _PARAM.sub(number, query)


STATEMENTS = {
    "rules": storage._ORG_SELECT,
    "windows": storage._WINDOWS_SELECT,
    "current alerts": storage.CURRENT_SELECT,
    "open incidents by group": storage.GROUP_SELECT,
    "storms": storage._STORMS_SELECT,
    "rates": storage._RATES_SELECT,
    "budgets": storage._BUDGETS_SELECT,
    "incident updates": storage._UPDATE_INCIDENTS,
    "alert updates": storage._UPDATE_ALERTS,
    "storm updates": storage._UPDATE_STORMS,
    "startable": storage._STARTABLE,
}

# Indexes that lead with the organisation alone: probing one of them for a row by key reads
# every row of the organisation.
ORG_WIDE = ("ix_incidents_org_number", "ix_incidents_org_created")


def _grow(conn: psycopg.Connection[Any], org: uuid.UUID, incidents: int, first: int) -> None:
    conn.execute(
        """
        WITH i AS (
            INSERT INTO incidents (id, org_id, number, title, state, severity, source, group_key,
                manual_mode, storm, ai_state, alert_count, open_alerts, reopened,
                first_alert_received_at, last_alert_at, created_at, updated_at)
            SELECT gen_random_uuid(), %(org)s, n, 'grown', 'open', 'normal', 'alertmanager',
                'fp:' || n, false, false, 'ineligible', 1, 1, 0, now(), now(), now(), now()
            FROM generate_series(%(first)s::int, %(last)s::int) AS n
            RETURNING id, group_key
        )
        INSERT INTO alerts (id, org_id, incident_id, source, fingerprint, status, severity, title,
            description, labels, annotations, host_hints, raw, count, first_seen_at,
            last_seen_at)
        SELECT gen_random_uuid(), %(org)s, i.id, 'alertmanager', substr(i.group_key, 4),
            'firing', 'warning', 'grown', '', '{}', '{}', '{}', '{}', 1, now(), now()
        FROM i
        """,
        {"org": org, "first": first, "last": first + incidents - 1},
    )


def _storms(conn: psycopg.Connection[Any], org: uuid.UUID, servers: int) -> None:
    """``servers`` enrolled servers, each in a storm on one of the organisation's incidents."""
    conn.execute(
        """
        WITH v AS (
            INSERT INTO servers (id, org_id, name, public_key)
            SELECT gen_random_uuid(), %(org)s, 'storm-' || n, 'key'
            FROM generate_series(1, %(servers)s) AS n
            RETURNING id
        ), numbered AS (SELECT id, row_number() OVER () AS n FROM v)
        INSERT INTO storms (id, org_id, server_id, incident_id, alerts, started_at, last_alert_at)
        SELECT gen_random_uuid(), %(org)s, numbered.id, i.id, 25, now(), now()
        FROM numbered JOIN incidents i ON i.org_id = %(org)s AND i.number = numbered.n
        """,
        {"org": org, "servers": servers},
    )


def _values(conn: psycopg.Connection[Any], org: uuid.UUID) -> dict[str, Any]:
    """Parameters as a batch of 20 alerts that re-fire sends them, from servers in a storm."""
    incidents = [
        r[0] for r in conn.execute("SELECT id FROM incidents ORDER BY number DESC LIMIT 20")
    ]
    alerts = conn.execute(
        "SELECT id, fingerprint FROM alerts WHERE incident_id = ANY(%s)", (incidents,)
    ).fetchall()
    now = datetime.now(UTC)
    return {
        "org": org,
        "now": now,
        "day": now.date(),
        "servers": [r[0] for r in conn.execute("SELECT server_id FROM storms")],
        "storm_ids": [r[0] for r in conn.execute("SELECT id FROM storms")],
        "fingerprints": [fp for _, fp in alerts],
        "keys": ["fp:" + fp for _, fp in alerts],
        "ids": incidents,
        # Positional rows (``db.rowdoc``): the id first, the rest left out (null).
        "rows": json.dumps([[str(i)] for i in incidents]),
        "alert_ids": [a for a, _ in alerts],
        "alert_rows": json.dumps([[str(a)] for a, _ in alerts]),
    }


def _arguments(name: str, v: dict[str, Any]) -> Any:
    if name == "current alerts":
        return (text_list(v["fingerprints"]), v["org"], v["org"])
    if name == "open incidents by group":
        return (text_list(v["keys"]), v["org"])
    if name == "alert updates":
        return {**v, "ids": v["alert_ids"], "rows": v["alert_rows"]}
    if name == "storm updates":
        return {
            **v,
            "ids": v["storm_ids"],
            "alerts": [30] * len(v["storm_ids"]),
            "last": [v["now"]] * len(v["storm_ids"]),
        }
    return v


def _plans(urls: DatabaseUrls, org: uuid.UUID) -> dict[str, str]:
    plans = {}
    with psycopg.connect(libpq_url(urls.app), prepare_threshold=None) as conn:
        conn.execute("SELECT set_config('app.org_id', %s, false)", (str(org),))
        values = _values(conn, org)
        for name, query in STATEMENTS.items():
            with_values = conn.execute("EXPLAIN " + query, _arguments(name, values)).fetchall()
            generic = conn.execute("EXPLAIN (GENERIC_PLAN) " + dollar(query)).fetchall()
            plans[name] = "\n".join(r[0] for r in [*with_values, *generic])
    return plans


@pytest.fixture(scope="module")
async def grown(factory: Factory, db_urls: DatabaseUrls) -> tuple[uuid.UUID, uuid.UUID]:
    big = (await factory.org()).org_id
    small = (await factory.org()).org_id
    with psycopg.connect(owner_dsn(db_urls), autocommit=True) as conn:
        _grow(conn, big, 200, 1)
        _grow(conn, small, 20, 1)
        conn.execute("ANALYZE incidents, alerts")
        _grow(conn, big, 4000, 201)
        _storms(conn, big, 50)
        _storms(conn, small, 5)
    return big, small


@pytest.mark.parametrize("which", ["big", "small"])
@pytest.mark.parametrize("name", list(STATEMENTS))
async def test_plans_probe_by_key_on_stale_statistics(
    grown: tuple[uuid.UUID, uuid.UUID], db_urls: DatabaseUrls, name: str, which: str
) -> None:
    org = grown[0] if which == "big" else grown[1]
    plan = _plans(db_urls, org)[name]
    assert "Seq Scan on alerts" not in plan, plan
    assert "Seq Scan on incidents" not in plan, plan
    for index in ORG_WIDE:
        # The next incident number may read the organisation's highest number off the index.
        if name == "rules" and index == "ix_incidents_org_number":
            continue
        for line in plan.splitlines():
            if f"on {index}" in line:
                # Only as one side of a bitmap AND with the keys: read once per statement,
                # never once per row.
                assert "Bitmap Index Scan" in line and "BitmapAnd" in plan, plan


def test_placeholders_become_numbered_parameters() -> None:
    assert dollar("a = %(org)s AND b = %(now)s AND c = %(org)s") == "a = $1 AND b = $2 AND c = $1"
    assert dollar("x = %s AND y = %s") == "x = $1 AND y = $2"


async def test_storms_probe_their_incidents_by_key_on_current_statistics(
    grown: tuple[uuid.UUID, uuid.UUID], db_urls: DatabaseUrls
) -> None:
    # With statistics that know the storms, joining them to incidents by hash reads every
    # incident (1.6 ms at 3,000 incidents, in every ingest transaction of a flood from
    # servers in a storm); one probe by key per storm does not grow with the table.
    with psycopg.connect(owner_dsn(db_urls), autocommit=True) as conn:
        conn.execute("ANALYZE incidents, storms, servers")
    plan = _plans(db_urls, grown[0])["storms"]
    assert "Seq Scan on incidents" not in plan, plan
    assert "Hash" not in plan, plan
