"""Every column sealed under the master key, and re-sealing them all under a new one.

``vixpro.sealed`` seals with AES-256-GCM and binds each value to a context (its row, its use),
so re-sealing needs to know, per column, how that context is made. Each sealed column is listed
here; a capability that adds one appends a ``SealedColumn`` to ``COLUMNS`` (the context must be
the one its service seals with: the rotation test proves it by reading every value back through
the services). Columns bound to their row's id declare their ``RowSealer`` here, and their
service seals with it, so the two cannot drift apart.

As a safety net, ``rotate`` also looks at every ``bytea`` column in the database for values
sealed under the old key: if one is in a column not listed here, it refuses to rotate (and says
which), because that value would become unreadable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.sealed import RowSealer, header, key_id, seal, unseal

AI_PROVIDER_KEY = RowSealer("ai-provider-key:{id}")
NOTIFICATION_CHANNEL_SECRET = RowSealer("notification-channel:{id}:secret")


@dataclass(frozen=True)
class SealedColumn:
    table: str
    column: str
    # The columns that name a row; ``context`` is computed from them.
    key_columns: tuple[str, ...]
    context: Callable[[Mapping[str, Any]], bytes]


COLUMNS: list[SealedColumn] = [
    SealedColumn(
        "integrations",
        "token_sealed",
        ("id",),
        lambda row: f"integration:{row['id']}:token".encode(),
    ),
    SealedColumn(
        "integrations",
        "signing_secret_sealed",
        ("id",),
        lambda row: f"integration:{row['id']}:signing".encode(),
    ),
    SealedColumn(
        "platform_keys",
        "private_encrypted",
        ("purpose",),
        lambda row: f"vixpro:platform-key:{row['purpose']}".encode(),
    ),
    SealedColumn(
        "ai_provider_keys",
        "key_sealed",
        ("id",),
        lambda row: AI_PROVIDER_KEY.context(row["id"]),
    ),
    SealedColumn(
        "notification_channels",
        "secret_sealed",
        ("id",),
        lambda row: NOTIFICATION_CHANNEL_SECRET.context(row["id"]),
    ),
]


class RotationError(RuntimeError):
    """Rotation refused or failed; nothing was changed. Never contains a secret."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _existing(session: AsyncSession) -> set[tuple[str, str]]:
    rows = await session.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = 'bytea'"
        )
    )
    return {(str(t), str(c)) for t, c in rows.all()}


async def unlisted_sealed(session: AsyncSession, master_key: bytes) -> list[str]:
    """``table.column`` of every bytea column holding values sealed under ``master_key`` but not listed."""
    listed = {(c.table, c.column) for c in COLUMNS}
    prefix = header(master_key)
    found = []
    for table, column in sorted(await _existing(session) - listed):
        hit = await session.scalar(
            text(
                f"SELECT 1 FROM {_q(table)} "  # noqa: S608 (names from information_schema, quoted)
                f"WHERE substring({_q(column)} FROM 1 FOR 5) = :prefix LIMIT 1"
            ),
            {"prefix": prefix},
        )
        if hit:
            found.append(f"{table}.{column}")
    return found


async def rotate(session: AsyncSession, old_key: bytes, new_key: bytes) -> dict[str, int]:
    """Re-seal every listed value from ``old_key`` to ``new_key`` in the caller's transaction.

    ``session`` must see every organisation (the system session). Values already under
    ``new_key`` are left alone, so running it again after an interruption is safe. Returns the
    count re-sealed per ``table.column``. Raises ``RotationError`` (and the caller rolls back)
    when a value opens under neither key or a sealed column is not listed.
    """
    if old_key == new_key:
        raise RotationError("the new master key is the same as the current one")
    unlisted = await unlisted_sealed(session, old_key)
    if unlisted:
        raise RotationError(
            "sealed values in columns rotation does not know how to re-seal: "
            + ", ".join(unlisted)
            + " (add them to vixpro.db.sealed_columns.COLUMNS)"
        )
    existing = await _existing(session)
    new_id = key_id(new_key)
    counts: dict[str, int] = {}
    for spec in COLUMNS:
        if (spec.table, spec.column) not in existing:
            continue  # a capability whose migration is not in this database
        keys = ", ".join(_q(k) for k in spec.key_columns)
        match = " AND ".join(f"{_q(k)} = :k_{k}" for k in spec.key_columns)
        rows = (
            await session.execute(
                text(
                    f"SELECT {keys}, {_q(spec.column)} AS sealed FROM {_q(spec.table)} "  # noqa: S608 (names from COLUMNS, quoted)
                    f"WHERE {_q(spec.column)} IS NOT NULL FOR UPDATE"
                )
            )
        ).mappings()
        done = 0
        for row in rows.all():
            sealed = bytes(row["sealed"])
            if sealed[1:5] == new_id:
                continue
            context = spec.context(dict(row))
            try:
                plain = unseal(old_key, sealed, context)
            except ValueError as exc:
                where = ", ".join(f"{k}={row[k]}" for k in spec.key_columns)
                raise RotationError(
                    f"{spec.table}.{spec.column} ({where}) does not open under the current key: {exc}"
                ) from None
            await session.execute(
                text(f"UPDATE {_q(spec.table)} SET {_q(spec.column)} = :sealed WHERE {match}"),  # noqa: S608
                {
                    "sealed": seal(new_key, plain, context),
                    **{f"k_{k}": row[k] for k in spec.key_columns},
                },
            )
            done += 1
        counts[f"{spec.table}.{spec.column}"] = done
    return counts
