"""Alerts become incidents: dedup, grouping, budgets, storms, maintenance windows, manual mode."""
