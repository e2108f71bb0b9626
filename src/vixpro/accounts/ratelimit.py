"""API requests per organisation per hour, counted in PostgreSQL so that every replica shares it.

Counting every request on one row per organisation would make all of an organisation's API
calls queue on that row's lock. Instead each process *leases* requests in blocks: it adds a
block to the shared counter in one statement and then spends the block locally. Blocks start at
one request and double while plenty of budget is left (never more than a twentieth of what
remains, nor more than ``MAX_BLOCK``), so light use is counted exactly and heavy use costs one
write per block. Near the limit blocks shrink to one, so a plan is never exceeded; at worst,
requests a replica leased but did not spend are counted as used until the hour ends.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts.principal import Principal
from vixpro.db.sessions import Database

WINDOW_SECONDS = 3600
MAX_BLOCK = 100
EXHAUSTED_RECHECK_SECONDS = 10.0
_LEASE = (
    "INSERT INTO api_request_counts (org_id, window_start, count) VALUES (%s, %s, %s) "
    "ON CONFLICT (org_id, window_start) DO UPDATE SET count = api_request_counts.count + "
    "EXCLUDED.count RETURNING count"
)


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


@dataclass
class _Lease:
    window: datetime
    left: int = 0  # leased, not yet spent
    total: int = 0  # the shared counter after this process's last lease
    block: int = 0
    exhausted_at: float | None = None


def _window(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


class RequestCounter:
    """One per process: spends leased blocks of each organisation's hourly API requests."""

    def __init__(self, db: Database, max_block: int = MAX_BLOCK) -> None:
        self.db = db
        self.max_block = max_block
        self._leases: dict[uuid.UUID, _Lease] = {}
        self._locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)

    def _spend(self, lease: _Lease | None, window: datetime) -> bool:
        if lease is None or lease.window != window or lease.left <= 0:
            return False
        lease.left -= 1
        return True

    async def take(self, principal: Principal) -> RateDecision:
        """Count one API request for ``principal``'s organisation; say whether it may pass."""
        now = datetime.now(UTC)
        window = _window(now)
        reset = WINDOW_SECONDS - int((now - window).total_seconds())
        limit = principal.plan.api_requests_per_hour
        org = principal.org_id
        lease = self._leases.get(org)
        if not self._spend(lease, window):
            async with self._locks[org]:
                lease = self._leases.get(org)
                if not self._spend(lease, window):
                    lease = await self._renew(org, lease, window, limit)
                    if lease.exhausted_at is not None:
                        return RateDecision(limit, limit + 1, reset)
        assert lease is not None
        return RateDecision(limit, lease.total - lease.left, reset)

    async def _renew(
        self, org: uuid.UUID, lease: _Lease | None, window: datetime, limit: int
    ) -> _Lease:
        current = lease if lease is not None and lease.window == window else None
        if (
            current is not None
            and current.exhausted_at is not None
            and time.monotonic() - current.exhausted_at < EXHAUSTED_RECHECK_SECONDS
        ):
            return current
        known = current.total if current else 0
        previous = current.block if current else 0
        block = max(1, min(previous * 2 or 1, (limit - known) // 20, self.max_block))
        async with self.db.counter_connection() as conn:
            cursor = await conn.execute(_LEASE, (org, window, block))
            row = await cursor.fetchone()
        assert row is not None
        total = int(row[0])
        granted = block - max(0, total - limit)
        fresh = _Lease(window=window, total=total, block=block)
        if granted <= 0:
            fresh.exhausted_at = time.monotonic()
        else:
            fresh.left = granted - 1  # one is spent by the request that asked
        self._leases[org] = fresh
        return fresh

    def unspent(self, org: uuid.UUID) -> int:
        lease = self._leases.get(org)
        if lease is None or lease.window != _window(datetime.now(UTC)):
            return 0
        return lease.left


async def current_usage(session: AsyncSession, unspent: int = 0) -> int:
    """Requests counted this hour for the tenant session's org, less this process's unspent lease."""
    now = _window(datetime.now(UTC))
    value = await session.scalar(
        text("SELECT count FROM api_request_counts WHERE window_start = :start"), {"start": now}
    )
    return max(0, int(value or 0) - unspent)
