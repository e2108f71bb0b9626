"""The HTTP server's settings, shared by ``vixpro serve`` and the tests' live server."""

from __future__ import annotations

from typing import Any

import uvicorn

from vixpro.web.transport import CoalescingHttpProtocol


def server_config(
    app: Any,
    *,
    host: str,
    port: int,
    tls: tuple[str, str] | None = None,
    **options: Any,
) -> uvicorn.Config:
    """uvicorn serving ``app``: httptools on a transport that writes each answer at once,
    no lifespan (``serve`` starts and stops the app's state), no server header, and no access
    log of its own (ours names route templates, see ``web/middleware.py``)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=CoalescingHttpProtocol,
        lifespan="off",
        access_log=False,
        server_header=False,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
        **options,
    )
