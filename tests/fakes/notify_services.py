"""Local servers that speak the notification services' APIs, recording every request.

One Starlette app under uvicorn on 127.0.0.1 serves them all, each under its own prefix:

- Slack incoming webhooks: ``POST /slack/services/<T>/<B>/<secret>`` → ``200 ok``;
  an unknown hook → ``404 no_service`` (what Slack answers for a deleted webhook);
- PagerDuty Events API v2: ``POST /pagerduty/v2/enqueue`` → ``202`` with ``dedup_key``;
  an unknown routing key or a malformed event → ``400 invalid event``;
- Twilio Messages: ``POST /twilio/2010-04-01/Accounts/<sid>/Messages.json`` (form, HTTP basic
  auth) → ``201`` message resource; wrong credentials → ``401`` (code 20003);
- Teams workflow webhook: ``POST /teams/<id>`` → ``202``;
- Discord webhook: ``POST /discord/api/webhooks/<id>/<token>`` → ``204``;
- a generic receiver: ``POST /hook/<name>`` → ``200``.

``fail(prefix, status, times)`` makes the next requests under a prefix answer an error, and
``hang(prefix)`` makes them never answer (until the server stops).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Recorded:
    service: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class _Fault:
    prefix: str
    status: int | None  # None: hang
    times: int


@dataclass
class FakeServices:
    slack_hooks: set[str] = field(default_factory=set)
    routing_keys: set[str] = field(default_factory=set)
    twilio: dict[str, str] = field(default_factory=dict)  # account sid → auth token
    requests: list[Recorded] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    # -- what tests use -------------------------------------------------------------------

    def slack_url(self) -> str:
        path = f"T{uuid.uuid4().hex[:8].upper()}/B{uuid.uuid4().hex[:8].upper()}/{uuid.uuid4().hex}"
        self.slack_hooks.add(path)
        return f"{self.url}/slack/services/{path}"

    def routing_key(self) -> str:
        key = uuid.uuid4().hex  # PagerDuty integration keys are 32 characters
        self.routing_keys.add(key)
        return key

    def twilio_account(self) -> tuple[str, str]:
        sid, token = "AC" + uuid.uuid4().hex, uuid.uuid4().hex
        self.twilio[sid] = token
        return sid, token

    def fail(self, prefix: str, status: int, times: int = 1) -> None:
        with self._lock:
            self._faults.append(_Fault(prefix, status, times))

    def hang(self, prefix: str, times: int = 1) -> None:
        with self._lock:
            self._faults.append(_Fault(prefix, None, times))

    def of(self, service: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.service == service]

    # -- the server -----------------------------------------------------------------------

    def _fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.prefix) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    async def _record(self, service: str, request: Request) -> Response | None:
        body = await request.body()
        with self._lock:
            self.requests.append(Recorded(service, request.url.path, dict(request.headers), body))
        fault = self._fault(request.url.path)
        if fault is None:
            return None
        if fault.status is None:
            await asyncio.sleep(3600)
        return PlainTextResponse("injected failure", status_code=fault.status or 500)

    async def _slack(self, request: Request) -> Response:
        if (answer := await self._record("slack", request)) is not None:
            return answer
        hook = request.url.path.removeprefix("/slack/services/")
        if hook not in self.slack_hooks:
            return PlainTextResponse("no_service", status_code=404)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not body.get("text") and not body.get("blocks"):
            return PlainTextResponse("no_text", status_code=400)
        return PlainTextResponse("ok")

    async def _pagerduty(self, request: Request) -> Response:
        if (answer := await self._record("pagerduty", request)) is not None:
            return answer
        try:
            event = json.loads(await request.body())
        except ValueError:
            return JSONResponse(
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["Malformed JSON"],
                },
                400,
            )
        errors = []
        if event.get("routing_key") not in self.routing_keys:
            errors.append("'routing_key' is invalid")
        action = event.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        if action == "trigger":
            payload = event.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing or blank")
        elif not event.get("dedup_key"):
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if errors:
            return JSONResponse(
                {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                400,
            )
        key = event.get("dedup_key") or uuid.uuid4().hex
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": key}, 202
        )

    async def _twilio(self, request: Request) -> Response:
        if (answer := await self._record("twilio", request)) is not None:
            return answer
        sid = request.path_params["sid"]
        auth = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{sid}:{self.twilio.get(sid, '')}".encode()).decode()
        if sid not in self.twilio or auth != f"Basic {expected}":
            return JSONResponse(
                {
                    "code": 20003,
                    "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003",
                    "status": 401,
                },
                401,
            )
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        for name in ("To", "From", "Body"):
            if not form.get(name):
                return JSONResponse(
                    {"code": 21604, "message": f"A '{name}' is required.", "status": 400}, 400
                )
        message = {
            "sid": "SM" + uuid.uuid4().hex,
            "account_sid": sid,
            "to": form["To"],
            "from": form["From"],
            "body": form["Body"],
            "status": "queued",
            "num_segments": "1",
        }
        return JSONResponse(message, 201)

    async def _teams(self, request: Request) -> Response:
        if (answer := await self._record("teams", request)) is not None:
            return answer
        body = json.loads(await request.body())
        if body.get("type") != "message" or not body.get("attachments"):
            return PlainTextResponse("Bad payload", status_code=400)
        return Response(status_code=202)

    async def _discord(self, request: Request) -> Response:
        if (answer := await self._record("discord", request)) is not None:
            return answer
        body = json.loads(await request.body())
        if not body.get("content") and not body.get("embeds"):
            return JSONResponse({"message": "Cannot send an empty message", "code": 50006}, 400)
        return Response(status_code=204)

    async def _hook(self, request: Request) -> Response:
        if (answer := await self._record("hook", request)) is not None:
            return answer
        return PlainTextResponse("received")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/slack/services/{rest:path}", self._slack, methods=["POST"]),
                Route("/pagerduty/v2/enqueue", self._pagerduty, methods=["POST"]),
                Route(
                    "/twilio/2010-04-01/Accounts/{sid}/Messages.json",
                    self._twilio,
                    methods=["POST"],
                ),
                Route("/teams/{rest:path}", self._teams, methods=["POST"]),
                Route("/discord/api/webhooks/{rest:path}", self._discord, methods=["POST"]),
                Route("/hook/{rest:path}", self._hook, methods=["POST"]),
            ]
        )


class ServicesServer:
    """``FakeServices`` under uvicorn in its own thread; use as a context manager."""

    def __init__(self) -> None:
        self.fake = FakeServices()
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = threading.Event()

    def _run(self) -> None:
        config = uvicorn.Config(
            self.fake.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)

        async def serve() -> None:
            assert self._server is not None
            task = asyncio.create_task(self._server.serve())
            for _ in range(500):
                if self._server.started:
                    break
                await asyncio.sleep(0.01)
            port = self._server.servers[0].sockets[0].getsockname()[1]
            self.fake.url = f"http://127.0.0.1:{port}"
            self._started.set()
            await task

        asyncio.run(serve())

    def __enter__(self) -> FakeServices:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the fake services did not start")
        return self.fake

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # a hung request must not hold the test run
        self._thread.join(10)
