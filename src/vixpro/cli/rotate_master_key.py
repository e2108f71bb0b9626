"""``vixpro admin rotate-master-key``: re-seal every secret in the database under a new master key.

The current key (from settings) is the old one. The new one is read from ``--new-key-file``, or,
if that file does not exist, generated and written there (mode 0600) first, so the new key is on
disk before anything is sealed under it. Everything is re-sealed in one transaction: either every
value moves to the new key or none does.

Then the configuration switches: when the key lives in the data directory (``master.key``, the
default), that file is replaced atomically and running processes, which read it on each use,
follow at once. When the key comes from ``VIXPRO_MASTER_KEY`` (or ``..._FILE``), the operator
points it at the new key and restarts every VixPro process; until then they cannot open secrets.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from vixpro.cli.runtime import database
from vixpro.db.migrate import upgrade
from vixpro.db.sealed_columns import RotationError, rotate
from vixpro.db.sessions import Database
from vixpro.settings import Settings, SettingsError, decode_master_key


def _write_secret(path: Path, encoded: str) -> None:
    """Write ``encoded`` to ``path`` (0600) through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encoded + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def new_key(path: Path) -> tuple[bytes, bool]:
    """(the key in ``path``, whether it was generated now)."""
    if path.exists():
        return decode_master_key(path.read_text().strip(), str(path)), False
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    _write_secret(path, encoded)
    return decode_master_key(encoded, str(path)), True


def command(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            help="the new key (32 bytes, base64); generated and written here if the file does not "
            "exist. Default: master.key.new in the data directory."
        ),
    ] = None,
) -> None:
    """Re-seal every secret (AI keys, integration tokens, channel secrets, the signing key) under a new master key."""
    settings = Settings()
    key_in_data_dir = settings.master_key is None
    try:
        old = settings.master_key_bytes()
        path = new_key_file or settings.data_dir / "master.key.new"
        new, generated = new_key(path)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if generated:
        typer.echo(f"new master key written to {path}")

    with database(settings) as urls:
        upgrade(urls)

        async def go() -> dict[str, int]:
            db = Database(urls, pool_size=1)
            try:
                async with db.system_session("cli: rotate master key") as session:
                    return await rotate(session, old, new)
            finally:
                await db.dispose()

        try:
            counts = asyncio.run(go())
        except RotationError as exc:
            typer.echo(f"error: {exc}; nothing was changed", err=True)
            raise typer.Exit(1) from None

    for column, count in counts.items():
        typer.echo(f"{column}: {count} re-sealed")
    if key_in_data_dir:
        _write_secret(settings.data_dir / "master.key", base64.urlsafe_b64encode(new).decode())
        if new_key_file is None:
            path.unlink()
        typer.echo(
            f"{settings.data_dir / 'master.key'} now holds the new key; restart every VixPro "
            "process so that derived secrets (database role passwords, form tokens) follow"
        )
    else:
        typer.echo(
            f"now set VIXPRO_MASTER_KEY_FILE={path} (or VIXPRO_MASTER_KEY to its contents) "
            "and restart every VixPro process: until then they cannot open secrets"
        )
