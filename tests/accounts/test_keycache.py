from __future__ import annotations

import time
import uuid

from vixpro.accounts.keycache import ApiKeyCache
from vixpro.accounts.principal import Principal
from vixpro.core.plans import DEFAULT_PLANS
from vixpro.core.roles import Role


def _principal() -> Principal:
    return Principal(
        kind="api_key",
        org_id=uuid.uuid4(),
        org_name="o",
        role=Role.ADMIN,
        plan=DEFAULT_PLANS[-1],
        label="k",
        api_key_id=uuid.uuid4(),
    )


def test_remembers_a_checked_key_with_the_callers_ip() -> None:
    cache = ApiKeyCache(ttl=60)
    p = _principal()
    cache.put("vxp_secret", p)
    got = cache.get("vxp_secret", "10.0.0.1")
    assert got is not None and got.api_key_id == p.api_key_id and got.ip == "10.0.0.1"
    assert cache.get("vxp_other", None) is None


def test_entries_expire() -> None:
    cache = ApiKeyCache(ttl=0.01)
    cache.put("vxp_secret", _principal())
    time.sleep(0.02)
    assert cache.get("vxp_secret", None) is None


def test_forget_drops_a_revoked_key_at_once() -> None:
    cache = ApiKeyCache(ttl=60)
    p = _principal()
    cache.put("vxp_secret", p)
    cache.forget(p.api_key_id)  # type: ignore[arg-type]
    assert cache.get("vxp_secret", None) is None


def test_size_is_bounded() -> None:
    cache = ApiKeyCache(ttl=60, max_entries=2)
    for n in range(3):
        cache.put(f"k{n}", _principal())
    assert cache.get("k0", None) is None and cache.get("k2", None) is not None
