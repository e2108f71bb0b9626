"""Which enrolled server an alert is about, from the host hints its adapter found."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any


class ServerIndex:
    """Hostnames (full and short), server names and addresses → server id."""

    def __init__(self, rows: Iterable[tuple[uuid.UUID, str, dict[str, Any] | None]]) -> None:
        self.names: dict[uuid.UUID, str] = {}
        self._keys: dict[str, uuid.UUID] = {}
        for server_id, name, raw_facts in rows:
            self.names[server_id] = name
            facts = raw_facts or {}
            keys = [name, facts.get("hostname")]
            keys.extend(facts.get("addresses") or [])
            for key in keys:
                if isinstance(key, str) and key:
                    self._add(key.lower(), server_id)
                    short = key.lower().split(".", 1)[0]
                    if not short.isdigit():  # not the first octet of an IPv4 address
                        self._add(short, server_id)

    def _add(self, key: str, server_id: uuid.UUID) -> None:
        self._keys.setdefault(key, server_id)

    def match(self, hints: Sequence[str]) -> uuid.UUID | None:
        for hint in hints:
            found = self._keys.get(hint) or self._keys.get(hint.split(".", 1)[0])
            if found is not None:
                return found
        return None
