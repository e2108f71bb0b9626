"""SQL for row-level security, used by migrations. Every tenant table calls ``tenant_policy``."""

from __future__ import annotations

CURRENT_ORG_FUNCTION = """
CREATE OR REPLACE FUNCTION app_current_org() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.org_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION app_current_user() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;
"""


def tenant_policy(table: str, column: str = "org_id") -> str:
    """Isolate ``table`` by ``column``; FORCE makes the policy bind the table owner too."""
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table}
    USING ({column} = app_current_org()) WITH CHECK ({column} = app_current_org());
"""
