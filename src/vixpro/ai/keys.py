"""An organisation's AI provider keys: add, list, replace, delete; sealed at rest.

The key is sealed under the master key (AES-256-GCM, ``vixpro.sealed``) with the row's id as
context, so a sealed value copied onto another row does not open. It is never returned: views
carry only its last four characters. ``spec`` unseals it to build a ``ProviderSpec`` for a run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Principal
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.providers.registry import KINDS
from vixpro.core.roles import Role
from vixpro.db.models.ai import AIProviderKey
from vixpro.db.sealed_columns import AI_PROVIDER_KEY
from vixpro.sealed import hint

MAX_KEYS = 50


@dataclass(frozen=True, slots=True)
class KeyView:
    id: uuid.UUID
    kind: str
    kind_title: str
    label: str
    base_url: str | None
    key_last4: str
    created_by: str
    created_at: datetime


def view(row: AIProviderKey) -> KeyView:
    kind = KINDS.get(row.kind)
    return KeyView(
        id=row.id,
        kind=row.kind,
        kind_title=kind.title if kind else row.kind,
        label=row.label,
        base_url=row.base_url,
        key_last4=row.key_last4,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def require_admin(principal: Principal) -> None:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins manage AI provider keys")


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput("kind", f"unknown provider {kind!r}; one of: {', '.join(KINDS)}")
    return kind


def _label(label: str) -> str:
    if not label.strip() or len(label.strip()) > 120:
        raise InvalidInput("label", "must be 1 to 120 characters")
    return label.strip()


def _base_url(kind: str, base_url: str | None) -> str | None:
    url = (base_url or "").strip() or None
    if url is None:
        if KINDS[kind].default_base_url is None:
            raise InvalidInput("base_url", f"a {KINDS[kind].title} endpoint needs its base URL")
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("base_url", "must be an http:// or https:// URL")
    if len(url) > 500 or parts.username or parts.password:
        raise InvalidInput("base_url", "must be at most 500 characters, without credentials")
    return url.rstrip("/")


def _key(kind: str, api_key: str | None) -> str | None:
    key = (api_key or "").strip() or None
    if key is None:
        if KINDS[kind].key_required:
            raise InvalidInput("api_key", f"a {KINDS[kind].title} key is required")
        return None
    # Never echo the key in the message.
    if len(key) > 1000 or any(c.isspace() for c in key) or not key.isprintable():
        raise InvalidInput("api_key", "must be one line of at most 1000 printable characters")
    return key


def _seal(row: AIProviderKey, master_key: bytes, key: str | None) -> None:
    row.key_sealed = None if key is None else AI_PROVIDER_KEY.seal(master_key, row.id, key.encode())
    row.key_last4 = "" if key is None else hint(key)


async def list_all(session: AsyncSession) -> Sequence[AIProviderKey]:
    query = select(AIProviderKey).order_by(AIProviderKey.created_at, AIProviderKey.id)
    return (await session.scalars(query)).all()


async def get(session: AsyncSession, key_id: uuid.UUID) -> AIProviderKey:
    row = await session.get(AIProviderKey, key_id)
    if row is None:
        raise NotFound("AI provider key")
    return row


async def add(
    session: AsyncSession,
    principal: Principal,
    master_key: bytes,
    *,
    kind: str,
    label: str,
    api_key: str | None,
    base_url: str | None = None,
) -> AIProviderKey:
    require_admin(principal)
    kind = _kind(kind)
    count = await session.scalar(select(func.count()).select_from(AIProviderKey))
    if (count or 0) >= MAX_KEYS:
        raise InvalidInput("kind", f"an organisation may have {MAX_KEYS} provider keys at most")
    row = AIProviderKey(
        id=uuid.uuid4(),
        org_id=principal.org_id,
        kind=kind,
        label=_label(label),
        base_url=_base_url(kind, base_url),
        created_by=principal.actor.label,
    )
    _seal(row, master_key, _key(kind, api_key))
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        principal.actor,
        "ai_provider_key.created",
        org_id=principal.org_id,
        target_type="ai_provider_key",
        target_id=row.id,
        details={"kind": kind, "label": row.label, "base_url": row.base_url},
    )
    return row


async def update(
    session: AsyncSession,
    principal: Principal,
    master_key: bytes,
    key_id: uuid.UUID,
    *,
    label: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
) -> AIProviderKey:
    """Change the label, base URL or key (replace it); what is None stays as it is."""
    row = await get(session, key_id)
    require_admin(principal)
    changed: list[str] = []
    if label is not None:
        row.label = _label(label)
        changed.append("label")
    if base_url is not None:
        row.base_url = _base_url(row.kind, base_url)
        changed.append("base_url")
    if api_key is not None:
        _seal(row, master_key, _key(row.kind, api_key))
        changed.append("key")
    row.updated_at = func.now()
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        principal.actor,
        "ai_provider_key.updated",
        org_id=principal.org_id,
        target_type="ai_provider_key",
        target_id=row.id,
        details={"changed": changed},
    )
    return row


async def delete(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> None:
    """Remove the key; the areas' chains lose the steps that used it."""
    row = await get(session, key_id)
    require_admin(principal)
    await session.delete(row)
    await audit.record(
        session,
        principal.actor,
        "ai_provider_key.deleted",
        org_id=principal.org_id,
        target_type="ai_provider_key",
        target_id=key_id,
        details={"kind": row.kind, "label": row.label},
    )


def spec(row: AIProviderKey, master_key: bytes, *, model: str, timeout_s: float) -> ProviderSpec:
    """The provider spec for one run, with the key unsealed (in memory only)."""
    sealed = row.key_sealed
    key = "" if sealed is None else AI_PROVIDER_KEY.unseal(master_key, row.id, sealed).decode()
    return ProviderSpec(
        kind=row.kind,
        model=model,
        api_key=key,
        base_url=row.base_url,
        timeout_s=timeout_s,
        label=row.label,
        key_id=str(row.id),
    )
