"""Twilio SMS: one message per number through the Messages REST resource."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, Field, HttpUrl, field_validator

from vixpro.notify.base import ChannelError, Context, Message, Sender, Sent, Strict, request

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SMS_CHARS = 320  # two segments: an SMS should say what happened and where to look, no more


class TwilioSecret(Strict):
    auth_token: str = Field(min_length=16, max_length=128)


class TwilioConfig(Strict):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    from_number: str
    to_numbers: list[str] = Field(min_length=1, max_length=10)
    api_url: HttpUrl | None = Field(
        default=None, description="default: VIXPRO_TWILIO_API_URL (Twilio's own)"
    )

    @field_validator("from_number")
    @classmethod
    def _from(cls, value: str) -> str:
        if not E164.match(value):
            raise ValueError("must be a phone number in E.164 form, like +14155550100")
        return value

    @field_validator("to_numbers")
    @classmethod
    def _to(cls, values: list[str]) -> list[str]:
        for value in values:
            if not E164.match(value):
                raise ValueError(f"{value!r} is not a phone number in E.164 form (+14155550100)")
        return values


def text(message: Message) -> str:
    # Plain ASCII dashes: a single non-GSM character makes every segment cost twice as much.
    words = f"VixPro: {message.title} - {message.url}"
    return words if len(words) <= SMS_CHARS else f"VixPro: {message.title[:200]} - {message.url}"


class Twilio(Sender):
    kind = "twilio"
    title = "SMS (Twilio)"
    Config: ClassVar[type[BaseModel]] = TwilioConfig
    Secret: ClassVar[type[BaseModel] | None] = TwilioSecret
    hint_field = "auth_token"

    async def send(self, message: Message, config: Any, secret: Any, context: Context) -> Sent:
        base = str(config.api_url or context.settings.twilio_api_url).rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        answers: list[str] = []
        status: int | None = None
        for number in config.to_numbers:
            try:
                sent = await request(
                    context,
                    "POST",
                    url,
                    what="Twilio",
                    data={"To": number, "From": config.from_number, "Body": text(message)},
                    auth=(config.account_sid, secret.auth_token),
                )
            except ChannelError as exc:
                if answers:  # some numbers got it: say so, and retry (Twilio dedups nothing)
                    raise ChannelError(
                        f"{exc} (after {len(answers)} of {len(config.to_numbers)} numbers)",
                        permanent=exc.permanent,
                        status=exc.status,
                        response=exc.response,
                    ) from None
                raise
            status = sent.status
            answers.append(sent.response)
        return Sent(status, "\n".join(answers))
