"""The channel interface: one class per channel kind, one error type that says whether to retry.

A channel turns a ``Message`` into the request its service expects. ``HttpChannel`` owns the
HTTP part (timeouts, reading the answer, deciding whether a failure is permanent) so that each
channel module only builds its payload.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict

from vixpro.settings import Settings

RESPONSE_KEPT = 2000  # characters of an answer kept in the delivery log


class ChannelError(Exception):
    """A delivery failed. ``permanent``: retrying cannot help (a 404 webhook, a revoked key),
    so the channel is flagged to its organisation instead. The message never holds a secret."""

    def __init__(
        self, message: str, *, permanent: bool, status: int | None = None, response: str = ""
    ) -> None:
        self.permanent = permanent
        self.status = status
        self.response = response[:RESPONSE_KEPT]
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Message:
    """One event, ready to send: ``url`` is the absolute link back to the dashboard."""

    kind: str
    title: str
    body: str
    url: str
    org_name: str
    subject_id: uuid.UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)
    test: bool = False

    @property
    def incident_id(self) -> str | None:
        value = self.data.get("incident_id")
        return str(value) if value else None

    @property
    def critical(self) -> bool:
        return self.data.get("severity") == "critical" or self.kind.startswith("hostagent.")


@dataclass(frozen=True, slots=True)
class Sent:
    """What the other side answered to a successful delivery."""

    status: int | None
    response: str


# Keeps an email that could not be sent because no SMTP server is configured.
KeepEmail = Callable[[str, str, str, str], Awaitable[None]]


@dataclass(slots=True)
class Context:
    """What a channel may use: one HTTP client (with timeouts), the platform's settings."""

    settings: Settings
    client: httpx.AsyncClient
    keep_email: KeepEmail | None = None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoConfig(Strict):
    pass


class Channel:
    """One kind of channel. ``Config`` is stored as JSON; ``Secret`` is sealed at rest and shown
    only as the last four characters of ``hint_field``. The bell is a channel that is rung by
    the dispatcher itself; every channel that leaves the platform is a ``Sender``."""

    kind: ClassVar[str]
    title: ClassVar[str]
    Config: ClassVar[type[BaseModel]] = NoConfig
    Secret: ClassVar[type[BaseModel] | None] = None
    hint_field: ClassVar[str] = ""


class Sender(Channel, ABC):
    """A channel whose deliveries are jobs that send to an outside service."""

    @abstractmethod
    async def send(self, message: Message, config: Any, secret: Any, context: Context) -> Sent:
        """Deliver ``message``; raise ``ChannelError`` on failure."""


def _permanent(status: int) -> bool:
    # 4xx means the request itself is wrong (bad URL, revoked key): retrying cannot help, except
    # for "too many requests" and timeouts.
    return 400 <= status < 500 and status not in (408, 409, 425, 429)


async def request(
    context: Context,
    method: str,
    url: str,
    *,
    what: str,
    json: Any = None,
    data: dict[str, str] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Sent:
    """Send one request; a 2xx is a ``Sent``, anything else a ``ChannelError``.

    ``what`` names the service in errors; the URL never appears (it may be the secret).
    """
    try:
        response = await context.client.request(
            method, url, json=json, data=data, content=content, headers=headers, auth=auth
        )
    except httpx.TimeoutException:
        raise ChannelError(f"{what} did not answer in time", permanent=False) from None
    except httpx.InvalidURL:
        raise ChannelError(f"the {what} URL is not valid", permanent=True) from None
    except httpx.HTTPError as exc:
        raise ChannelError(
            f"could not reach {what} ({type(exc).__name__})", permanent=False
        ) from None
    body = response.text[:RESPONSE_KEPT]
    if 200 <= response.status_code < 300:
        return Sent(response.status_code, body)
    permanent = _permanent(response.status_code)
    hint = "; check the channel's settings" if permanent else ""
    raise ChannelError(
        f"{what} answered HTTP {response.status_code}{hint}",
        permanent=permanent,
        status=response.status_code,
        response=body,
    )


class HttpChannel(Sender):
    """A channel that posts JSON to a URL held in its secret (Slack, Teams, Discord)."""

    Secret: ClassVar[type[BaseModel] | None]

    @abstractmethod
    def payload(self, message: Message) -> dict[str, Any]:
        """The JSON body for ``message``."""

    async def send(self, message: Message, config: Any, secret: Any, context: Context) -> Sent:
        return await request(
            context, "POST", str(secret.webhook_url), what=self.title, json=self.payload(message)
        )
