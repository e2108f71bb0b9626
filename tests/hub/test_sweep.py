"""Silent host agents are marked offline after two minutes, raised once; approvals expire."""

from __future__ import annotations

import uuid

import psycopg
from vixpro_agent.protocol import signing

from tests.conftest import Factory
from vixpro.accounts.principal import CLI
from vixpro.db.urls import libpq_url
from vixpro.hub.presence import Presence
from vixpro.tools import servers
from vixpro.web.state import AppState


async def _enrolled(state: AppState, factory: Factory) -> uuid.UUID:
    org = await factory.org()
    assert state.signer is not None and state.manifest is not None
    async with state.db.tenant_session(org.org_id) as session:
        issued = await servers.create_enrollment_token(session, CLI, org.org_id, None)
    async with state.db.system_session("test") as session:
        answer = await servers.enroll(
            session,
            state.signer,
            state.manifest,
            token=issued.token,
            public_key=signing.public_pem(signing.generate_private_key()),
            facts={"hostname": "quiet"},
            platform_url="http://127.0.0.1",
            ip=None,
        )
    return uuid.UUID(answer["server_id"])


async def test_silent_server_goes_offline_with_one_critical_event(
    state: AppState, factory, db_urls
) -> None:
    server_id = await _enrolled(state, factory)
    presence = Presence(state.db, "a-replica")
    await presence.online(server_id, {"agent_version": "0.1.0", "manifest_version": 1})
    assert await presence.sweep() == 0  # just seen
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        conn.execute(
            "UPDATE servers SET last_seen_at = now() - interval '3 minutes' WHERE id = %s",
            (server_id,),
        )
    assert await presence.sweep() >= 1
    assert await presence.sweep() == 0  # raised once per silence
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        status = conn.execute(
            "SELECT status, replica FROM servers WHERE id = %s", (server_id,)
        ).fetchone()
        events = conn.execute(
            "SELECT kind, severity FROM server_events WHERE server_id = %s", (server_id,)
        ).fetchall()
    assert status == ("offline", None)
    assert events == [("offline", "critical")]


async def test_tamper_report_marks_server_and_raises_once(
    state: AppState, factory, db_urls
) -> None:
    server_id = await _enrolled(state, factory)
    presence = Presence(state.db, "a-replica")
    await presence.tampered(server_id, "config.json signature does not match")
    await presence.tampered(server_id, "again, on reconnect")
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        status = conn.execute("SELECT status FROM servers WHERE id = %s", (server_id,)).fetchone()
        events = conn.execute(
            "SELECT kind, severity FROM server_events WHERE server_id = %s", (server_id,)
        ).fetchall()
    assert status == ("tampered",)
    assert events == [("tampered", "critical")]


async def test_enrolment_tokens_never_look_like_command_line_options(
    state: AppState, factory
) -> None:
    org = await factory.org()
    for _ in range(50):  # a bare URL-safe token starts with "-" one time in 64
        async with state.db.tenant_session(org.org_id) as session:
            issued = await servers.create_enrollment_token(session, CLI, org.org_id, None)
        assert issued.token.startswith("vxe_")
