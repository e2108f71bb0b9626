"""PagerDuty Events API v2: trigger, acknowledge and resolve, one stable ``dedup_key`` per incident.

An incident's events all carry ``vixpro-<incident id>``, so PagerDuty keeps one alert per VixPro
incident and resolves it when the incident resolves.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field, HttpUrl

from vixpro.notify.base import Context, Message, Sender, Sent, Strict, request


class PagerDutySecret(Strict):
    routing_key: str = Field(min_length=8, max_length=64, description="the integration key")


class PagerDutyConfig(Strict):
    events_url: HttpUrl | None = Field(
        default=None, description="default: VIXPRO_PAGERDUTY_EVENTS_URL (PagerDuty's own)"
    )


ACTIONS = {"incident.acknowledged": "acknowledge", "incident.resolved": "resolve"}


def dedup_key(message: Message) -> str:
    if message.incident_id:
        return f"vixpro-{message.incident_id}"
    if message.subject_id:
        return f"vixpro-{message.kind}-{message.subject_id}"
    return f"vixpro-{message.kind}"


def event(message: Message, routing_key: str) -> dict[str, Any]:
    action = ACTIONS.get(message.kind, "trigger")
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(message),
    }
    if action == "trigger":
        body["payload"] = {
            "summary": message.title[:1024],
            "source": str(message.data.get("source") or "vixpro"),
            "severity": "critical" if message.critical else "warning",
            "component": message.org_name,
            "class": message.kind,
            "custom_details": {"details": message.body, **message.data},
        }
        body["client"] = "VixPro"
        body["client_url"] = message.url
        body["links"] = [{"href": message.url, "text": "Open in VixPro"}]
    return body


class PagerDuty(Sender):
    kind = "pagerduty"
    title = "PagerDuty"
    Config: ClassVar[type[BaseModel]] = PagerDutyConfig
    Secret: ClassVar[type[BaseModel] | None] = PagerDutySecret
    hint_field = "routing_key"

    async def send(self, message: Message, config: Any, secret: Any, context: Context) -> Sent:
        url = str(config.events_url or context.settings.pagerduty_events_url)
        return await request(
            context, "POST", url, what="PagerDuty", json=event(message, secret.routing_key)
        )
