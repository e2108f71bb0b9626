"""A real SMTP server on 127.0.0.1 (``aiosmtpd``) that keeps every message it accepts."""

from __future__ import annotations

import email
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def _free_port() -> int:
    # aiosmtpd's controller checks its port by connecting to it, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: Message

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                payload = part.get_content()  # type: ignore[attr-defined]
                return str(payload)
        raise AssertionError(f"no {content_type} part")


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode()
        message = email.message_from_bytes(data, policy=default)
        with self.lock:
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), message)
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """``with SmtpServer() as smtp:`` then point ``VIXPRO_SMTP_HOST``/``PORT`` at it.

    With ``tls`` (an ``ssl.SSLContext`` holding the server's certificate) it offers STARTTLS and
    refuses mail before it; with ``login`` it also requires AUTH (after TLS) with that user and
    password, like a real submission server on port 587.
    """

    def __init__(
        self, tls: ssl.SSLContext | None = None, login: tuple[str, str] | None = None
    ) -> None:
        self.handler = _Handler()
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.logins: list[str] = []
        extra: dict[str, object] = {}
        if tls is not None:
            extra |= {"tls_context": tls, "require_starttls": True}
        if login is not None:
            user, password = login

            def check(
                server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
            ) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                    user.encode(),
                    password.encode(),
                )
                if ok:
                    self.logins.append(user)
                return AuthResult(success=ok, handled=False)

            extra |= {"authenticator": check, "auth_required": True, "auth_require_tls": True}
        self.controller = Controller(
            self.handler,
            hostname=self.host,
            port=self.port,
            **extra,  # type: ignore[arg-type]
        )

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
