"""Opaque cursors for keyset pagination: (created_at, id) encoded as URL-safe text."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


class BadCursor(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cursor:
    at: datetime
    id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, ident = json.loads(raw)
            return cls(datetime.fromisoformat(at), UUID(ident))
        except (ValueError, TypeError) as exc:
            raise BadCursor("cursor is not one this API returned") from exc
