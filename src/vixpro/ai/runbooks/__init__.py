"""The offline runbook engine: deterministic playbooks per alert category."""

from __future__ import annotations

from vixpro.ai.runbooks.base import IncidentContext, ToolOutcome, ToolPort
from vixpro.ai.runbooks.categories import Category, categorise
from vixpro.ai.runbooks.engine import diagnose

__all__ = ["Category", "IncidentContext", "ToolOutcome", "ToolPort", "categorise", "diagnose"]
