"""The tool catalogue: the signed manifest every host agent runs, and each organisation's
permissions on it (enabled or not, approval required or not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from vixpro_agent.tools.registry import builtin_specs

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Principal
from vixpro.core.roles import Role
from vixpro.db.models import Manifest, ToolSetting
from vixpro.tools.signing import PlatformSigner


def manifest_document(row: Manifest) -> dict[str, Any]:
    return {"body": row.body, "signature": row.signature}


async def current_manifest(session: AsyncSession) -> Manifest | None:
    return await session.scalar(select(Manifest).order_by(Manifest.version.desc()).limit(1))


async def ensure_manifest(session: AsyncSession, signer: PlatformSigner) -> Manifest:
    """The current manifest, issuing a new version when this release's tools differ (system
    session). Replicas starting together agree through an advisory lock."""
    await session.execute(text("SELECT pg_advisory_xact_lock(7412002)"))
    latest = await current_manifest(session)
    specs = builtin_specs()
    if latest is not None and latest.body.get("tools") == specs:
        return latest
    version = (latest.version if latest else 0) + 1
    body = {"version": version, "issued_at": datetime.now(UTC).isoformat(), "tools": specs}
    row = Manifest(version=version, body=body, signature=signer.sign(body)["signature"])
    session.add(row)
    await session.flush()
    return row


_SPECS: dict[tuple[int, str], dict[str, dict[str, Any]]] = {}


def tool_spec(manifest: Manifest, name: str) -> dict[str, Any] | None:
    """The manifest's spec of one tool, or None (indexed once per manifest version)."""
    key = (manifest.version, manifest.signature)
    specs = _SPECS.get(key)
    if specs is None:
        specs = {str(spec["name"]): spec for spec in manifest.body["tools"]}
        _SPECS.clear()  # only the current manifest is looked up on the hot path
        _SPECS[key] = specs
    return specs.get(name)


@dataclass(frozen=True)
class ToolView:
    spec: dict[str, Any]
    enabled: bool
    approval_required: bool

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def risk(self) -> str:
        return str(self.spec["risk"])


def default_permissions(risk: str) -> tuple[bool, bool]:
    """(enabled, approval required): read tools on without approval; mutate tools off, approved."""
    return (True, False) if risk == "read" else (False, True)


async def tool_views(session: AsyncSession, manifest: Manifest) -> list[ToolView]:
    """Every tool in the manifest with the tenant session's organisation's permissions."""
    settings = {s.tool: s for s in (await session.scalars(select(ToolSetting))).all()}
    views = []
    for spec in manifest.body["tools"]:
        enabled, approval = default_permissions(spec["risk"])
        setting = settings.get(spec["name"])
        if setting is not None:
            enabled, approval = setting.enabled, setting.approval_required
        views.append(ToolView(spec, enabled, approval))
    return views


async def tool_view(session: AsyncSession, manifest: Manifest, name: str) -> ToolView:
    for view in await tool_views(session, manifest):
        if view.name == name:
            return view
    raise NotFound(f"tool {name!r}")


async def set_permissions(
    session: AsyncSession,
    principal: Principal,
    manifest: Manifest,
    name: str,
    *,
    enabled: bool | None,
    approval_required: bool | None,
) -> ToolView:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins change tool permissions")
    if enabled is None and approval_required is None:
        raise InvalidInput("enabled", "give enabled, approval_required or both")
    view = await tool_view(session, manifest, name)
    new_enabled = view.enabled if enabled is None else enabled
    new_approval = view.approval_required if approval_required is None else approval_required
    existing = await session.get(ToolSetting, (principal.org_id, name))
    if existing is None:
        session.add(
            ToolSetting(
                org_id=principal.org_id,
                tool=name,
                enabled=new_enabled,
                approval_required=new_approval,
                updated_by=principal.label,
            )
        )
    else:
        existing.enabled, existing.approval_required = new_enabled, new_approval
        existing.updated_by = principal.label
        existing.updated_at = func.now()
    await session.flush()
    await audit.record(
        session,
        principal.actor,
        "tool.permissions_changed",
        org_id=principal.org_id,
        target_type="tool",
        target_id=name,
        details={"enabled": new_enabled, "approval_required": new_approval},
    )
    return ToolView(view.spec, new_enabled, new_approval)
