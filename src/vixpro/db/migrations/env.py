from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from vixpro.db.models import Base
from vixpro.db.urls import sqlalchemy_url

config = context.config
owner_url = config.attributes.get("owner_url") or config.get_main_option("sqlalchemy.url")
assert owner_url, "migrations need the owner's database URL"

engine = create_engine(sqlalchemy_url(owner_url), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # procrastinate's tables are created from its own schema file, not from our models.
        include_name=lambda name, kind, _parent: (
            not (
                kind in ("table", "index")
                and str(name).startswith(("procrastinate", "idx_procrastinate"))
            )
        ),
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
