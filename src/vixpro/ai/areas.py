"""Areas of AI work and each area's ordered provider chain.

An area (``reactive`` alerts, ``chat``, ``circles`` scheduled checks, ``maintenance``) has a
chain of (provider key, model) steps tried in order by ``failover.run_with_failover``. An
empty chain means the offline runbook engine does the work.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput
from vixpro.accounts.principal import Principal
from vixpro.ai import keys
from vixpro.ai.providers.base import ProviderSpec
from vixpro.core.roles import Role
from vixpro.db.models.ai import AIAreaChainEntry, AIProviderKey

AREAS = ("reactive", "chat", "circles", "maintenance")

# How long a run in each area waits for a human (an approval) before carrying on without.
AREA_TIMEOUT_S: dict[str, float] = {
    "reactive": 600.0,
    "chat": 300.0,
    "circles": 300.0,
    "maintenance": 1800.0,
}

# One request to one provider; a slow model answering a long prompt can take a minute or two.
REQUEST_TIMEOUT_S = 120.0

MAX_CHAIN = 8


@dataclass(frozen=True, slots=True)
class ChainStep:
    key_id: uuid.UUID
    model: str
    kind: str
    label: str


def area(name: str) -> str:
    if name not in AREAS:
        raise InvalidInput("area", f"unknown area {name!r}; one of: {', '.join(AREAS)}")
    return name


async def _rows(
    session: AsyncSession, name: str
) -> Sequence[tuple[AIAreaChainEntry, AIProviderKey]]:
    query = (
        select(AIAreaChainEntry, AIProviderKey)
        .join(AIProviderKey, AIProviderKey.id == AIAreaChainEntry.key_id)
        .where(AIAreaChainEntry.area == area(name))
        .order_by(AIAreaChainEntry.position)
    )
    return [(entry, key) for entry, key in (await session.execute(query)).all()]


async def get_chain(session: AsyncSession, name: str) -> list[ChainStep]:
    return [
        ChainStep(key.id, entry.model, key.kind, key.label)
        for entry, key in await _rows(session, name)
    ]


async def all_chains(session: AsyncSession) -> dict[str, list[ChainStep]]:
    return {name: await get_chain(session, name) for name in AREAS}


async def set_chain(
    session: AsyncSession,
    principal: Principal,
    name: str,
    steps: Sequence[tuple[uuid.UUID, str]],
) -> list[ChainStep]:
    """Replace the area's chain with ``steps`` (key id, model), first tried first."""
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins choose AI providers")
    area(name)
    if len(steps) > MAX_CHAIN:
        raise InvalidInput("chain", f"at most {MAX_CHAIN} providers per area")
    for i, (key_id, model) in enumerate(steps):
        if not model.strip() or len(model.strip()) > 200:
            raise InvalidInput(f"chain[{i}].model", "must be 1 to 200 characters")
        # RLS makes another organisation's key look absent, as it should.
        await keys.get(session, key_id)
    await session.execute(delete(AIAreaChainEntry).where(AIAreaChainEntry.area == name))
    await session.flush()
    for position, (key_id, model) in enumerate(steps):
        session.add(
            AIAreaChainEntry(
                org_id=principal.org_id,
                area=name,
                position=position,
                key_id=key_id,
                model=model.strip(),
            )
        )
    await session.flush()
    await audit.record(
        session,
        principal.actor,
        "ai_area.chain_set",
        org_id=principal.org_id,
        target_type="ai_area",
        target_id=name,
        details={"chain": [{"key_id": str(k), "model": m.strip()} for k, m in steps]},
    )
    return await get_chain(session, name)


async def chain_for(
    session: AsyncSession,
    master_key: bytes,
    org_id: uuid.UUID,
    name: str,
    *,
    timeout_s: float = REQUEST_TIMEOUT_S,
) -> list[ProviderSpec]:
    """The specs to try for ``name`` in ``org_id``, keys unsealed; empty means the runbook engine.

    ``session`` must be the organisation's tenant session (RLS shows only its rows).
    """
    rows = await _rows(session, name)
    return [
        keys.spec(key, master_key, model=entry.model, timeout_s=timeout_s)
        for entry, key in rows
        if key.org_id == org_id
    ]
