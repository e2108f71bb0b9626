"""API requests per organisation per hour, counted in PostgreSQL so every replica shares it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts.principal import Principal

_COUNT = text(
    "INSERT INTO api_request_counts (org_id, window_start, count) VALUES (:org, :start, 1) "
    "ON CONFLICT (org_id, window_start) DO UPDATE SET count = api_request_counts.count + 1 "
    "RETURNING count"
)
WINDOW_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class RateDecision:
    limit: int
    used: int
    reset_seconds: int

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


async def count_request(session: AsyncSession, principal: Principal) -> RateDecision:
    """Count one API request for the tenant session's organisation and say whether it may pass."""
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0)
    used = int(
        (await session.execute(_COUNT, {"org": principal.org_id, "start": start})).scalar_one()
    )
    reset = WINDOW_SECONDS - int((now - start).total_seconds())
    return RateDecision(principal.plan.api_requests_per_hour, used, reset)


async def current_usage(session: AsyncSession) -> int:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    value = await session.scalar(
        text("SELECT count FROM api_request_counts WHERE window_start = :start"), {"start": now}
    )
    return int(value or 0)
