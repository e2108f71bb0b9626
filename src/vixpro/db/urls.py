"""The three database roles VixPro uses and how their connection URLs are found.

* owner: owns the tables and runs migrations (``VIXPRO_DATABASE_URL``, or the embedded superuser);
* app: every request and job; not superuser, not owner, no ``BYPASSRLS``;
* system: the few audited cross-organisation paths; ``BYPASSRLS``, not owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url

from vixpro.settings import Settings


@dataclass(frozen=True)
class DatabaseUrls:
    owner: URL
    app: URL
    system: URL
    manage_roles: bool  # True when VixPro creates the app/system roles itself

    @property
    def app_role(self) -> str:
        assert self.app.username
        return self.app.username

    @property
    def system_role(self) -> str:
        assert self.system.username
        return self.system.username


def sqlalchemy_url(raw: str) -> URL:
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+asyncpg"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def libpq_url(url: URL) -> str:
    """A URL libpq (psycopg, procrastinate, pg_dump) understands, password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def resolve_urls(settings: Settings, owner_raw: str) -> DatabaseUrls:
    owner = sqlalchemy_url(owner_raw)
    prefix = settings.db_role_prefix
    given_app = settings.app_database_url
    given_system = settings.system_database_url
    app = (
        sqlalchemy_url(given_app.get_secret_value())
        if given_app
        else owner.set(username=f"{prefix}_app", password=settings.derived_secret("db-role:app"))
    )
    system = (
        sqlalchemy_url(given_system.get_secret_value())
        if given_system
        else owner.set(
            username=f"{prefix}_system", password=settings.derived_secret("db-role:system")
        )
    )
    return DatabaseUrls(
        owner=owner, app=app, system=system, manage_roles=not (given_app or given_system)
    )
