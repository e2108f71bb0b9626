from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pgserver
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import Factory, OrgInfo
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.accounts.plans import org_plan
from vixpro.accounts.principal import Principal
from vixpro.ai import keys
from vixpro.core.roles import Role
from vixpro.db.sessions import Database
from vixpro.db.urls import DatabaseUrls
from vixpro.sealed import SealError
from vixpro.settings import Settings

SECRET = "sk-ant-api03-TOPSECRETVALUE-xyZ9"


async def principal(db: Database, org: OrgInfo, role: Role = Role.OWNER) -> Principal:
    async with db.system_session("test") as session:
        plan = await org_plan(session, org.org_id)
    return Principal(
        kind="user",
        org_id=org.org_id,
        org_name=org.name,
        role=role,
        plan=plan,
        label=org.owner_email,
        user_id=org.owner_id,
    )


@pytest.fixture(scope="module")
async def org(factory: Factory) -> OrgInfo:
    return await factory.org()


async def test_a_key_is_sealed_shown_by_its_last_four_and_unsealed_only_for_a_run(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    owner = await principal(database, org)
    async with database.tenant_session(org.org_id) as session:
        row = await keys.add(
            session,
            owner,
            settings.master_key_bytes(),
            kind="anthropic",
            label="Claude prod",
            api_key=SECRET,
        )
        shown = keys.view(row)
    assert (shown.kind, shown.kind_title, shown.label, shown.key_last4) == (
        "anthropic",
        "Anthropic (Claude)",
        "Claude prod",
        "xyZ9",
    )
    assert SECRET not in repr(shown)
    async with database.tenant_session(org.org_id) as session:
        stored = await keys.get(session, row.id)
        assert stored.key_sealed is not None and SECRET.encode() not in stored.key_sealed
        spec = keys.spec(stored, settings.master_key_bytes(), model="claude-sonnet-4", timeout_s=30)
    assert (spec.kind, spec.model, spec.api_key, spec.label) == (
        "anthropic",
        "claude-sonnet-4",
        SECRET,
        "Claude prod",
    )
    assert spec.base_url is None and spec.key_id == str(row.id)


async def test_a_sealed_key_copied_to_another_row_does_not_open(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    owner = await principal(database, org)
    master = settings.master_key_bytes()
    async with database.tenant_session(org.org_id) as session:
        a = await keys.add(session, owner, master, kind="openai", label="a", api_key="sk-aaaa1111")
        b = await keys.add(session, owner, master, kind="openai", label="b", api_key="sk-bbbb2222")
        b.key_sealed = a.key_sealed
        with pytest.raises(SealError):
            keys.spec(b, master, model="gpt-4.1", timeout_s=5)
        await session.rollback()


async def test_replacing_a_key_changes_what_is_unsealed_and_the_last_four(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    owner = await principal(database, org)
    master = settings.master_key_bytes()
    async with database.tenant_session(org.org_id) as session:
        row = await keys.add(
            session, owner, master, kind="google", label="Gemini", api_key="AIza-old-0000"
        )
        row = await keys.update(
            session, owner, master, row.id, api_key="AIza-new-4321", label="Gemini 2"
        )
        assert keys.view(row).key_last4 == "4321"
        assert (
            keys.spec(row, master, model="gemini-2.5-pro", timeout_s=5).api_key == "AIza-new-4321"
        )
        assert row.label == "Gemini 2"


async def test_bad_input_names_the_field_and_never_repeats_the_key(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    owner = await principal(database, org)
    master = settings.master_key_bytes()
    cases = [
        ({"kind": "skynet", "label": "x", "api_key": "k"}, "kind"),
        ({"kind": "openai", "label": " ", "api_key": "k"}, "label"),
        ({"kind": "openai", "label": "x", "api_key": ""}, "api_key"),
        ({"kind": "openai", "label": "x", "api_key": "sk-with space-SECRET"}, "api_key"),
        ({"kind": "openai_compatible", "label": "x", "api_key": None}, "base_url"),
        (
            {"kind": "openai", "label": "x", "api_key": "k", "base_url": "ftp://example.com"},
            "base_url",
        ),
    ]
    async with database.tenant_session(org.org_id) as session:
        for fields, field in cases:
            with pytest.raises(InvalidInput) as caught:
                await keys.add(session, owner, master, **fields)  # type: ignore[arg-type]
            assert caught.value.field == field
            assert "SECRET" not in str(caught.value)


async def test_an_openai_compatible_endpoint_may_have_no_key(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    owner = await principal(database, org)
    master = settings.master_key_bytes()
    async with database.tenant_session(org.org_id) as session:
        row = await keys.add(
            session,
            owner,
            master,
            kind="openai_compatible",
            label="Ollama",
            api_key=None,
            base_url="http://127.0.0.1:11434/v1/",
        )
        spec = keys.spec(row, master, model="llama3.1", timeout_s=5)
    assert (row.key_sealed, row.key_last4, row.base_url) == (None, "", "http://127.0.0.1:11434/v1")
    assert spec.api_key == ""


async def test_only_admins_manage_keys(
    database: Database, settings: Settings, org: OrgInfo
) -> None:
    member = await principal(database, org, Role.MEMBER)
    async with database.tenant_session(org.org_id) as session:
        with pytest.raises(Forbidden):
            await keys.add(
                session,
                member,
                settings.master_key_bytes(),
                kind="openai",
                label="x",
                api_key="sk-1",
            )


async def test_another_organisation_cannot_see_or_delete_a_key(
    database: Database, settings: Settings, factory: Factory, org: OrgInfo
) -> None:
    other = await factory.org()
    owner = await principal(database, org)
    async with database.tenant_session(org.org_id) as session:
        row = await keys.add(
            session,
            owner,
            settings.master_key_bytes(),
            kind="xai",
            label="Grok",
            api_key="xai-1234",
        )
    intruder = await principal(database, other)
    async with database.tenant_session(other.org_id) as session:
        assert all(k.id != row.id for k in await keys.list_all(session))
        with pytest.raises(NotFound):
            await keys.delete(session, intruder, row.id)
    async with database.tenant_session(org.org_id) as session:
        await keys.delete(session, owner, row.id)
        with pytest.raises(NotFound):
            await keys.get(session, row.id)


async def test_a_database_dump_holds_no_key(
    database: Database, settings: Settings, org: OrgInfo, db_urls: DatabaseUrls, pg_server_uri: str
) -> None:
    plaintext = f"sk-dumptest-{uuid.uuid4().hex}"
    owner = await principal(database, org)
    async with database.tenant_session(org.org_id) as session:
        await keys.add(
            session,
            owner,
            settings.master_key_bytes(),
            kind="openai",
            label="dump",
            api_key=plaintext,
        )
    async with database.system_session("test: count sealed keys") as session:
        assert (
            await session.scalar(text("SELECT count(*) FROM ai_provider_keys WHERE label = 'dump'"))
            == 1
        )
    pg_dump = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
    dump = subprocess.run(
        [str(pg_dump), "--data-only", "--dbname", _dump_uri(pg_server_uri, db_urls)],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert b"ai_provider_keys" in dump
    assert plaintext.encode() not in dump
    assert plaintext[-12:].encode() not in dump


def _dump_uri(server_uri: str, urls: DatabaseUrls) -> str:
    """The superuser's URI to this module's database: the dump must see every organisation."""
    return (
        make_url(server_uri).set(database=urls.owner.database).render_as_string(hide_password=False)
    )
