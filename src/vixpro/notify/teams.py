"""Microsoft Teams: a Workflows (or connector) incoming webhook, one Adaptive Card."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field, HttpUrl

from vixpro.notify.base import HttpChannel, Message, Strict


class TeamsSecret(Strict):
    webhook_url: HttpUrl = Field(description="the Teams workflow's HTTP POST URL")


class Teams(HttpChannel):
    kind = "teams"
    title = "Microsoft Teams"
    Secret: ClassVar[type[BaseModel] | None] = TeamsSecret
    hint_field = "webhook_url"

    def payload(self, message: Message) -> dict[str, Any]:
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {
                    "type": "TextBlock",
                    "text": message.title,
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": True,
                    "color": "Attention" if message.critical else "Default",
                },
                {"type": "TextBlock", "text": message.body, "wrap": True},
                {
                    "type": "TextBlock",
                    "text": f"{message.org_name} · {message.kind}",
                    "isSubtle": True,
                    "size": "Small",
                },
            ],
            "actions": [{"type": "Action.OpenUrl", "title": "Open in VixPro", "url": message.url}],
        }
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }
