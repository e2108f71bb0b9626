"""Who is acting: a signed-in user, an API key, the CLI or the platform itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from vixpro.core.plans import PlanLimits
from vixpro.core.roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """What the audit trail records about whoever made a change."""

    type: Literal["user", "api_key", "staff", "cli", "system"]
    id: uuid.UUID | None
    label: str
    ip: str | None = None


CLI = Actor("cli", None, "vixpro admin")
SYSTEM = Actor("system", None, "vixpro")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller acting inside one organisation."""

    kind: Literal["user", "api_key"]
    org_id: uuid.UUID
    org_name: str
    role: Role
    plan: PlanLimits
    label: str
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    is_staff: bool = False
    ip: str | None = None

    @property
    def actor(self) -> Actor:
        if self.kind == "api_key":
            return Actor("api_key", self.api_key_id, self.label, self.ip)
        return Actor("user", self.user_id, self.label, self.ip)
