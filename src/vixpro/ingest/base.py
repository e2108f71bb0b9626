"""What every adapter is: a webhook request in, normalised alerts (or a reason) out.

Adapters are pure: no database, no network. The one outbound step a source needs (AWS SNS's
subscription confirmation) is returned as a :class:`Handshake` for the web layer to perform.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from vixpro.core import jsontext
from vixpro.core.alerts import NormalizedAlert


class PayloadError(ValueError):
    """The payload cannot be used; the message says why (it is shown to the sender)."""


class SignatureError(PayloadError):
    """The payload's signature is missing or wrong."""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    body: bytes
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str] = field(default_factory=dict)
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body as JSON, or a :class:`PayloadError` naming what is wrong."""
        if not self.body.strip():
            raise PayloadError("the body is empty; a JSON document was expected")
        try:
            return jsontext.loads(self.body)
        except UnicodeDecodeError as exc:
            raise PayloadError("the body is not UTF-8 text") from exc
        except RecursionError as exc:
            raise PayloadError("the JSON document is nested too deeply") from exc
        except json.JSONDecodeError as exc:
            raise PayloadError(
                f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc

    def json_object(self) -> dict[str, Any]:
        document = self.json()
        if not isinstance(document, dict):
            raise PayloadError(f"expected a JSON object, got {type(document).__name__}")
        return document


@dataclass(frozen=True, slots=True)
class IntegrationConfig:
    """An integration's settings as adapters see them."""

    signing_secret: str | None = None
    # Adapter-specific settings (the generic adapter's field mapping).
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Handshake:
    """A request the web layer must make before alerts flow (e.g. SNS SubscribeURL)."""

    confirm_url: str
    message: str


@dataclass(frozen=True, slots=True)
class Parsed:
    alerts: tuple[NormalizedAlert, ...] = ()
    handshake: Handshake | None = None
    # Alerts the source said it left out (Alertmanager ``truncatedAlerts``).
    truncated: int = 0


class Adapter(Protocol):
    source: ClassVar[str]  # registry key, e.g. "alertmanager"
    title: ClassVar[str]  # shown to people, e.g. "Prometheus Alertmanager"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed: ...

    def sample(self) -> bytes:
        """A realistic test payload ("send test alert" on the Integrations page)."""
        ...


# ---- helpers adapters share -------------------------------------------------------------


def require(
    mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = ""
) -> Any:
    """``mapping[key]`` if present and of ``kind``; otherwise a PayloadError naming the field."""
    name = f"{where}.{key}" if where else key
    if key not in mapping or mapping[key] is None:
        raise PayloadError(f"'{name}' is required")
    value = mapping[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise PayloadError(f"'{name}' must be {_article(expected)}, got {type(value).__name__}")
    return value


def optional(
    mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = ""
) -> Any:
    if mapping.get(key) is None:
        return None
    return require(mapping, key, kind, where)


def _article(name: str) -> str:
    return {"dict": "an object", "list": "a list", "str": "a string", "int": "an integer"}.get(
        name, f"a {name}"
    )


def parse_time(value: object, where: str) -> datetime | None:
    """RFC 3339 / ISO 8601 text or Unix seconds (or milliseconds) → aware datetime.

    Zero values some tools send for "no end" (``0001-01-01T00:00:00Z``, ``0``) give None.
    """
    if isinstance(value, bool):
        raise PayloadError(f"'{where}' is not a time")
    if value is None or value in ("", 0):
        return None
    if isinstance(value, int | float):
        try:
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise PayloadError(f"'{where}' is not a valid Unix time") from exc
    if not isinstance(value, str):
        raise PayloadError(f"'{where}' must be a time string, got {type(value).__name__}")
    text = value.strip()
    if len(text) > 64:
        raise PayloadError(f"'{where}' is not a time: {truncated_repr(text)}")
    if text.isascii() and text.isdigit():
        return parse_time(int(text), where)
    if text.startswith("0001-01-01"):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(f"'{where}' is not an ISO 8601 time: {truncated_repr(text)}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def truncated_repr(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_hmac(secret: str, message: bytes, given: str | None, *, header: str) -> None:
    """Constant-time compare of a hex HMAC-SHA256 (an optional ``sha256=`` prefix is allowed)."""
    if not given:
        raise SignatureError(
            f"the {header} header is missing; this integration requires a signature"
        )
    given = given.strip()
    if given.startswith("sha256="):
        given = given[len("sha256=") :]
    if not hmac.compare_digest(hmac_sha256_hex(secret, message), given.lower()):
        raise SignatureError(f"the {header} signature does not match this integration's secret")


def check_timestamp(value: str | None, *, header: str, tolerance_s: int = 300) -> int:
    """A Unix-seconds timestamp header within ``tolerance_s`` of now (replay protection)."""
    if not value or not value.strip().isdigit():
        raise SignatureError(f"the {header} header must be a Unix timestamp in seconds")
    stamp = int(value.strip())
    if abs(time.time() - stamp) > tolerance_s:
        raise SignatureError(
            f"the {header} timestamp is more than {tolerance_s} s from now; resend with a fresh one"
        )
    return stamp


SECRET_HEADER = "x-vixpro-secret"  # noqa: S105 - a header name, not a secret


def check_secret_header(request: WebhookRequest, config: IntegrationConfig, hint: str) -> None:
    """For sources that cannot sign: the integration's secret in a header of the sender's
    (``X-VixPro-Secret``, or the one named by ``options["secret_header"]``), compared in
    constant time. ``hint`` says where the sender sets that header. No secret set: no check."""
    secret = config.signing_secret
    if not secret:
        return
    option = config.options.get("secret_header")
    header = option.strip().lower() if isinstance(option, str) and option.strip() else None
    header = header or SECRET_HEADER
    given = request.header(header)
    if not given:
        raise SignatureError(f"the {header} header is missing; {hint}")
    if not hmac.compare_digest(
        given.strip().encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass")
    ):
        raise SignatureError(f"the {header} header does not match this integration's secret")


def check_authorization(request: WebhookRequest, secret: str) -> None:
    """``Authorization: Bearer <secret>``, or basic auth whose password is the secret."""
    given = (request.header("authorization") or "").strip()
    if not given:
        raise SignatureError(
            "the Authorization header is missing; this integration requires the bearer token "
            "or basic-auth password set in VixPro"
        )
    scheme, _, value = given.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise SignatureError(
                "the Authorization header's basic credentials are malformed"
            ) from exc
        value = decoded.partition(":")[2]
    elif scheme.lower() != "bearer":
        raise SignatureError("the Authorization header must use the Bearer or Basic scheme")
    if not hmac.compare_digest(
        value.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass")
    ):
        raise SignatureError("the Authorization credentials do not match this integration's secret")
