"""The organisation's AI settings: auto-remediation, confidence threshold, tool-call budget."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field

from vixpro.ai import settings as ai_settings
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["AI settings"])


class AiSettingsOut(BaseModel):
    auto_remediation: bool = Field(
        description="run recommended fixes (through permissions and approvals), then verify"
    )
    plan_allows_remediation: bool
    confidence_threshold: float = Field(description="below this the AI escalates to you")
    tool_call_budget: int = Field(description="tool calls per diagnosis or answer at most")


class AiSettingsPatch(Strict):
    auto_remediation: bool | None = None
    confidence_threshold: float | None = None
    tool_call_budget: int | None = None


@router.get("/ai/settings", response_model=AiSettingsOut, summary="The AI's settings")
async def get_settings(principal: PrincipalDep, state: StateDep) -> AiSettingsOut:
    async with state.db.tenant_session(principal.org_id) as session:
        view = await ai_settings.get(session, principal)
    return AiSettingsOut(**asdict(view))


@router.patch("/ai/settings", response_model=AiSettingsOut, summary="Change them (owners, admins)")
async def patch_settings(
    body: AiSettingsPatch, principal: PrincipalDep, state: StateDep
) -> AiSettingsOut:
    async with state.db.tenant_session(principal.org_id) as session:
        view = await ai_settings.update(session, principal, body.model_dump(exclude_unset=True))
    return AiSettingsOut(**asdict(view))
