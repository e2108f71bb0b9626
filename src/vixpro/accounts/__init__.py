"""Organisations, people, roles, API keys, login sessions, plans and the audit trail.

Routers and CLI commands call these services; the services own transactions' contents
(the caller opens the tenant or system session) and write the audit trail.
"""
