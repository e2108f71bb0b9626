"""The signed config document: its body's shape, and verifying it against the pinned key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vixpro_agent.protocol import signing


class ConfigError(Exception):
    """The config document is missing, unparseable, unsigned, badly signed or malformed."""


@dataclass(frozen=True)
class AgentConfig:
    version: int
    server_id: str
    org_id: str
    platform_url: str
    allowed_log_roots: tuple[str, ...]
    allowed_cleanup_roots: tuple[str, ...]
    issued_at: str


def parse_config_body(body: Any) -> AgentConfig:
    if not isinstance(body, dict):
        raise ConfigError("config body: must be an object")
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError("config.version: must be a positive integer")
    texts = {}
    for name in ("server_id", "org_id", "platform_url", "issued_at"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"config.{name}: must be a non-empty string")
        texts[name] = value
    roots = {}
    for name in ("allowed_log_roots", "allowed_cleanup_roots"):
        value = body.get(name, [])
        if not isinstance(value, list) or not all(
            isinstance(p, str) and p.startswith("/") and "\0" not in p for p in value
        ):
            raise ConfigError(f"config.{name}: must be a list of absolute paths")
        roots[name] = tuple(value)
    return AgentConfig(
        version=version,
        server_id=texts["server_id"],
        org_id=texts["org_id"],
        platform_url=texts["platform_url"],
        allowed_log_roots=roots["allowed_log_roots"],
        allowed_cleanup_roots=roots["allowed_cleanup_roots"],
        issued_at=texts["issued_at"],
    )


def verify_config_document(document: Any, key: signing.PublicKey) -> AgentConfig:
    try:
        body = signing.verify_document(key, document)
    except signing.SignatureError as exc:
        raise ConfigError(f"config signature: {exc}") from exc
    return parse_config_body(body)


def read_config_file(path: Path, key: signing.PublicKey) -> tuple[Any, AgentConfig]:
    """The document stored in ``path`` and its verified config."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read: {exc}") from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    return document, verify_config_document(document, key)
