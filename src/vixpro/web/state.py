from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from procrastinate import App as JobApp

from vixpro.accounts.auth import LoginPolicy
from vixpro.accounts.keycache import ApiKeyCache
from vixpro.accounts.ratelimit import RequestCounter
from vixpro.db.sessions import Database
from vixpro.settings import Settings


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

    def __post_init__(self) -> None:
        self.requests = RequestCounter(self.db)
        s = self.settings
        self.login_policy = LoginPolicy(
            max_per_email=s.login_max_failures_per_email,
            max_per_ip=s.login_max_failures_per_ip,
            window=timedelta(seconds=s.login_throttle_window_seconds),
            session_ttl=timedelta(hours=s.session_ttl_hours),
        )

    @property
    def invitation_ttl(self) -> timedelta:
        return timedelta(hours=self.settings.invitation_ttl_hours)
