"""The WebSocket client: challenge-response, message handling, heartbeats, reconnection."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from vixpro_agent import __version__
from vixpro_agent.agent import HostAgent
from vixpro_agent.protocol import messages

log = logging.getLogger("vixpro_agent.connection")

WS_PATH = "/api/v1/hostagent/ws"
HANDSHAKE_TIMEOUT_S = 15.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# Without a word from the platform for this many heartbeats the connection is dead.
SILENT_HEARTBEATS = 3


class SessionError(Exception):
    """The platform refused the hello, or did not follow the protocol."""


def websocket_url(platform_url: str) -> str:
    parts = urlsplit(platform_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {platform_url}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + WS_PATH, "", ""))


class Backoff:
    """Jittered exponential backoff: 1 s doubling up to 60 s, reset after a good connection."""

    def __init__(self, base: float = 1.0, cap: float = 60.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        # Jitter spreads the reconnections of many servers after a platform restart.
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography

    def reset(self) -> None:
        self.attempt = 0


def _describe(exc: BaseException) -> str:
    """An exception as text, following its causes: some carry no message of their own."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 4:
        text = str(current)
        parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return "; caused by ".join(parts)


def _parse(raw: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("type"), str) else None


class Session:
    """One open WebSocket after the handshake."""

    def __init__(
        self,
        agent: HostAgent,
        ws: ClientConnection,
        heartbeat_s: float,
        calls: set[asyncio.Task[None]],
    ) -> None:
        self.agent = agent
        self.ws = ws
        self.heartbeat_s = heartbeat_s
        self.last_received = time.monotonic()
        self.closed_reason: str | None = None
        self._send_lock = asyncio.Lock()
        # Calls outlive their session: a dropped connection does not stop a call halfway
        # (its result is dropped); stopping the host agent does.
        self.calls = calls

    async def send(self, message: messages.Message) -> None:
        async with self._send_lock:
            await self.ws.send(json.dumps(message))

    async def run(self) -> None:
        await self.agent.connected(self.send)
        heartbeat = asyncio.ensure_future(self._heartbeat())
        try:
            async for raw in self.ws:
                self.last_received = time.monotonic()
                message = _parse(raw)
                if message is None:
                    log.warning("ignored a message that is not a JSON object with a type")
                    continue
                await self._handle(message)
        finally:
            heartbeat.cancel()

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == messages.TOOL_CALL:
            task = asyncio.ensure_future(self._call(message))
            self.calls.add(task)
            task.add_done_callback(self.calls.discard)
        elif kind == messages.PING:
            await self.send(messages.message(messages.PONG, at=message.get("at")))
        elif kind == messages.PONG:
            pass  # receiving anything already counts as a sign of life
        elif kind == messages.MANIFEST:
            refusal = self.agent.on_manifest(message.get("document"))
            if refusal is not None:
                await self.send(refusal)
        elif kind == messages.CONFIG:
            self.agent.on_config(message.get("document"))
        elif kind == messages.ERROR:
            log.warning("the platform reported an error: %s", message.get("detail"))
            self.agent.write_status(last_error=f"platform: {message.get('detail')}")
        else:
            log.info("ignored a %s message", kind)

    async def _call(self, message: dict[str, Any]) -> None:
        result = await self.agent.runner.run(message)
        try:
            await self.send(result)
        except ConnectionClosed:
            # The platform ends this call as "disconnected" itself.
            log.info("result of call %s dropped: the connection closed", result.get("id"))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            if time.monotonic() - self.last_received > SILENT_HEARTBEATS * self.heartbeat_s:
                self.closed_reason = (
                    f"no message from the platform for {SILENT_HEARTBEATS} heartbeats"
                )
                log.warning("%s: reconnecting", self.closed_reason)
                await self.ws.close(code=1011, reason="heartbeat timeout")
                return
            try:
                await self.send(messages.message(messages.PING, at=time.time()))
            except ConnectionClosed:
                return  # the receive loop sees the close too, and ends the session


async def _recv(ws: ClientConnection, timeout: float) -> Any:
    # Not asyncio.wait_for: before Python 3.12 it can swallow a cancellation that arrives
    # as the message does, and a stop during the handshake would then be lost.
    receiving = asyncio.ensure_future(ws.recv())
    try:
        done, _pending = await asyncio.wait({receiving}, timeout=timeout)
    finally:
        if not receiving.done():
            receiving.cancel()
    if not done:
        raise asyncio.TimeoutError
    return receiving.result()


