"""Apply migrations as the owner, then (re)provision the app and system roles."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from vixpro.db.roles import provision_roles
from vixpro.db.urls import DatabaseUrls, libpq_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["owner_url"] = owner_url
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def upgrade(urls: DatabaseUrls) -> None:
    owner = libpq_url(urls.owner)
    with psycopg.connect(owner, autocommit=True) as conn:
        # One upgrader at a time when several replicas start together.
        conn.execute("SELECT pg_advisory_lock(7412001)")
        try:
            command.upgrade(alembic_config(owner), "head")
            provision_roles(conn, urls)
        finally:
            conn.execute("SELECT pg_advisory_unlock(7412001)")


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
    return None if row is None else str(row[0])
