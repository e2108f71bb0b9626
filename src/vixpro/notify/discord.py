"""Discord: a channel webhook, one embed linking back to VixPro."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field, HttpUrl

from vixpro.notify.base import HttpChannel, Message, Strict

RED, GREEN, BLUE = 0xD93025, 0x188038, 0x1A73E8


class DiscordSecret(Strict):
    webhook_url: HttpUrl = Field(description="https://discord.com/api/webhooks/…")


class Discord(HttpChannel):
    kind = "discord"
    title = "Discord"
    Secret: ClassVar[type[BaseModel] | None] = DiscordSecret
    hint_field = "webhook_url"

    def payload(self, message: Message) -> dict[str, Any]:
        colour = GREEN if message.kind.endswith("resolved") else RED if message.critical else BLUE
        return {
            "username": "VixPro",
            "content": message.title[:2000],
            "allowed_mentions": {"parse": []},  # an alert title never pings @everyone
            "embeds": [
                {
                    "title": message.title[:256],
                    "description": message.body[:4000],
                    "url": message.url,
                    "color": colour,
                    "footer": {"text": f"{message.org_name} · {message.kind}"[:2048]},
                }
            ],
        }
