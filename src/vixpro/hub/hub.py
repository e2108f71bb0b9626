"""The hub: every host-agent connection this process holds, and tool calls to any of them.

A tool call is an execution row first (the audit trail). The process that holds the host
agent's connection sends the call, waits for the result and writes it to that row. When the
connection is held by another web replica, the request travels there with PostgreSQL
``NOTIFY`` and the answer comes back the same way; the result itself is in the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import select, text, update
from vixpro_agent.protocol import messages as m

from vixpro.core import jsontext
from vixpro.db.models import Manifest, Server, ToolExecution
from vixpro.db.sessions import Database, SharedStatement
from vixpro.db.urls import libpq_url
from vixpro.hub.presence import Presence

log = logging.getLogger("vixpro.hub")
CHANNEL = "vixpro_hostagent"
MAX_OUTPUT_BYTES = 256 * 1024  # the host agent caps at 64 KiB; this guards the database
GRACE_SECONDS = 2.0  # beyond the tool's deadline, for the answer to travel back
SEEN_FLUSH_SECONDS = 10.0
STALE_SECONDS = 45.0  # a connection not heard from for this long is not relied on
RUNNING_MARK_SECONDS = 1.0

Send = Callable[[str], Awaitable[None]]
Receive = Callable[[], Awaitable[str | None]]

# Results written to their execution rows; callers share one execution (group commit, see
# ``Database.tenant_statement``). Each row comes back as the hot path reads it (no ORM).
#
# ``t.id = ANY (ARRAY(...))`` restates the join as a primary-key lookup. The statement is
# prepared and runs on a cached generic plan, and the planner takes the recordset for 100 rows:
# joined by ``t.id = res.id`` alone it hashed every execution of the organisation (a scan of
# the whole table up to ~20,000 rows with fresh statistics: 0.5 ms per call at 5,000, and
# 31 ms at 30,000 when the plan was made while the table was small).
_STORE = SharedStatement(
    """
WITH res AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        n int, id uuid, status text, output text, truncated bool, error text, error_kind text,
        duration_ms int, started_at timestamptz, finished_at timestamptz
    )
)
UPDATE tool_executions AS t
SET status = res.status, output = res.output::jsonb, truncated = res.truncated,
    error = res.error, error_kind = res.error_kind, duration_ms = res.duration_ms,
    started_at = coalesce(t.started_at, res.started_at), finished_at = res.finished_at
FROM res
WHERE t.id = ANY (ARRAY(SELECT res.id FROM res)) AND t.id = res.id
  AND t.status IN ('queued', 'running')
RETURNING res.n, t.id, t.org_id, t.server_id, t.tool, t.risk, t.params, t.requested_by_type,
    t.requested_by_id, t.requested_by_label, t.area, t.incident_id, t.status, t.output,
    t.truncated, t.error, t.error_kind, t.duration_ms, t.deadline_ms, t.created_at,
    t.started_at, t.finished_at
