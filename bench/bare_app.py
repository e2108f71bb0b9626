"""The baseline: a bare FastAPI endpoint of the same shape as ``GET /api/v1/me``, no database."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

app = FastAPI()


class Me(BaseModel):
    kind: str
    label: str
    role: str
    org_name: str


@app.get("/api/v1/me", response_model=Me)
async def me(authorization: Annotated[str, Header()] = "") -> Me:
    if not authorization.startswith("Bearer "):
        raise HTTPException(401)
    return Me(kind="api_key", label="bench", role="admin", org_name="bench")
