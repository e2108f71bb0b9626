"""Create the app and system roles and grant them what they need, after every upgrade.

Grants are re-applied on each upgrade so that tables added by later migrations are covered
without anyone remembering to grant them.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from vixpro.db.urls import DatabaseUrls

# Tables the app role may only read; tables it may not touch at all (the system role's).
APP_READ_ONLY = ("plans", "alembic_version", "manifests")
APP_NO_ACCESS = ("login_sessions", "login_failures", "platform_keys")
# The audit trail is append-only for the app role.
APP_APPEND_ONLY = ("audit_events",)


def _ensure_role(conn: psycopg.Connection, name: str, password: str | None, bypass: bool) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    ident = sql.Identifier(name)
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
    options = sql.SQL(
        "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION {}"
    ).format(ident, sql.SQL("BYPASSRLS" if bypass else "NOBYPASSRLS"))
    conn.execute(options)
    if password is not None:
        conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(ident, sql.Literal(password)))


def provision_roles(conn: psycopg.Connection, urls: DatabaseUrls) -> None:
    """Run as the owner, in autocommit mode."""
    app, system = urls.app_role, urls.system_role
    if urls.manage_roles:
        _ensure_role(conn, app, urls.app.password, bypass=False)
        _ensure_role(conn, system, urls.system.password, bypass=True)
    db = conn.execute("SELECT current_database()").fetchone()
    assert db is not None
    both = sql.SQL(", ").join([sql.Identifier(app), sql.Identifier(system)])
    app_id = sql.Identifier(app)
    statements = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(db[0]), both),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(both),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            both
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(both),
        sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(both),
    ]
    for table in APP_READ_ONLY:
        statements.append(
            sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
                sql.Identifier(table), app_id
            )
        )
    for table in APP_NO_ACCESS:
        statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), app_id))
    for table in APP_APPEND_ONLY:
        statements.append(
            sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), app_id)
        )
    statements.append(sql.SQL("REVOKE INSERT, DELETE ON users FROM {}").format(app_id))
    for statement in statements:
        conn.execute(statement)
