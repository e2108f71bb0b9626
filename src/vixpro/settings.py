"""One settings class for the whole platform, read from ``VIXPRO_*`` variables.

Every secret can also come from a file named by ``VIXPRO_<NAME>_FILE`` (Docker and
Kubernetes secrets). Outside development mode an empty or placeholder secret is
refused at start rather than silently used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FIELDS = (
    "master_key",
    "database_url",
    "app_database_url",
    "system_database_url",
    "smtp_password",
)
PLACEHOLDERS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "xxx", "todo", "placeholder"}
)


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names it and never contains its value."""


def _is_placeholder(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDERS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIXPRO_", extra="ignore")

    env: Literal["development", "production"] = "production"
    data_dir: Path = Path(".vixpro")
    database_url: SecretStr | None = None
    app_database_url: SecretStr | None = None
    system_database_url: SecretStr | None = None
    master_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None
    session_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    invitation_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    login_max_failures_per_email: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    login_throttle_window_seconds: int = Field(default=900, ge=1)
    purge_cron: str = "*/10 * * * *"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    admin_email: str = "admin@vixpro.local"
    bootstrap_plan: str = "lean"
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    db_role_prefix: str = Field(default="vixpro", pattern=r"^[a-z][a-z0-9_]{0,30}$")
    # Notifications. Without ``smtp_host`` emails are kept in the staff console's outbox.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "VixPro <vixpro@localhost>"
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    twilio_api_url: str = "https://api.twilio.com"
    notify_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # croniter reads a sixth field as seconds: every 5 s.
    notify_dispatch_cron: str = "* * * * * */5"

    def __init__(self, **values: Any) -> None:
        # pydantic's own error repeats the input, secrets included; ours names only the setting.
        try:
            super().__init__(**values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors(include_input=False, include_url=False):
                where = "_".join(str(part) for part in error["loc"]).upper()
                message = str(error["msg"]).removeprefix("Value error, ")
                problems.append(f"VIXPRO_{where}: {message}" if where else message)
            raise SettingsError("; ".join(problems)) from None

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name in SECRET_FIELDS:
            path = os.environ.get(f"VIXPRO_{name.upper()}_FILE")
            if path and not data.get(name):
                try:
                    data[name] = Path(path).read_text().strip()
                except OSError as exc:
                    raise SettingsError(
                        f"VIXPRO_{name.upper()}_FILE names a file that cannot be read: {path}"
                    ) from exc
        return data

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "development":
            return self
        for name in SECRET_FIELDS:
            value: SecretStr | None = getattr(self, name)
            if value is None:
                continue
            raw = value.get_secret_value()
            if name.endswith("database_url"):
                password = urlsplit(raw).password
                if password is not None and password != "" and _is_placeholder(password):
                    raise SettingsError(f"VIXPRO_{name.upper()} has a placeholder password")
            elif _is_placeholder(raw):
                raise SettingsError(f"VIXPRO_{name.upper()} is empty or a placeholder")
        return self

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def master_key_bytes(self) -> bytes:
        """The 32-byte master key: from settings, else from the data directory, made on first use."""
        if self.master_key is not None:
            return decode_master_key(self.master_key.get_secret_value(), "VIXPRO_MASTER_KEY")
        path = self.data_dir / "master.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            encoded = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: use theirs
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(encoded + "\n")
        return decode_master_key(path.read_text().strip(), str(path))

    def derived_secret(self, purpose: str) -> str:
        """A stable secret for ``purpose`` derived from the master key (e.g. database role passwords)."""
        digest = hmac.new(self.master_key_bytes(), purpose.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def decode_master_key(encoded: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError as exc:
        raise SettingsError(f"the master key in {where} is not base64") from exc
    if len(key) != 32:
        raise SettingsError(f"the master key in {where} must be 32 bytes, base64-encoded")
    return key
