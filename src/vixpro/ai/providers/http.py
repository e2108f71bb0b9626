"""One HTTP client per event loop, shared by every provider SDK in the process.

Building an SDK client builds an HTTPS context (the CA bundle loaded and parsed), which costs
tens of milliseconds of CPU — the largest single cost of starting a diagnosis when each run
built its own. Sharing one client per event loop also keeps connections to a provider alive
between runs. The SDKs put the key and their headers on each request, so nothing of one
organisation's key is held by the client; cookies are refused, so no state a provider sets
for one organisation's request travels with another's.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx2.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def shared_client() -> httpx2.AsyncClient | None:
    """The running loop's shared client, or None outside a loop (the SDK then makes its own)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    client = _clients.get(loop)
    if client is None or client.is_closed:
        from pydantic_ai.models import create_async_httpx2_client

        client = create_async_httpx2_client()
        client.cookies.jar.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        _clients[loop] = client
    return client
