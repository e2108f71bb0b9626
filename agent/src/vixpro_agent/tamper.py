"""Tamper detection for the config file.

The config in ``config.json`` is re-read and re-verified periodically. Anything other than
the exact signed document last accepted (edited, unsigned, unparseable, missing, or even a
different validly signed one) marks the host agent tampered. While tampered it refuses
mutate tools, until the platform pushes a fresh signed config over the WebSocket.
"""

from __future__ import annotations

import logging
from typing import Any

from vixpro_agent.config import AgentConfig, ConfigError, read_config_file, verify_config_document
from vixpro_agent.protocol import signing
from vixpro_agent.protocol.canonical import canonical_json
from vixpro_agent.state import StateDir

log = logging.getLogger("vixpro_agent.tamper")


class ConfigGuard:
    """The last verified config, and whether the file on disk still matches it."""

    def __init__(self, state: StateDir, key: signing.PublicKey, server_id: str) -> None:
        self._state = state
        self._key = key
        self._server_id = server_id
        self._accepted: bytes | None = None
        self.config: AgentConfig | None = None
        self.detail: str | None = None

    @property
    def tampered(self) -> bool:
        return self.detail is not None

    def load(self, reported_before: str | None = None) -> None:
        """Read the config at start. ``reported_before`` is a tamper detail recorded by an
        earlier run: restoring the file and restarting must not clear it silently."""
        try:
            document, config = read_config_file(self._state.config_path, self._key)
            self._check_server(config)
        except ConfigError as exc:
            self._mark(str(exc))
            return
        self.config = config
        self._accepted = canonical_json(document)
        if reported_before:
            self._mark(reported_before)

    def check(self) -> str | None:
        """Re-verify the file. Returns a detail when this check found new tampering."""
        if self.tampered:
            return None
        try:
            document, _config = read_config_file(self._state.config_path, self._key)
        except ConfigError as exc:
            return self._mark(str(exc))
        if canonical_json(document) != self._accepted:
            return self._mark(f"{self._state.config_path} differs from the config last received")
        return None

    def accept(self, document: Any) -> AgentConfig:
        """Adopt a config pushed by the platform; clears tampering. Raises :class:`ConfigError`."""
        config = verify_config_document(document, self._key)
        self._check_server(config)
        if self.config is not None and config.version < self.config.version:
            raise ConfigError(
                f"config version {config.version} is older than the current version {self.config.version}"
            )
        self._state.save_config_document(document)
        self.config = config
        self._accepted = canonical_json(document)
        if self.detail is not None:
            log.info("a fresh signed config arrived: tampering cleared")
        self.detail = None
        return config

    def _check_server(self, config: AgentConfig) -> None:
        if config.server_id != self._server_id:
            raise ConfigError("config.server_id: is not this server's id")

    def _mark(self, detail: str) -> str:
        log.warning("config tampering detected: %s", detail)
        self.detail = detail
        return detail
