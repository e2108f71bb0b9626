"""A small platform that speaks the host-agent WebSocket protocol, for tests.

It sends the challenge, verifies the hello signature with the enrolled public key, answers
``welcome``, records everything the host agent sends, and lets the test push messages.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import ssl
import time
from typing import Any, Callable

from websockets.asyncio.server import Server, ServerConnection, serve

from vixpro_agent.protocol import messages, signing
from vixpro_agent.protocol.canonical import canonical_json

WS_PATH = "/api/v1/hostagent/ws"


class FakePlatform:
    def __init__(
        self,
        agent_public_key: signing.PublicKey,
        server_id: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        heartbeat_s: float = 15,
    ) -> None:
        self.agent_public_key = agent_public_key
        self.server_id = server_id
        self.ssl_context = ssl_context
        self.heartbeat_s = heartbeat_s
        self.hellos: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.connections = 0
        self.current: ServerConnection | None = None
        self.on_welcome: Callable[[ServerConnection], Any] | None = None
        self.answer_pings = True
        self._server: Server | None = None

    async def __aenter__(self) -> FakePlatform:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, ssl=self.ssl_context, ping_interval=None
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def _handle(self, ws: ServerConnection) -> None:
        self.paths.append(ws.request.path if ws.request else "")
        nonce = secrets.token_hex(16)
        await ws.send(json.dumps(messages.message(messages.CHALLENGE, nonce=nonce)))
        hello = json.loads(await ws.recv())
        payload = canonical_json(messages.hello_payload(nonce, self.server_id))
        try:
            if hello.get("type") != messages.HELLO or hello.get("server_id") != self.server_id:
                raise signing.SignatureError("not a hello for this server")
            signing.verify_bytes(self.agent_public_key, payload, hello.get("signature", ""))
            hello["verified"] = True
        except signing.SignatureError:
            hello["verified"] = False
        self.hellos.append(hello)
        if not hello["verified"]:
            await ws.send(json.dumps(messages.message(messages.ERROR, detail="hello refused")))
            await ws.close()
            return
        await ws.send(json.dumps(messages.message(messages.WELCOME, heartbeat_s=self.heartbeat_s)))
        self.connections += 1
        self.current = ws
        if self.on_welcome is not None:
            await self.on_welcome(ws)
        try:
            async for raw in ws:
                message = json.loads(raw)
                self.received.append(message)
                if message.get("type") == messages.PING and self.answer_pings:
                    await ws.send(json.dumps(messages.message(messages.PONG, at=message.get("at"))))
        except Exception:
            pass

    async def send(self, message: dict[str, Any]) -> None:
        assert self.current is not None
        await self.current.send(json.dumps(message))

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}; received {self.received!r}"[:3000])

    async def expect(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """The first message received of type ``kind`` with these fields (any time so far)."""

        def find() -> dict[str, Any] | None:
            for message in self.received:
                if message.get("type") == kind and all(
                    message.get(k) == v for k, v in fields.items()
                ):
                    return message
            return None

        result: dict[str, Any] = await self.wait_for(find, timeout, what=f"{kind} {fields}")
        return result
