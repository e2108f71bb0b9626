"""Every channel kind, by name: adding a channel is a module and a line here."""

from __future__ import annotations

from vixpro.notify.base import Channel, Sender
from vixpro.notify.bell import Bell
from vixpro.notify.discord import Discord
from vixpro.notify.email import Email
from vixpro.notify.pagerduty import PagerDuty
from vixpro.notify.slack import Slack
from vixpro.notify.teams import Teams
from vixpro.notify.twilio import Twilio
from vixpro.notify.webhook import Webhook

CHANNELS: dict[str, Channel] = {
    c.kind: c
    for c in (Bell(), Email(), Slack(), PagerDuty(), Twilio(), Teams(), Discord(), Webhook())
}

# The channels whose deliveries are jobs sending to an outside service (all but the bell).
SENDERS: dict[str, Sender] = {k: c for k, c in CHANNELS.items() if isinstance(c, Sender)}
