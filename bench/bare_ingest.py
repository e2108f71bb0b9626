"""The baseline for bench/ingest.py: a bare FastAPI webhook endpoint that parses the JSON body
and does nothing with it, answering 202 like VixPro's."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/api/v1/webhooks/{token}")
async def receive(token: str, request: Request) -> JSONResponse:
    document = json.loads(await request.body() or b"{}")
    alerts = document.get("alerts", []) if isinstance(document, dict) else []
    return JSONResponse({"status": "success", "accepted": len(alerts)}, status_code=202)
