"""Overlapping one organisation's ingest transactions: ingest leases and key claims.

An ingest transaction decides from what it reads (an alert's latest row by fingerprint, the open
incident of a group, a server's storm, rates and budget), so two transactions deciding the same
keys at once would both open an incident, or both count from the same old total. Alone, each
transaction takes its organisation's ingest lock exclusively: one at a time, on every replica.

That leaves a core idle in a flood: PostgreSQL waits while the web process decides, and the web
process waits while PostgreSQL writes. So a process may hold an organisation's **ingest lease**,
a session-level advisory lock on a connection of its own. While it holds the lease, its
transactions for that organisation take the ingest lock *shared*, and run at once if they
**claim** disjoint keys in this process:

- ``alert:<fingerprint>`` for each alert (its latest row);
- its group key (``server:<id>`` or ``fp:<fingerprint>``): the open incident it may join or open,
  and for a matched server its storm, rates and budget count;
- ``storm:<server id>`` for a matched server: the group of its storm incident.

A transaction that does not hold the lease (another replica's, this process's before the
lease is granted, or one whose keys a transaction in flight holds) takes the lock
exclusively, as before: it waits for the leaseholder's transactions in flight and they wait
for it. Each shared transaction checks, in the round trip that takes its lock, that this
process's lease connection still holds the lease, so a lost lease cannot let two processes
overlap. A process that gains the lease first takes the ingest lock
exclusively once, so that a former holder's transactions still running finish first.

What a claim cannot know before the reads is checked after them: every incident the transaction
read (reached through an alert's fingerprint, a group or a storm) must be under a key it claims,
or one it can add because no transaction in flight holds it and none released it since the claim
was made (released since, the read may predate that transaction's commit). Otherwise, or when
the servers changed since the keys were worked out, the transaction is refused before it writes
(``OverlapRefused``) and runs again alone. Incident numbers come from the greater of what the
transaction reads and what this process has handed out under the lease: a transaction that fails
leaves a gap rather than a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from vixpro.core.alerts import NormalizedAlert
from vixpro.core.incidents import group_key
from vixpro.incidents.matching import ServerIndex

log = logging.getLogger(__name__)

# Leases are session-level advisory locks, each an entry in PostgreSQL's shared lock table
# (sized by max_locks_per_transaction x max_connections): a process keeps a few, and lets go
# of those its transactions have not used for a while.
MAX_LEASES = 64
LEASE_IDLE_S = 60.0
RETRY_AFTER_S = 5.0  # after another process was found holding a lease, or an error

# The ingest lock: taken exclusively by a transaction running alone, shared under a lease.
INGEST_LOCK = "hashtextextended('vixpro-ingest:' || %(org)s, 0)"
# The lease check: the lease connection's backend still holds the lease's advisory lock.
LEASE_HELD = (
    "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = %(lease_pid)s "
    "AND classid = %(lease_hi)s::oid AND objid = %(lease_lo)s::oid AND objsubid = 1 "
    "AND granted)"
)


class OverlapRefused(Exception):
    """The transaction cannot overlap others safely; it must run again alone. ``lost``: the
    process no longer holds the organisation's lease (its connection ended)."""

    def __init__(self, lost: bool = False) -> None:
        super().__init__("the lease was lost" if lost else "the transaction must run alone")
        self.lost = lost