"""
)
EXECUTION_COLUMNS = tuple(
    column.strip().removeprefix("t.") for column in _STORE.query.rsplit("res.n,", 1)[1].split(",")
)
_SERVER_ROUTE = SharedStatement(
    "SELECT r.n, s.replica, s.last_seen_at "
    "FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(n int, id uuid) "
    "JOIN servers AS s ON s.id = r.id"
)
_QUEUED_CALL = SharedStatement(  # by primary key, for the reason given at _STORE
    "WITH r AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(n int, id uuid)) "
    "SELECT r.n, e.server_id, e.tool, e.params, e.deadline_ms FROM r "
    "JOIN tool_executions AS e ON e.id = r.id "
    "WHERE e.id = ANY (ARRAY(SELECT r.id FROM r)) AND e.status = 'queued'"
)
Row = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """A queued tool execution, as the hub needs it."""

    org_id: uuid.UUID
    execution_id: uuid.UUID
    server_id: uuid.UUID
    tool: str
    params: dict[str, Any]
    deadline_ms: int

    @classmethod
    def of(cls, row: ToolExecution) -> Call:
        return cls(row.org_id, row.id, row.server_id, row.tool, row.params, row.deadline_ms)

    def message(self) -> dict[str, Any]:
        return m.message(
            m.TOOL_CALL,
            id=str(self.execution_id),
            tool=self.tool,
            params=self.params,
            deadline_ms=self.deadline_ms,
        )


@dataclass
class AgentSession:
    server_id: uuid.UUID
    org_id: uuid.UUID
    send_text: Send
    close: Callable[[], Awaitable[None]]
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    closed: bool = False

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(jsontext.dumps(message))


class Hub:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.replica = uuid.uuid4().hex
        self.presence = Presence(db, self.replica)
        self.sessions: dict[uuid.UUID, AgentSession] = {}
        self._remote: dict[str, asyncio.Future[None]] = {}
        self._seen: set[uuid.UUID] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._listen_conn: AsyncConnection[Any] | None = None
        self.heartbeat_seconds = m.HEARTBEAT_SECONDS

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._listen_conn = await AsyncConnection.connect(
            libpq_url(self.db.urls.system), autocommit=True
        )
        await self._listen_conn.execute(f"LISTEN {CHANNEL}")
        self._tasks = [
            asyncio.create_task(self._listen(), name="hub-listen"),
            asyncio.create_task(self._flush_seen(), name="hub-seen"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session in list(self.sessions.values()):
            self._fail_pending(session, m.ERR_DISCONNECTED, "the platform is shutting down")
        if self._seen:
            await self.presence.seen(self._seen)
        for server_id in list(self.sessions):
            await self.presence.offline(server_id)
        self.sessions.clear()
        if self._listen_conn is not None:
            await self._listen_conn.close()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- connections ---------------------------------------------------------------------------

    async def serve(
        self,
        server: Server,
        hello: dict[str, Any],
        send: Send,
        receive: Receive,
        close: Callable[[], Awaitable[None]],
        first_messages: list[dict[str, Any]],
    ) -> None:
        """Run one authenticated host-agent connection until it closes."""
        session = AgentSession(server.id, server.org_id, send, close)
        previous = self.sessions.get(server.id)
        if previous is not None:  # the host agent reconnected before we noticed the old socket die
            self._fail_pending(previous, m.ERR_DISCONNECTED, "the host agent reconnected")
            previous.closed = True
            with contextlib.suppress(Exception):
                await previous.close()
        self.sessions[server.id] = session
        await self.presence.online(server.id, hello)
        try:
            await session.send(m.message(m.WELCOME, heartbeat_s=self.heartbeat_seconds))
            for message in first_messages:
                await session.send(message)
            while True:
                raw = await receive()
                if raw is None:
                    break
                self._seen.add(server.id)
                await self._handle(session, raw)
        finally:
            session.closed = True
            self._fail_pending(
                session, m.ERR_DISCONNECTED, "the connection to the host agent dropped"
            )
            if self.sessions.get(server.id) is session:
                del self.sessions[server.id]
                await self.presence.offline(server.id)

    async def _handle(self, session: AgentSession, raw: str) -> None:
        try:
            message = json.loads(raw)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable message from host agent %s", session.server_id)
            return
        if kind == m.TOOL_RESULT:
            future = session.pending.pop(str(message.get("id")), None)
            if future is not None and not future.done():
                future.set_result(message)
        elif kind == m.PING:
            await session.send(m.message(m.PONG, at=message.get("at")))
        elif kind == m.TAMPER:
            await self.presence.tampered(session.server_id, str(message.get("detail", "")))
        elif kind == m.MANIFEST_REFUSED:
            reason = f"version {message.get('version')}: {message.get('reason', '')}"
            await self.presence.manifest_refused(session.server_id, session.org_id, reason)
        elif kind == m.FACTS and isinstance(message.get("facts"), dict):
            await self.presence.facts(session.server_id, message["facts"])

    def _fail_pending(self, session: AgentSession, kind: str, detail: str) -> None:
        for future in session.pending.values():
            if not future.done():
                future.set_result(
                    {
                        "ok": False,
                        "error": detail,
                        "error_kind": kind,
                        "output": None,
                        "duration_ms": None,
                        "truncated": False,
                    }
                )
        session.pending.clear()

    async def _flush_seen(self) -> None:
        while True:
            await asyncio.sleep(SEEN_FLUSH_SECONDS)
            seen, self._seen = self._seen, set()
            with contextlib.suppress(Exception):
                await self.presence.seen(seen)

    # -- pushing to host agents ----------------------------------------------------------------

    async def send_to(self, server_id: uuid.UUID, message: dict[str, Any]) -> None:
        """Deliver ``message`` to a host agent wherever it is connected (best effort)."""
        session = self.sessions.get(server_id)
        if session is not None and not session.closed:
            with contextlib.suppress(Exception):
                await session.send(message)
            return
        await self._notify({"k": "send", "s": str(server_id), "m": message})

    async def broadcast_manifest(self) -> None:
        """Push the current manifest to every host agent on every replica."""
        await self._push_manifest_locally()
        await self._notify({"k": "manifest", "r": self.replica})

    async def _push_manifest_locally(self) -> None:
        async with self.db.system_session("read current manifest") as session:
            row = await session.scalar(select(Manifest).order_by(Manifest.version.desc()).limit(1))
        if row is None:
            return
        message = m.message(m.MANIFEST, document={"body": row.body, "signature": row.signature})
        for session_ in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await session_.send(message)

    async def disconnect(self, server_id: uuid.UUID) -> None:
        await self._notify({"k": "drop", "s": str(server_id)})

    # -- tool calls ----------------------------------------------------------------------------

    async def execute(self, call: Call) -> Row | None:
        """Run a queued execution on its host agent and store the result in its row.

        Returns the stored row when this process stored it; ``None`` when another replica did
        (or the row was no longer queued): the caller reads it then."""
        if call.server_id in self.sessions:
            return await self._run_here(call)
        found = await self.db.tenant_statement(call.org_id, _SERVER_ROUTE, {"id": call.server_id})
        replica, last_seen = found[0] if found else (None, None)
        fresh = bool(last_seen and (datetime.now(UTC) - last_seen).total_seconds() < STALE_SECONDS)
        if replica is None or not fresh:
            return await self._store(call, _error(m.ERR_OFFLINE, "the host agent is offline"), None)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._remote[str(call.execution_id)] = done
        try:
            await self._notify(
                {
                    "k": "dispatch",
                    "e": str(call.execution_id),
                    "o": str(call.org_id),
                    "r": replica,
                    "from": self.replica,
                }
            )
            await asyncio.wait_for(done, call.deadline_ms / 1000 + GRACE_SECONDS * 2)
        except TimeoutError:
            detail = "the replica holding the host agent's connection did not answer"
            return await self._store(call, _error(m.ERR_OFFLINE, detail), None)
        finally:
            self._remote.pop(str(call.execution_id), None)
        return None

    async def _run_here(self, call: Call) -> Row | None:
        session_ = self.sessions.get(call.server_id)
        if session_ is None or session_.closed:
            return await self._store(call, _error(m.ERR_OFFLINE, "the host agent is offline"), None)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        key = str(call.execution_id)
        session_.pending[key] = future
        started_at = datetime.now(UTC)
        started = time.monotonic()

        def too_late() -> None:
            if not future.done():
                detail = "the host agent did not answer before the deadline"
                future.set_result(_error(m.ERR_TIMEOUT, detail))

        # Timers rather than wait_for: no extra task per call. Most calls finish in
        # milliseconds; only a slow one is worth a "running" mark.
        deadline = loop.call_later(call.deadline_ms / 1000 + GRACE_SECONDS, too_late)
        marker = loop.call_later(
            RUNNING_MARK_SECONDS, lambda: self._spawn(self._mark_running(call, started_at))
        )
        try:
            await session_.send(call.message())
            result = await future
        except Exception:  # the socket died while sending
            result = _error(m.ERR_DISCONNECTED, "the connection to the host agent dropped")
        finally:
            deadline.cancel()
            marker.cancel()
            session_.pending.pop(key, None)
        if result.get("duration_ms") is None:
            result["duration_ms"] = int((time.monotonic() - started) * 1000)
        return await self._store(call, result, started_at)

    async def _mark_running(self, call: Call, started_at: datetime) -> None:
        async with self.db.tenant_session(call.org_id) as session:
            # A progress mark, not a record: it need not wait for the WAL flush.
            await session.execute(text("SET LOCAL synchronous_commit = off"))
            await session.execute(
                update(ToolExecution)
                .where(ToolExecution.id == call.execution_id, ToolExecution.status == "queued")
                .values(status="running", started_at=started_at)
            )

    async def _store(
        self, call: Call, result: dict[str, Any], started_at: datetime | None
    ) -> Row | None:
        """Write the result to the execution row (one durable commit) and return the row, or
        ``None`` when the row was no longer queued or running."""
        output = jsontext.dumps(result.get("output"))
        truncated = bool(result.get("truncated"))
        if len(output) > MAX_OUTPUT_BYTES:
            output = json.dumps({"note": "output over the platform's limit was dropped"})
            truncated = True
        ok = bool(result.get("ok"))
        duration = result.get("duration_ms")
        now = datetime.now(UTC)
        rows = await self.db.tenant_statement(
            call.org_id,
            _STORE,
            {
                "id": call.execution_id,
                "status": "succeeded" if ok else "failed",
                "output": output,
                "truncated": truncated,
                "error": None if ok else str(result.get("error") or "failed")[:4000],
                "error_kind": None if ok else str(result.get("error_kind") or m.ERR_FAILED),
                "duration_ms": int(duration) if isinstance(duration, int | float) else None,
                "started_at": started_at or now,
                "finished_at": now,
            },
        )
        return dict(zip(EXECUTION_COLUMNS, rows[0], strict=True)) if rows else None

    # -- routing between replicas --------------------------------------------------------------

    async def _notify(self, payload: dict[str, Any]) -> None:
        async with self.db.system_session("route to another replica") as session:
            await session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": json.dumps(payload)},
            )

    async def _listen(self) -> None:
        assert self._listen_conn is not None
        async for notice in self._listen_conn.notifies():
            try:
                payload = json.loads(notice.payload)
                await self._on_notice(payload)
            except Exception:
                log.exception("bad hub notification")

    async def _on_notice(self, payload: dict[str, Any]) -> None:
        kind = payload.get("k")
        if kind == "dispatch" and payload.get("r") == self.replica:
            org_id, execution_id = uuid.UUID(payload["o"]), uuid.UUID(payload["e"])
            self._spawn(self._dispatched(org_id, execution_id, payload.get("from", "")))
        elif kind == "done":
            future = self._remote.get(str(payload.get("e")))
            if future is not None and not future.done():
                future.set_result(None)
        elif kind == "send":
            session = self.sessions.get(uuid.UUID(payload["s"]))
            if session is not None and not session.closed:
                with contextlib.suppress(Exception):
                    await session.send(payload["m"])
        elif kind == "manifest" and payload.get("r") != self.replica:
            self._spawn(self._push_manifest_locally())
        elif kind == "drop":
            session = self.sessions.get(uuid.UUID(payload["s"]))
            if session is not None:
                self._fail_pending(session, m.ERR_OFFLINE, "the server was removed")
                session.closed = True
                with contextlib.suppress(Exception):
                    await session.close()

    async def _dispatched(self, org_id: uuid.UUID, execution_id: uuid.UUID, origin: str) -> None:
        rows = await self.db.tenant_statement(org_id, _QUEUED_CALL, {"id": execution_id})
        if rows:
            server_id, tool, params, deadline_ms = rows[0]
            await self._run_here(Call(org_id, execution_id, server_id, tool, params, deadline_ms))
        await self._notify({"k": "done", "e": str(execution_id), "r": origin})


def _error(kind: str, detail: str) -> dict[str, Any]:
    return {
        "ok": False,
        "error": detail,
        "error_kind": kind,
        "output": None,
        "truncated": False,
        "duration_ms": None,
    }
