"""What host agents talk to: enrolment, the WebSocket, and the install script and package."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from importlib import resources
from typing import Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send
from vixpro_agent.protocol import messages as m
from vixpro_agent.protocol import signing
from vixpro_agent.protocol.canonical import canonical_json

from vixpro.db.models import Server
from vixpro.hub.package import agent_wheel
from vixpro.tools import servers
from vixpro.tools.catalogue import manifest_document
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import StateDep, client_ip
from vixpro.web.state import AppState
from vixpro.web.urls import public_base

router = APIRouter(prefix="/api/v1/hostagent", tags=["host agent"])
HELLO_TIMEOUT = 10.0
# The handshake runs once per connection, thousands at a time after a platform restart: one
# plain statement rather than an ORM session.
_SERVER = "SELECT org_id, public_key, config, config_version FROM servers WHERE id = %(id)s"
# Shipped inside the host-agent package, so the script always matches the agent it installs.
INSTALL_TEMPLATE = resources.files("vixpro_agent") / "packaging" / "install.sh.template"


class EnrollIn(Strict):
    token: str = Field(min_length=10, max_length=200)
    public_key: str = Field(min_length=100, max_length=10_000)
    facts: dict[str, Any] = Field(default_factory=dict)


class EnrollOut(BaseModel):
    server_id: str
    platform_public_key: str
    config: dict[str, Any]
    manifest: dict[str, Any]


@router.post("/enroll", response_model=EnrollOut, status_code=201, summary="Enrol a host agent")
async def enroll(body: EnrollIn, request: Request, state: StateDep) -> EnrollOut:
    assert state.signer is not None and state.manifest is not None
    async with state.db.system_session("host agent enrolment by token") as session:
        answer = await servers.enroll(
            session,
            state.signer,
            state.manifest,
            token=body.token,
            public_key=body.public_key,
            facts=body.facts,
            platform_url=public_base(state, request),
            ip=client_ip(request),
        )
    return EnrollOut(**answer)


@router.get("/install.sh", response_class=PlainTextResponse, summary="The install script")
async def install_script(
    request: Request,
    state: StateDep,
    token: str = Query(min_length=10, max_length=200, pattern=r"^[A-Za-z0-9_-]+$"),
) -> PlainTextResponse:
    script = INSTALL_TEMPLATE.read_text()
    script = script.replace("{{PLATFORM_URL}}", public_base(state, request))
    script = script.replace("{{TOKEN}}", token).replace("{{CA_PEM}}", "")
    return PlainTextResponse(script, media_type="text/x-shellscript")


@router.get("/package", summary="The host-agent wheel for this platform version")
async def package() -> Response:
    name, data = agent_wheel()
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _refuse(websocket: WebSocket, detail: str) -> None:
    await websocket.send_json(m.message(m.ERROR, detail=detail))
    await websocket.close(code=4401)


SOCKET_PATH = "/api/v1/hostagent/ws"


@router.websocket("/ws")
async def hostagent_socket(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.vixpro
    await websocket.accept()
    nonce = secrets.token_urlsafe(32)
    await websocket.send_json(m.message(m.CHALLENGE, nonce=nonce))
    try:
        hello = await asyncio.wait_for(websocket.receive_json(), HELLO_TIMEOUT)
    except (TimeoutError, WebSocketDisconnect, ValueError):
        await websocket.close(code=4400)
        return
    if not isinstance(hello, dict) or hello.get("type") != m.HELLO:
        await _refuse(websocket, "expected hello")
        return
    try:
        server_id = uuid.UUID(str(hello.get("server_id")))
    except ValueError:
        await _refuse(websocket, "hello.server_id is not a server id")
        return
    async with state.db.counter_connection() as conn:  # system role: who is connecting
        cursor = await conn.execute(_SERVER, {"id": server_id})
        row = await cursor.fetchone()
    server = (
        None
        if row is None
        else Server(
            id=server_id, org_id=row[0], public_key=row[1], config=row[2], config_version=row[3]
        )
    )
    if server is None:
        await _refuse(websocket, "unknown server: enrol again")
        return
    try:
        key = signing.load_public_pem(server.public_key)
        payload = canonical_json(m.hello_payload(nonce, str(server_id)))
        signing.verify_bytes(key, payload, str(hello.get("signature", "")))
    except signing.SignatureError:
        await _refuse(websocket, "the challenge signature does not match this server's key")
        return
    first: list[dict[str, Any]] = []
    if (
        state.manifest is not None
        and int(hello.get("manifest_version") or 0) < state.manifest.version
    ):
        first.append(m.message(m.MANIFEST, document=manifest_document(state.manifest)))
    if int(hello.get("config_version") or 0) < server.config_version and state.signer:
        # Signing costs milliseconds of CPU: only when the host agent needs a config.
        first.append(m.message(m.CONFIG, document=state.signer.sign(servers.config_body(server))))

    async def receive() -> str | None:
        try:
            return await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return None

    async def close() -> None:
        await websocket.close(code=4000)

    assert state.hub is not None
    await state.hub.serve(server, hello, websocket.send_text, receive, close, first)


class HostAgentSocketShortcut:
    """Serve host-agent WebSockets straight from the outermost middleware.

    A host-agent connection lives for days, and every layer of the routing stack it passes
    through keeps a frame alive for as long: at ten thousand connections that is memory worth
    saving. Everything else goes through the application as usual.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == SOCKET_PATH:
            await hostagent_socket(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)