def lease_key(org_id: uuid.UUID) -> int:
    """The lease's advisory lock key (a signed 64-bit integer)."""
    digest = hashlib.blake2b(b"vixpro-ingest-lease:" + org_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def alert_keys(alerts: Iterable[NormalizedAlert], index: ServerIndex) -> set[str]:
    """The keys a transaction deciding ``alerts`` claims (see the module's text)."""
    keys: set[str] = set()
    for alert in alerts:
        server = index.match(alert.host_hints)
        keys.add("alert:" + alert.fingerprint)
        keys.add(group_key(server, alert.fingerprint))
        if server is not None:
            keys.add(f"storm:{server}")
    return keys


@dataclass(eq=False)
class Claim:
    keys: set[str]
    start: int  # the lease's release count when the claim was made


@dataclass(eq=False)
class OrgLease:
    """One organisation's lease as this process holds it: the keys its transactions in flight
    claim, and the next incident number it may hand out."""

    org_id: uuid.UUID
    key: int
    pid: int
    next_number: int = 0
    used_at: float = field(default_factory=time.monotonic)
    _held: dict[str, Claim] = field(default_factory=dict)
    _released: dict[str, int] = field(default_factory=dict)
    _releases: int = 0
    _claims: list[Claim] = field(default_factory=list)

    def check_params(self) -> dict[str, Any]:
        """The parameters of ``LEASE_HELD``."""
        unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
        return {
            "lease_pid": self.pid,
            "lease_hi": unsigned >> 32,
            "lease_lo": unsigned & 0xFFFF_FFFF,
        }

    def claim(self, keys: set[str]) -> Claim | None:
        """Claim ``keys``; None if a transaction in flight holds any of them."""
        if any(key in self._held for key in keys):
            return None
        claim = Claim(set(keys), self._releases)
        for key in keys:
            self._held[key] = claim
        self._claims.append(claim)
        return claim

    def extend(self, claim: Claim, keys: Iterable[str]) -> bool:
        """Add ``keys`` to ``claim`` if none is held by another claim or was released after
        ``claim`` was made; False (and nothing added) otherwise."""
        missing = [key for key in keys if key not in claim.keys]
        for key in missing:
            if key in self._held or self._released.get(key, -1) >= claim.start:
                return False
        for key in missing:
            self._held[key] = claim
            claim.keys.add(key)
        return True

    def release(self, claim: Claim) -> None:
        if claim not in self._claims:
            return
        self._claims.remove(claim)
        stamp = self._releases
        self._releases += 1
        for key in claim.keys:
            if self._held.get(key) is claim:
                del self._held[key]
                self._released[key] = stamp
        oldest = min((c.start for c in self._claims), default=self._releases)
        if len(self._released) > 4 * len(self._held) + 1024:
            self._released = {k: v for k, v in self._released.items() if v >= oldest}

    @property
    def busy(self) -> bool:
        return bool(self._claims)


@dataclass(frozen=True, eq=False)
class Plan:
    """How one organisation's part of a transaction runs under its lease."""

    lease: OrgLease
    claim: Claim
    servers: object  # the server-cache entry the keys were worked out with


class Leases:
    """This process's ingest leases, held on one connection of their own."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: AsyncConnection[Any] | None = None
        self._pid = 0
        self._held: dict[uuid.UUID, OrgLease] = {}
        self._refused_until: dict[uuid.UUID, float] = {}
        self._tasks: dict[uuid.UUID, asyncio.Task[Any]] = {}
        self._lock = asyncio.Lock()
        self._swept_at = time.monotonic()

    def get(self, org_id: uuid.UUID) -> OrgLease | None:
        """The organisation's lease if held; if not, one is asked for in the background."""
        now = time.monotonic()
        lease = self._held.get(org_id)
        if lease is not None:
            lease.used_at = now
        elif (
            org_id not in self._tasks
            and now >= self._refused_until.get(org_id, 0.0)
            and len(self._held) < MAX_LEASES
        ):
            self._spawn(org_id, self.acquire(org_id))
        if now - self._swept_at > LEASE_IDLE_S / 4:
            self._swept_at = now
            idle = [
                held.org_id
                for held in self._held.values()
                if not held.busy and now - held.used_at > LEASE_IDLE_S
            ]
            for org in idle:
                if org not in self._tasks:
                    self._spawn(org, self.release(org))
        return lease

    def _spawn(self, org_id: uuid.UUID, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks[org_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(org_id, None))

    async def release(self, org_id: uuid.UUID) -> None:
        """Let go of the organisation's lease, unless a transaction is using it."""
        async with self._lock:
            lease = self._held.get(org_id)
            if lease is None or lease.busy or self._conn is None:
                return
            del self._held[org_id]  # before the unlock: no transaction plans with it now
            try:
                await self._conn.execute("SELECT pg_advisory_unlock(%s)", (lease.key,))
            except Exception as exc:
                log.warning("an ingest lease could not be let go: %s", type(exc).__name__)
                await self._drop()

    async def acquire(self, org_id: uuid.UUID) -> OrgLease | None:
        """Take the organisation's lease if no other process holds it."""
        async with self._lock:
            if org_id in self._held:
                return self._held[org_id]
            key = lease_key(org_id)
            try:
                conn = await self._connection()
                row = await (
                    await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                ).fetchone()
                if row is None or not row[0]:
                    if len(self._refused_until) >= 10 * MAX_LEASES:
                        self._refused_until.clear()  # a bound, not a cache worth keeping
                    self._refused_until[org_id] = time.monotonic() + RETRY_AFTER_S
                    return None
                # A former holder's shared transactions may still be running: wait them out.
                async with conn.transaction():
                    await conn.execute(
                        f"SELECT pg_advisory_xact_lock({INGEST_LOCK})", {"org": str(org_id)}
                    )
            except Exception as exc:
                log.warning("an ingest lease could not be taken: %s", type(exc).__name__)
                self._refused_until[org_id] = time.monotonic() + RETRY_AFTER_S
                await self._drop()
                return None
            lease = OrgLease(org_id, key, self._pid)
            self._held[org_id] = lease
            return lease

    async def lost(self, pids: Iterable[int]) -> None:
        """A lease held through the session with one of ``pids`` turned out lost. A process
        lets go of a lease only by unlocking it, so that session ended, and every lease with
        it: later transactions ask for theirs again, on a new connection."""
        async with self._lock:
            if self._pid in set(pids):
                await self._drop()

    async def _connection(self) -> AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._held.clear()  # a new session holds no lock yet
            self._conn = await AsyncConnection.connect(self._url, autocommit=True)
            self._pid = self._conn.info.backend_pid
        return self._conn

    async def _drop(self) -> None:
        self._held.clear()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None

    def plan(
        self, org_id: uuid.UUID, alerts: Sequence[NormalizedAlert], servers: Any
    ) -> Plan | None:
        """Claim the keys of ``alerts`` under the organisation's lease, or None to run alone:
        no lease yet, no server index cached to work the keys out with (``servers``: the
        cache entry), or a transaction in flight holds one of the keys. Run alone, such a
        transaction waits in PostgreSQL and reads the moment those in flight commit, where a
        claim waited for in the process would cost another round trip after each."""
        lease = self.get(org_id)
        if lease is None or servers is None:
            return None
        claim = lease.claim(alert_keys(alerts, servers[1]))
        return Plan(lease, claim, servers) if claim is not None else None

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        async with self._lock:
            await self._drop()  # closing the session lets go of every lease
