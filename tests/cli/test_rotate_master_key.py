"""``vixpro admin rotate-master-key`` as an operator runs it: a real process on the test database."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from tests.ai.test_keys import principal
from tests.conftest import TEST_MASTER_KEY, Factory, OrgInfo
from vixpro.ai import keys
from vixpro.cli.rotate_master_key import new_key
from vixpro.db.models import Integration, PlatformKey
from vixpro.db.models.ai import AIProviderKey
from vixpro.db.models.notify import NotificationChannel
from vixpro.db.sealed_columns import RotationError, rotate
from vixpro.db.sessions import Database
from vixpro.db.urls import DatabaseUrls, libpq_url
from vixpro.incidents import integrations
from vixpro.notify import channels
from vixpro.sealed import SealError, key_id, seal
from vixpro.settings import Settings
from vixpro.tools.signing import PlatformSigner
from vixpro.web.state import AppState

VIXPRO = str(Path(sys.executable).parent / "vixpro")
AI_KEY = "sk-ant-rotation-test-4242"
SIGNING_SECRET = "whsec-rotation-test-7777"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/rotation-test"


def _run(
    urls: DatabaseUrls, data_dir: Path, *args: str, master_key: str | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIXPRO_")}
    # Explicit role URLs: the roles are shared by every test database on this server, and their
    # passwords must not follow the key this process is given.
    env.update(
        VIXPRO_DATA_DIR=str(data_dir),
        VIXPRO_DATABASE_URL=libpq_url(urls.owner),
        VIXPRO_APP_DATABASE_URL=libpq_url(urls.app),
        VIXPRO_SYSTEM_DATABASE_URL=libpq_url(urls.system),
    )
    if master_key is not None:
        env["VIXPRO_MASTER_KEY"] = master_key
    return subprocess.run(
        [VIXPRO, "admin", "rotate-master-key", *args],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


async def _secrets(
    database: Database, db_urls: DatabaseUrls, master_key: bytes, token: str
) -> tuple[str, str | None, str, str]:
    """The AI key, the integration's signing secret, the signer's public key and a Slack
    channel's webhook URL, each read through its own service."""
    integrations.TOKENS.forget(integrations.token_digest(token))
    async with database.system_session("test: read secrets") as session:
        ai_row = (
            await session.scalars(select(AIProviderKey).where(AIProviderKey.label == "rotated"))
        ).one()
        ai_key = keys.spec(ai_row, master_key, model="claude-sonnet-5-5", timeout_s=5).api_key
        signer = await PlatformSigner.load(session, master_key)
        slack_row = (
            await session.scalars(
                select(NotificationChannel).where(NotificationChannel.name == "rotated")
            )
        ).one()
        slack = channels.secret_of(slack_row, master_key)
    async with await psycopg.AsyncConnection.connect(libpq_url(db_urls.system)) as conn:
        resolved = await integrations.resolve(conn, master_key, token)
    assert resolved is not None
    return (
        ai_key,
        resolved.config.signing_secret,
        signer.public_pem,
        str(getattr(slack, "webhook_url", "")),
    )


@pytest.fixture(scope="module")
async def seeded(
    state: AppState, database: Database, settings: Settings, factory: Factory
) -> tuple[OrgInfo, str]:
    """An AI key and an integration with a signing secret; the platform signing key exists already."""
    org = await factory.org()
    owner = await principal(database, org)
    master = settings.master_key_bytes()
    async with database.tenant_session(org.org_id) as session:
        await keys.add(session, owner, master, kind="anthropic", label="rotated", api_key=AI_KEY)
        made = await integrations.create(
            session,
            owner,
            master,
            source="alertmanager",
            name="rotated",
            signing_secret=SIGNING_SECRET,
        )
        await channels.create(
            session, owner, master, kind="slack", name="rotated", secret={"webhook_url": SLACK_URL}
        )
    return org, made.token


async def test_rotation_reseals_everything_and_replaces_the_key_file(
    seeded: tuple[OrgInfo, str],
    database: Database,
    db_urls: DatabaseUrls,
    settings: Settings,
    tmp_path: Path,
) -> None:
    _, token = seeded
    old = settings.master_key_bytes()
    before = await _secrets(database, db_urls, old, token)
    (tmp_path / "master.key").write_text(TEST_MASTER_KEY + "\n")

    done = _run(db_urls, tmp_path, master_key=None)

    assert done.returncode == 0, done.stderr
    new = base64.urlsafe_b64decode((tmp_path / "master.key").read_text().strip())
    assert new != old and len(new) == 32
    assert not (tmp_path / "master.key.new").exists()
    assert "new master key written to" in done.stdout
    assert "ai_provider_keys.key_sealed: " in done.stdout
    assert "integrations.signing_secret_sealed: " in done.stdout
    assert "platform_keys.private_encrypted: 1 re-sealed" in done.stdout
    assert "notification_channels.secret_sealed: " in done.stdout
    assert await _secrets(database, db_urls, new, token) == (
        AI_KEY,
        SIGNING_SECRET,
        before[2],
        SLACK_URL,
    )
    with pytest.raises(SealError):
        await _secrets(database, db_urls, old, token)
    async with database.system_session("test: key ids") as session:
        sealed = [
            *(await session.scalars(select(AIProviderKey.key_sealed))).all(),
            *(await session.scalars(select(Integration.token_sealed))).all(),
            *(await session.scalars(select(PlatformKey.private_encrypted))).all(),
        ]
    assert sealed and all(value is None or value[1:5] == key_id(new) for value in sealed)


def test_an_operators_key_file_is_used_as_given_and_a_missing_one_is_made_private(
    tmp_path: Path,
) -> None:
    given = tmp_path / "operator.key"
    key = os.urandom(32)
    given.write_text(base64.urlsafe_b64encode(key).decode() + "\n")

    assert new_key(given) == (key, False)
    made, generated = new_key(tmp_path / "fresh.key")
    assert generated and len(made) == 32
    assert (tmp_path / "fresh.key").stat().st_mode & 0o777 == 0o600
    assert new_key(tmp_path / "fresh.key") == (made, False)


async def test_a_sealed_column_rotation_does_not_know_stops_it(
    seeded: tuple[OrgInfo, str], database: Database, db_urls: DatabaseUrls
) -> None:
    old = os.urandom(32)
    with psycopg.connect(libpq_url(db_urls.owner), autocommit=True) as conn:
        conn.execute("CREATE TABLE rotation_probe (id int PRIMARY KEY, secret bytea)")
        conn.execute("INSERT INTO rotation_probe VALUES (1, %s)", (seal(old, b"x", b"probe"),))
        conn.execute(f'GRANT SELECT ON rotation_probe TO "{db_urls.system_role}"')
    try:
        async with database.system_session("test: rotation refused") as session:
            with pytest.raises(RotationError, match=r"rotation_probe\.secret"):
                await rotate(session, old, os.urandom(32))
    finally:
        with psycopg.connect(libpq_url(db_urls.owner), autocommit=True) as conn:
            conn.execute("DROP TABLE rotation_probe")
