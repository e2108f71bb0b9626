"""A short-lived, per-process memory of API keys already checked.

Under load most API calls come from a few keys; checking each call against the database costs
more than the call itself. A key checked less than ``ttl`` seconds ago is trusted again without
asking. A revoked key therefore stops working at once on the replica that revoked it and within
``ttl`` seconds everywhere else; a plan change reaches API callers within the same time.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import replace

from vixpro.accounts.principal import Principal
from vixpro.accounts.secrets import token_hash

DEFAULT_TTL = 1.0
MAX_ENTRIES = 10_000


class ApiKeyCache:
    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, key: str, ip: str | None) -> Principal | None:
        digest = token_hash(key)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        stored_at, principal = entry
        if time.monotonic() - stored_at > self.ttl:
            del self._entries[digest]
            return None
        return replace(principal, ip=ip)

    def put(self, key: str, principal: Principal) -> None:
        digest = token_hash(key)
        self._entries[digest] = (time.monotonic(), principal)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, api_key_id: uuid.UUID) -> None:
        """Drop a key at once (it was just revoked here)."""
        for digest, (_, principal) in list(self._entries.items()):
            if principal.api_key_id == api_key_id:
                del self._entries[digest]
