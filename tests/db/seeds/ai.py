"""AI provider keys, an area chain and a usage row."""

from __future__ import annotations

import uuid
from typing import Any

from vixpro.ai import areas, keys, usage


async def seed(state: Any, org_id: uuid.UUID, server_id: uuid.UUID, principal: Any) -> None:
    master = state.settings.master_key_bytes()
    async with state.db.tenant_session(org_id) as session:
        row = await keys.add(
            session, principal, master, kind="openai", label="seeded", api_key="sk-seeded-0000"
        )
        await areas.set_chain(session, principal, "reactive", [(row.id, "gpt-4.1")])
        [spec] = await areas.chain_for(session, master, org_id, "reactive")
        await usage.record(session, org_id, area="reactive", spec=spec, tokens_in=10, tokens_out=2)