async def _expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    raw = await _recv(ws, HANDSHAKE_TIMEOUT_S)
    message = _parse(raw)
    if message is None:
        raise SessionError(f"expected {kind}, got something that is not a protocol message")
    if message["type"] == messages.ERROR:
        raise SessionError(f"the platform refused the connection: {message.get('detail')}")
    if message["type"] != kind:
        raise SessionError(f"expected {kind}, got {message['type']}")
    return message


async def handshake(agent: HostAgent, ws: ClientConnection) -> float:
    """Answer the challenge; return the heartbeat interval from the welcome."""
    challenge = await _expect(ws, messages.CHALLENGE)
    nonce = challenge.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise SessionError("the challenge has no nonce")
    await ws.send(json.dumps(agent.hello(nonce)))
    welcome = await _expect(ws, messages.WELCOME)
    heartbeat = welcome.get("heartbeat_s", messages.HEARTBEAT_SECONDS)
    if (
        isinstance(heartbeat, bool)
        or not isinstance(heartbeat, (int, float))
        or not 0 < heartbeat <= 300
    ):
        heartbeat = messages.HEARTBEAT_SECONDS
    return float(heartbeat)


async def _cancel(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait for it, cancelling again should a cancellation be lost."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=HANDSHAKE_TIMEOUT_S)
    if not task.cancelled():
        task.exception()  # retrieved: the outcome of an abandoned attempt is not wanted


class Connection:
    """Keeps one session open to the platform, reconnecting until told to stop."""

    def __init__(
        self,
        agent: HostAgent,
        url: str,
        ssl_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.agent = agent
        self.url = websocket_url(url)
        self.ssl_context = ssl_context if self.url.startswith("wss://") else None
        self.backoff = backoff or Backoff()
        self.sessions = 0  # completed handshakes, for tests and logs
        self.calls: set[asyncio.Task[None]] = set()
        self.last_error: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                # Racing each attempt against the stop signal: a stop during a slow connect
                # or handshake must not wait for its timeouts.
                attempt = asyncio.ensure_future(self.connect_once())
                await asyncio.wait({attempt, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not attempt.done():
                    await _cancel(attempt)
                    self.agent.disconnected(None)
                    break
                error = attempt.result()
                self.last_error = error or self.last_error
                self.agent.disconnected(error)
                if stop.is_set():
                    break
                delay = self.backoff.next_delay()
                log.info("reconnecting in %.1f s", delay)
                await asyncio.wait({stopping}, timeout=delay)
        finally:
            stopping.cancel()
            for task in list(self.calls):
                task.cancel()
            await asyncio.gather(*self.calls, return_exceptions=True)

    async def connect_once(self) -> str | None:
        """One connection, from connect to close. Returns why it ended, if it was an error."""
        session: Session | None = None
        try:
            async with connect(
                self.url,
                ssl=self.ssl_context,
                open_timeout=HANDSHAKE_TIMEOUT_S,
                ping_interval=None,  # the protocol has its own ping/pong messages
                max_size=MAX_MESSAGE_BYTES,
                user_agent_header=f"vixpro-agent/{__version__}",
            ) as ws:
                heartbeat = await handshake(self.agent, ws)
                self.sessions += 1
                self.backoff.reset()
                log.info("connected to %s", self.url)
                session = Session(self.agent, ws, heartbeat, self.calls)
                await session.run()
                return session.closed_reason or "the platform closed the connection"
        except ConnectionClosed as exc:
            if session is not None and session.closed_reason:
                return session.closed_reason
            return f"connection closed: {exc}"
        except SessionError as exc:
            log.warning("%s", exc)
            return str(exc)
        except asyncio.TimeoutError:
            return "timed out waiting for the platform"
        except ssl.SSLError as exc:
            log.warning("TLS failure connecting to %s: %s", self.url, exc)
            return f"TLS: {exc}"
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            reason = _describe(exc)
            log.warning("cannot connect to %s: %s", self.url, reason)
            return f"cannot connect: {reason}"
