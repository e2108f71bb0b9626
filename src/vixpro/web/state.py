from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from procrastinate import App as JobApp

from vixpro.accounts.auth import LoginPolicy
from vixpro.accounts.keycache import ApiKeyCache
from vixpro.accounts.ratelimit import RequestCounter
from vixpro.db.models import Manifest
from vixpro.db.sessions import Database
from vixpro.hub.hub import Hub
from vixpro.settings import Settings
from vixpro.tools.catalogue import current_manifest, ensure_manifest
from vixpro.tools.executions import Runner
from vixpro.tools.signing import PlatformSigner


@dataclass
class AppState:
    """Everything a request handler needs, built once per process."""

    settings: Settings
    db: Database
    jobs: JobApp | None = None
    head_revision: str = ""
    ready: bool = True
    login_policy: LoginPolicy = field(init=False)
    requests: RequestCounter = field(init=False)
    api_keys: ApiKeyCache = field(default_factory=ApiKeyCache)
    hub: Hub = field(init=False)
    runner: Runner = field(init=False)
    signer: PlatformSigner | None = None
    manifest: Manifest | None = None

    def __post_init__(self) -> None:
        self.requests = RequestCounter(self.db)
        self.hub = Hub(self.db)
        self.runner = Runner(self.db, self.hub)
        s = self.settings
        self.login_policy = LoginPolicy(
            max_per_email=s.login_max_failures_per_email,
            max_per_ip=s.login_max_failures_per_ip,
            window=timedelta(seconds=s.login_throttle_window_seconds),
            session_ttl=timedelta(hours=s.session_ttl_hours),
        )

    async def start(self) -> None:
        """Load the signing key, issue the manifest if this release changed it, start the hub."""
        async with self.db.system_session("load signing key and manifest") as session:
            self.signer = await PlatformSigner.load(session, self.settings.master_key_bytes())
            previous = await current_manifest(session)
            self.manifest = await ensure_manifest(session, self.signer)
        await self.hub.start()
        if previous is None or previous.version != self.manifest.version:
            await self.hub.broadcast_manifest()

    async def stop(self) -> None:
        await self.hub.stop()

    @property
    def invitation_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.invitation_ttl_hours)
