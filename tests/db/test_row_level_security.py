"""Tenant isolation, proved against the real database roles.

Every table with an ``org_id`` column is found by asking PostgreSQL, so tables added by later
capabilities are covered without editing this file: they only need rows in ``_seed`` (a table
with no rows for both organisations fails the test and says so).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from sqlalchemy import text
from vixpro_agent.protocol import signing

from tests.conftest import Factory, OrgInfo
from tests.db import seeds
from vixpro.accounts import audit, invitations, ratelimit
from vixpro.accounts.plans import org_plan
from vixpro.accounts.principal import CLI, Principal
from vixpro.ai import reactive
from vixpro.core.alerts import NormalizedAlert, Severity, Status
from vixpro.core.roles import Role
from vixpro.db.action_items import raise_action_item
from vixpro.db.sessions import Database
from vixpro.db.urls import DatabaseUrls, libpq_url
from vixpro.incidents import integrations, maintenance, rejected
from vixpro.incidents import settings as incident_settings
from vixpro.incidents.ingest import Submission
from vixpro.tools import catalogue, servers
from vixpro.tools.executions import Requester
from vixpro.web.state import AppState

# Tables without org_id that still hold tenant data and are isolated by their own policy.
OTHER_ISOLATED = {"organisations": "id"}


def tenant_tables(urls: DatabaseUrls) -> list[str]:
    with psycopg.connect(libpq_url(urls.owner)) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'org_id' ORDER BY table_name"
        ).fetchall()
    return [r[0] for r in rows]


async def _seed(state: AppState, factory: Factory, org: OrgInfo) -> None:
    """At least one row per tenant table for ``org``, made through the real services."""
    db = state.db
    assert state.signer is not None and state.manifest is not None
    await factory.api_key(org)
    async with db.tenant_session(org.org_id) as session:
        principal = await _owner_principal(db, org)
        await invitations.invite(
            session,
            principal,
            f"x-{uuid.uuid4().hex[:6]}@example.com",
            "member",
            timedelta(hours=1),
        )
        await audit.record(session, CLI, "test.seeded", org_id=org.org_id)
    await ratelimit.RequestCounter(db).take(principal)
    # Servers and tools: a token, an enrolment, an event, a permission, a run awaiting approval.
    async with db.tenant_session(org.org_id) as session:
        issued = await servers.create_enrollment_token(session, CLI, org.org_id, None)
    async with db.system_session("test") as session:
        answer = await servers.enroll(
            session,
            state.signer,
            state.manifest,
            token=issued.token,
            public_key=signing.public_pem(signing.generate_private_key()),
            facts={},
            platform_url="http://127.0.0.1",
            ip=None,
        )
    server_id = uuid.UUID(answer["server_id"])
    async with db.tenant_session(org.org_id) as session:
        await catalogue.set_permissions(
            session,
            principal,
            state.manifest,
            "restart_service",
            enabled=True,
            approval_required=True,
        )
        await raise_action_item(session, org.org_id, "seed", "crashed", "seeded", "seeded")
    await state.runner.request(
        org.org_id,
        Requester(CLI),
        state.manifest,
        server_id,
        "restart_service",
        {"unit": "nginx.service"},
    )
    await state.hub.presence.tampered(server_id, "seeded")
    await _seed_incidents(state, org, server_id)
    for seed in seeds.SEEDERS:
        await seed(state, org.org_id, server_id, principal)


async def _seed_incidents(state: AppState, org: OrgInfo, server_id: uuid.UUID) -> None:
    """Integrations, settings, a window, a rejected payload, and a storm of alerts."""
    db = state.db
    principal = await _owner_principal(db, org)
    async with db.tenant_session(org.org_id) as session:
        view = await integrations.create(
            session, principal, state.settings.master_key_bytes(), source="generic", name="s"
        )
        await incident_settings.update(session, principal, {"storm_threshold": 2})
        now = datetime.now(UTC)
        await maintenance.create(
            session,
            principal,
            reason="seeded",
            starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=1, hours=1),
            scope="all",
        )
        await rejected.keep(
            session,
            org_id=org.org_id,
            integration_id=view.id,
            source="generic",
            reason="seeded",
            content_type="text/plain",
            headers={},
            body=b"seeded",
        )
    async with db.tenant_session(org.org_id) as session:
        name = (await servers.get_server(session, server_id)).name
    alerts = tuple(
        NormalizedAlert(
            "generic", f"seed-{i}", Status.FIRING, Severity.WARNING, f"seed {i}", host_hints=(name,)
        )
        for i in range(4)
    )
    outcome = await state.ingest.submit(Submission(org.org_id, view.id, alerts))
    assert outcome.incident_ids
    await reactive.diagnose_incident(db, None, None, org.org_id, outcome.incident_ids[0])


async def _owner_principal(db: Database, org: OrgInfo) -> Principal:
    async with db.system_session("test") as session:
        plan = await org_plan(session, org.org_id)
    return Principal(
        kind="user",
        org_id=org.org_id,
        org_name=org.name,
        role=Role.OWNER,
        plan=plan,
        label=org.owner_email,
        user_id=org.owner_id,
    )


@pytest.fixture(scope="module")
async def two_orgs(state: AppState, factory: Factory) -> tuple[OrgInfo, OrgInfo]:
    a, b = await factory.org(), await factory.org()
    await _seed(state, factory, a)
    await _seed(state, factory, b)
    return a, b


def app_conn(urls: DatabaseUrls) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(libpq_url(urls.app), row_factory=dict_row)


def as_tenant(conn: psycopg.Connection[Any], org: uuid.UUID | None) -> None:
    conn.execute("SELECT set_config('app.org_id', %s, true)", (str(org) if org else "",))


def test_app_role_is_neither_superuser_nor_owner_nor_bypassrls(db_urls: DatabaseUrls) -> None:
    with app_conn(db_urls) as conn:
        role = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert role == {"rolsuper": False, "rolbypassrls": False, "rolcreaterole": False}
        owned = conn.execute(
            "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' "
            "AND tableowner = current_user"
        ).fetchone()
        assert owned == {"n": 0}


def test_every_tenant_table_forces_row_level_security(db_urls: DatabaseUrls) -> None:
    tables = tenant_tables(db_urls) + list(OTHER_ISOLATED)
    assert {"memberships", "invitations", "api_keys", "audit_events"} <= set(tables)
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        for table in tables:
            row = conn.execute(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
                (table,),
            ).fetchone()
            assert row == (True, True), f"{table} must ENABLE and FORCE row level security"
            policies = conn.execute(
                "SELECT count(*) FROM pg_policies WHERE tablename = %s", (table,)
            ).fetchone()
            assert policies and policies[0] >= 1, f"{table} has no policy"


async def test_no_org_set_sees_no_rows(db_urls: DatabaseUrls, two_orgs) -> None:
    with app_conn(db_urls) as conn:
        for table, _ in [(t, "org_id") for t in tenant_tables(db_urls)] + list(
            OTHER_ISOLATED.items()
        ):
            as_tenant(conn, None)
            count = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
            assert count == {"n": 0}, f"{table} leaks rows with no organisation set"
            conn.rollback()


async def test_each_org_sees_only_its_own_rows(db_urls: DatabaseUrls, two_orgs) -> None:
    a, b = two_orgs
    with psycopg.connect(libpq_url(db_urls.owner)) as owner, app_conn(db_urls) as conn:
        for table in tenant_tables(db_urls):
            for org in (a, b):
                present = owner.execute(
                    f"SELECT count(*) FROM {table} WHERE org_id = %s", (org.org_id,)
                ).fetchone()
                assert present and present[0] > 0, (
                    f"seed at least one {table} row per org in this test's _seed()"
                )
                as_tenant(conn, org.org_id)
                seen = conn.execute(f"SELECT DISTINCT org_id FROM {table}").fetchall()
                assert seen == [{"org_id": org.org_id}], f"{table} shows other orgs' rows"
                conn.rollback()
        as_tenant(conn, a.org_id)
        orgs_seen = conn.execute("SELECT id FROM organisations").fetchall()
        assert orgs_seen == [{"id": a.org_id}]
        conn.rollback()


async def test_cannot_write_another_orgs_rows(db_urls: DatabaseUrls, two_orgs) -> None:
    a, b = two_orgs
    with (
        psycopg.connect(libpq_url(db_urls.owner), row_factory=dict_row) as owner,
        app_conn(db_urls) as conn,
    ):
        for table in tenant_tables(db_urls):
            theirs = owner.execute(
                f"SELECT to_jsonb(t) AS row FROM {table} t WHERE org_id = %s LIMIT 1", (b.org_id,)
            ).fetchone()
            assert theirs is not None
            privileges = conn.execute(
                "SELECT has_table_privilege(current_user, %s, 'UPDATE') AS up, "
                "has_table_privilege(current_user, %s, 'DELETE') AS del, "
                "has_table_privilege(current_user, %s, 'INSERT') AS ins",
                (table, table, table),
            ).fetchone()
            assert privileges is not None
            as_tenant(conn, a.org_id)
            if privileges["up"]:
                updated = conn.execute(
                    f"UPDATE {table} SET org_id = org_id WHERE org_id = %s", (b.org_id,)
                )
                assert updated.rowcount == 0, f"{table}: updated another org's rows"
                # Moving one's own rows into another org is refused too.
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"UPDATE {table} SET org_id = %s", (b.org_id,))
                conn.rollback()
                as_tenant(conn, a.org_id)
            if privileges["del"]:
                deleted = conn.execute(f"DELETE FROM {table} WHERE org_id = %s", (b.org_id,))
                assert deleted.rowcount == 0, f"{table}: deleted another org's rows"
            if privileges["ins"]:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(
                        f"INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, %s)",
                        (json.dumps(theirs["row"]),),
                    )
            conn.rollback()


async def test_system_role_crosses_orgs_and_app_role_cannot_read_logins(
    db_urls: DatabaseUrls, two_orgs
) -> None:
    a, b = two_orgs
    with psycopg.connect(libpq_url(db_urls.system)) as conn:
        seen = {r[0] for r in conn.execute("SELECT org_id FROM memberships").fetchall()}
        assert {a.org_id, b.org_id} <= seen
    with app_conn(db_urls) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM login_sessions")


async def test_audit_trail_is_append_only_for_the_app(db_urls: DatabaseUrls, two_orgs) -> None:
    a, _ = two_orgs
    with app_conn(db_urls) as conn:
        as_tenant(conn, a.org_id)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit_events")


async def test_users_visible_only_through_membership(db_urls: DatabaseUrls, two_orgs) -> None:
    a, b = two_orgs
    with app_conn(db_urls) as conn:
        as_tenant(conn, a.org_id)
        emails = {r["email"] for r in conn.execute("SELECT email FROM users").fetchall()}
        assert a.owner_email in emails
        assert b.owner_email not in emails


def test_tenant_session_sets_org_only_for_its_transaction(db_urls: DatabaseUrls) -> None:
    with app_conn(db_urls) as conn:
        as_tenant(conn, uuid.uuid4())
        conn.commit()
        value = conn.execute("SELECT current_setting('app.org_id', true) AS v").fetchone()
        assert value in ({"v": ""}, {"v": None})


async def test_tenant_pipeline_sees_only_its_org_and_ends_its_setting(
    state: AppState, two_orgs: tuple[OrgInfo, OrgInfo]
) -> None:
    a, b = two_orgs
    async with state.db.tenant_pipeline(a.org_id) as conn:
        orgs = await conn.execute("SELECT DISTINCT org_id FROM incidents")
        mine = await conn.execute("SELECT id FROM organisations")
    assert {r[0] for r in await orgs.fetchall()} == {a.org_id}
    assert [r[0] for r in await mine.fetchall()] == [a.org_id]
    async with state.db.tenant_pipeline(b.org_id) as conn:
        other = await conn.execute("SELECT count(*) FROM incidents WHERE org_id = %s", (a.org_id,))
    assert (await other.fetchall()) == [(0,)]


async def test_tenant_pipeline_rolls_back_whole_on_an_error(
    state: AppState, two_orgs: tuple[OrgInfo, OrgInfo]
) -> None:
    a, _ = two_orgs
    async with state.db.tenant_session(a.org_id) as session:
        before = (await session.execute(text("SELECT count(*) FROM org_events"))).scalar()
    with pytest.raises(psycopg.errors.DivisionByZero):
        async with state.db.tenant_pipeline(a.org_id) as conn:
            await conn.execute(
                "INSERT INTO org_events (org_id, kind, severity, detail) "
                "VALUES (%s, 'test', 'info', 'rolled back')",
                (a.org_id,),
            )
            await conn.execute("SELECT 1 / 0")
    async with state.db.tenant_session(a.org_id) as session:
        after = (await session.execute(text("SELECT count(*) FROM org_events"))).scalar()
    assert after == before
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # another org's row: refused
        async with state.db.tenant_pipeline(a.org_id) as conn:
            await conn.execute(
                "INSERT INTO org_events (org_id, kind, severity, detail) "
                "VALUES (%s, 'test', 'info', 'not mine')",
                (uuid.uuid4(),),
            )
