"""Seeders for the row-level-security test, one module per capability.

Each module here defines ``async def seed(state, org_id, server_id, principal) -> None`` that
makes at least one row in each of its capability's tenant tables through the real services.
Every module in this package is picked up; the test file itself need not change.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

Seeder = Callable[[Any, uuid.UUID, uuid.UUID, Any], Awaitable[None]]


def _discover() -> list[Seeder]:
    found: list[Seeder] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(module.seed)
    return found


SEEDERS = _discover()
