"""Email: one outbound path through the platform's SMTP server (``VIXPRO_SMTP_*``).

HTML and text bodies come from ``web/templates/email``. With no SMTP server configured nothing
is sent: the message is kept in the email outbox, which platform staff read in the staff console.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, ClassVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field, field_validator

from vixpro.notify.base import ChannelError, Context, Message, Sender, Sent, Strict
from vixpro.settings import Settings

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates" / "email"
ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
NOT_CONFIGURED = "email is not configured on this platform (VIXPRO_SMTP_HOST): kept in the outbox"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
)


def render(message: Message) -> tuple[str, str, str]:
    """Subject, text body and HTML body for ``message``."""
    context = {"m": message}
    subject = f"[VixPro] {message.title}"[:255]
    text = _env.get_template("notification.txt").render(context)
    html = _env.get_template("notification.html").render(context)
    return subject, text, html


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def _send_now(settings: Settings, to: str, subject: str, text: str, html: str) -> str:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="vixpro")
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    host, port, timeout = (
        settings.smtp_host or "",
        settings.smtp_port,
        settings.smtp_timeout_seconds,
    )
    smtp: smtplib.SMTP
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username and settings.smtp_password is not None:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        refused = smtp.send_message(msg)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)
    return f"accepted by {host}:{port} as {msg['Message-ID']}"


async def send(context: Context, to: str, message: Message) -> Sent:
    """Send one email (or keep it in the outbox when SMTP is not configured)."""
    subject, text, html = render(message)
    if not configured(context.settings):
        if context.keep_email is None:
            raise ChannelError(NOT_CONFIGURED, permanent=True)
        await context.keep_email(to, subject, text, html)
        return Sent(None, NOT_CONFIGURED)
    try:
        answer = await asyncio.to_thread(_send_now, context.settings, to, subject, text, html)
    except smtplib.SMTPRecipientsRefused:
        raise ChannelError("the mail server refused the recipient", permanent=True) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise ChannelError(
            "the mail server refused VixPro's SMTP login", permanent=False, status=exc.smtp_code
        ) from None
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600
        raise ChannelError(
            f"the mail server answered {exc.smtp_code}", permanent=permanent, status=exc.smtp_code
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(
            f"could not reach the mail server ({type(exc).__name__})", permanent=False
        ) from None
    return Sent(250, answer)


class EmailConfig(Strict):
    to: list[str] = Field(min_length=1, max_length=20)

    @field_validator("to")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if not ADDRESS.match(value) or len(value) > 254:
                raise ValueError(f"{value!r} is not an email address")
        return values


class Email(Sender):
    kind = "email"
    title = "Email"
    Config: ClassVar[type[BaseModel]] = EmailConfig

    async def send(self, message: Message, config: Any, secret: Any, context: Context) -> Sent:
        answers = [await send(context, to, message) for to in config.to]
        return Sent(answers[-1].status, "\n".join(a.response for a in answers))
