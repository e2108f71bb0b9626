"""Storage: models, migrations, row-level security, tenant and system sessions."""
