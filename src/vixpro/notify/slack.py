"""Slack: an incoming webhook, a Block Kit message with a button back to VixPro."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field, HttpUrl

from vixpro.notify.base import HttpChannel, Message, Strict


class SlackSecret(Strict):
    webhook_url: HttpUrl = Field(description="https://hooks.slack.com/services/…")


def _escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Slack(HttpChannel):
    kind = "slack"
    title = "Slack"
    Secret: ClassVar[type[BaseModel] | None] = SlackSecret
    hint_field = "webhook_url"

    def payload(self, message: Message) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        ]
        if message.body:
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": _escape(message.body)[:2900]},
                }
            )
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"{_escape(message.org_name)} · `{message.kind}`"}
                ],
            }
        )
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in VixPro"},
                        "url": message.url,
                    }
                ],
            }
        )
        # ``text`` is what notifications and screen readers show.
        return {"text": message.title, "blocks": blocks}
