"""Email through a real local SMTP server (aiosmtpd): STARTTLS and a login, like port 587; the
HTML and text bodies; a refused login; and the outbox when no server is configured."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from tests.fakes.notify_smtp import SmtpServer
from vixpro.notify import email
from vixpro.notify.base import ChannelError, Context, Message
from vixpro.settings import Settings

USER, PASSWORD = "vixpro", "smtp-password-123"


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.pem", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SmtpServer, Path]]:
    cert, key = _certificate(tmp_path_factory.mktemp("smtp"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with SmtpServer(tls=context, login=(USER, PASSWORD)) as server:
        yield server, cert


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _message() -> Message:
    incident = uuid.uuid4()
    return Message(
        kind="incident.opened",
        title="#3 opened: <script>alert(1)</script> on web-1",
        body="Disk /var is full",
        url=f"https://vixpro.example.com/incidents/{incident}",
        org_name="Acme",
        data={"incident_id": str(incident)},
    )


async def test_email_goes_through_starttls_and_a_login_with_html_and_text(
    tls_smtp: tuple[SmtpServer, Path],
    settings: Settings,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, cert = tls_smtp
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test server's own certificate
    configured = settings.model_copy(
        update={
            "smtp_host": server.host,
            "smtp_port": server.port,
            "smtp_username": USER,
            "smtp_password": SecretStr(PASSWORD),
            "smtp_security": "starttls",
            "smtp_from": "VixPro <alerts@vixpro.test>",
        }
    )
    message = _message()
    sent = await email.send(Context(configured, http), "oncall@example.com", message)
    assert sent.status == 250 and "accepted by" in sent.response
    assert server.logins == [USER]
    received = server.received[-1]
    assert received.mail_from == "alerts@vixpro.test"
    assert received.rcpt_tos == ["oncall@example.com"]
    assert received.message["Subject"] == f"[VixPro] {message.title}"
    text = received.part("text/plain")
    html = received.part("text/html")
    assert message.url in text and "Disk /var is full" in text
    assert f'href="{message.url}"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # the title is escaped in HTML


async def test_a_refused_login_is_a_failure_worth_retrying(
    tls_smtp: tuple[SmtpServer, Path],
    settings: Settings,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, cert = tls_smtp
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    configured = settings.model_copy(
        update={
            "smtp_host": server.host,
            "smtp_port": server.port,
            "smtp_username": USER,
            "smtp_password": SecretStr("wrong-password-456"),
        }
    )
    with pytest.raises(ChannelError) as caught:
        await email.send(Context(configured, http), "oncall@example.com", _message())
    assert not caught.value.permanent and "login" in str(caught.value)
    assert "wrong-password" not in str(caught.value)


async def test_without_smtp_the_email_is_kept_and_nothing_is_sent(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    kept: list[tuple[str, str, str, str]] = []

    async def keep(to: str, subject: str, text: str, html: str) -> None:
        kept.append((to, subject, text, html))

    sent = await email.send(Context(settings, http, keep_email=keep), "a@example.com", _message())
    assert sent.status is None and "not configured" in sent.response
    assert [k[0] for k in kept] == ["a@example.com"] and kept[0][1].startswith("[VixPro] #3")
