"""The host agent's state while it runs: keys, config guard, manifest, runner, status.

The WebSocket session (``connection.py``) calls into it; it knows nothing about sockets
and sends through whatever sender the current session registered.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Mapping
from typing import Any, Callable

from vixpro_agent import __version__
from vixpro_agent.config import ConfigError
from vixpro_agent.facts import collect_facts
from vixpro_agent.manifest import Manifest, ManifestError, ManifestStore, verify_manifest
from vixpro_agent.protocol import messages, signing
from vixpro_agent.protocol.canonical import canonical_json
from vixpro_agent.runner import Runner
from vixpro_agent.state import StateDir, StateError
from vixpro_agent.tamper import ConfigGuard
from vixpro_agent.tools.base import Tool

log = logging.getLogger("vixpro_agent")

Sender = Callable[[messages.Message], Awaitable[None]]
TAMPER_INTERVAL_S = 30.0
FACTS_INTERVAL_S = 300.0


class HostAgent:
    def __init__(
        self,
        state: StateDir,
        *,
        tamper_interval: float = TAMPER_INTERVAL_S,
        facts_interval: float = FACTS_INTERVAL_S,
        tools: Mapping[str, Tool] | None = None,
    ) -> None:
        self.state = state
        self.enrollment = state.load_enrollment()
        self.private_key = state.load_private_key()
        self.platform_key = state.load_platform_key()
        self.tamper_interval = tamper_interval
        self.facts_interval = facts_interval
        previous = state.read_status()
        self.guard = ConfigGuard(state, self.platform_key, self.enrollment.server_id)
        self.guard.load(previous.get("tamper_detail") if previous.get("tampered") else None)
        self.manifests = ManifestStore(self.platform_key, self._stored_manifest())
        self.runner = Runner(self.manifests, self.guard, tools)
        self.facts: dict[str, Any] = collect_facts()
        self._sender: Sender | None = None
        self._status: dict[str, Any] = {
            "pid": os.getpid(),
            "server_id": self.enrollment.server_id,
            "platform_url": self.enrollment.platform_url,
            "agent_version": __version__,
            "connected": False,
            "connected_since": None,
            "last_connected_at": previous.get("last_connected_at"),
            "last_error": None,
        }
        self.write_status()

    def _stored_manifest(self) -> Manifest | None:
        try:
            return verify_manifest(self.state.load_manifest_document(), self.platform_key)
        except (StateError, ManifestError) as exc:
            # Without a verified manifest every call is refused until the platform pushes one.
            log.warning("no usable stored manifest: %s", exc)
            return None

    # status.json
    def write_status(self, **changes: Any) -> None:
        self._status.update(changes)
        self._status.update(
            manifest_version=self.manifests.version,
            config_version=self.guard.config.version if self.guard.config else None,
            config_verified=not self.guard.tampered,
            tampered=self.guard.tampered,
            tamper_detail=self.guard.detail,
        )
        try:
            self.state.write_status(self._status)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.state.status_path, exc)

    # session hooks
    def hello(self, nonce: str) -> messages.Message:
        server_id = self.enrollment.server_id
        signature = signing.sign_bytes(
            self.private_key, canonical_json(messages.hello_payload(nonce, server_id))
        )
        return messages.message(
            messages.HELLO,
            server_id=server_id,
            signature=signature,
            agent_version=__version__,
            facts=self.facts,
            manifest_version=self.manifests.version,
            # 0 while tampered: the platform pushes its config whenever ours is older.
            config_version=0
            if self.guard.tampered or not self.guard.config
            else self.guard.config.version,
        )

    async def connected(self, sender: Sender) -> None:
        self._sender = sender
        now = time.time()
        self.write_status(
            connected=True, connected_since=now, last_connected_at=now, last_error=None
        )
        await sender(messages.message(messages.FACTS, facts=self.facts))
        if self.guard.tampered:
            await sender(messages.message(messages.TAMPER, detail=self.guard.detail))

    def disconnected(self, error: str | None) -> None:
        self._sender = None
        changes: dict[str, Any] = {"connected": False, "connected_since": None}
        if error:
            changes["last_error"] = error
        self.write_status(**changes)

    async def send(self, message: messages.Message) -> bool:
        """Send if a session is open; a message for a closed session is dropped."""
        sender = self._sender
        if sender is None:
            return False
        try:
            await sender(message)
        except Exception as exc:  # noqa: BLE001 - the session may close under us at any point
            log.info("could not send %s: %s", message.get("type"), type(exc).__name__)
            return False
        return True

    def on_manifest(self, document: Any) -> messages.Message | None:
        """Adopt a pushed manifest; returns ``manifest_refused`` when it is refused."""
        try:
            manifest = self.manifests.offer(document)
        except ManifestError as exc:
            log.warning("manifest %s refused: %s", exc.version, exc.reason)
            self.write_status(last_error=f"manifest refused: {exc.reason}")
            return messages.message(
                messages.MANIFEST_REFUSED, version=exc.version, reason=exc.reason
            )
        if manifest is not None:
            try:
                self.state.save_manifest_document(document)
            except OSError as exc:
                log.warning("cannot persist manifest %s: %s", manifest.version, exc)
            log.info(
                "manifest version %s adopted (%d tools)", manifest.version, len(manifest.tools)
            )
            self.write_status()
        return None

    def on_config(self, document: Any) -> None:
        try:
            config = self.guard.accept(document)
        except (ConfigError, OSError) as exc:
            log.warning("pushed config refused: %s", exc)
            self.write_status(last_error=f"config refused: {exc}")
            return
        log.info("config version %s adopted", config.version)
        self.write_status()

    # periodic work, independent of the connection
    async def check_tamper_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tamper_interval)
            await self.check_tamper()

    async def check_tamper(self) -> None:
        detail = self.guard.check()
        if detail is not None:
            self.write_status()
            await self.send(messages.message(messages.TAMPER, detail=detail))

    async def refresh_facts_forever(self) -> None:
        while True:
            await asyncio.sleep(self.facts_interval)
            facts = await asyncio.get_running_loop().run_in_executor(None, collect_facts)
            if facts != self.facts:
                self.facts = facts
                await self.send(messages.message(messages.FACTS, facts=facts))
