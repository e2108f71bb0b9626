from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from procrastinate import App as JobApp

from vixpro.accounts.auth import LoginPolicy
from vixpro.accounts.keycache import ApiKeyCache
from vixpro.accounts.ratelimit import RequestCounter
from vixpro.ai.chat_live import ChatBroadcaster
from vixpro.ai.chat_run import ChatRunner
from vixpro.db.models import Manifest
from vixpro.db.sessions import Database
from vixpro.hub.hub import Hub
from vixpro.incidents.ingest import IngestWriter, Outcome, Submission
from vixpro.incidents.live import Broadcaster
from vixpro.jobs.incidents import defer_diagnoses
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
    ingest: IngestWriter = field(init=False)
    live: Broadcaster = field(init=False)
    chat: ChatRunner = field(init=False)
    chat_live: ChatBroadcaster = field(init=False)
    _deferred: dict[uuid.UUID, float] = field(default_factory=dict)
    signer: PlatformSigner | None = None
    manifest: Manifest | None = None

    def __post_init__(self) -> None:
        self.requests = RequestCounter(self.db)
        self.hub = Hub(self.db)
        self.runner = Runner(self.db, self.hub)
        self.ingest = IngestWriter(self.db.urls.app, on_committed=self._hand_to_ai)
        self.live = Broadcaster(self.db.urls.app)
        self.chat = ChatRunner(
            self.db, self.runner, lambda: self.manifest, self.settings.master_key_bytes
        )
        self.chat_live = ChatBroadcaster(self.db.urls.app)
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
        await self.ingest.start()
        await self.live.start()
        if previous is None or previous.version != self.manifest.version:
            await self.hub.broadcast_manifest()

    async def stop(self) -> None:
        await self.chat.wait_idle(5)
        await self.chat_live.stop()
        await self.live.stop()
        await self.ingest.stop()
        await self.hub.stop()

    async def _hand_to_ai(
        self, submissions: Sequence[Submission], outcomes: Sequence[Outcome]
    ) -> None:
        """After a commit: start diagnoses for new AI-eligible incidents, as far as the
        organisations' reactive-agent slots allow (the sweep is the backstop)."""
        if self.jobs is None:
            return
        start: dict[uuid.UUID, list[uuid.UUID]] = {}
        now = time.monotonic()
        for submission, outcome in zip(submissions, outcomes, strict=True):
            # An incident waiting for its job to be picked up stays "startable" until then:
            # defer it once a minute at most from here (the queueing lock refuses doubles).
            fresh = [i for i in outcome.start_now if now - self._deferred.get(i, -1e9) > 60]
            if fresh:
                start[submission.org_id] = fresh
        if len(self._deferred) > 10_000:
            self._deferred.clear()
        for org_id, incident_ids in start.items():
            await defer_diagnoses(self.jobs, org_id, incident_ids)
            self._deferred.update(dict.fromkeys(incident_ids, now))

    @property
    def invitation_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.invitation_ttl_hours)
