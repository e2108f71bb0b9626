"""A generic webhook: the event as JSON, signed with HMAC-SHA256 over the timestamp and body.

Receivers check ``X-VixPro-Signature: v1=<hex>`` where ``<hex>`` is
``HMAC-SHA256(secret, "<X-VixPro-Timestamp>." + body)``, and refuse old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

from pydantic import BaseModel, Field, HttpUrl

from vixpro.notify.base import Context, Message, Sender, Sent, Strict, request

SIGNATURE_HEADER = "X-VixPro-Signature"
TIMESTAMP_HEADER = "X-VixPro-Timestamp"


class WebhookSecret(Strict):
    url: HttpUrl
    signing_secret: str = Field(min_length=16, max_length=256)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def document(message: Message) -> dict[str, Any]:
    return {
        "event": message.kind,
        "title": message.title,
        "body": message.body,
        "url": message.url,
        "organisation": message.org_name,
        "subject_id": str(message.subject_id) if message.subject_id else None,
        "data": message.data,
        "test": message.test,
    }


class Webhook(Sender):
    kind = "webhook"
    title = "Webhook"
    Secret: ClassVar[type[BaseModel] | None] = WebhookSecret
    hint_field = "url"

    async def send(self, message: Message, config: Any, secret: Any, context: Context) -> Sent:
        body = json.dumps(document(message), separators=(",", ":"), default=str).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "VixPro-Webhook/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret.signing_secret, timestamp, body),
        }
        return await request(
            context, "POST", str(secret.url), what="the webhook", content=body, headers=headers
        )
