"""The one TLS client context used for enrolment and the WebSocket."""

from __future__ import annotations

import ssl


def client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificate and host name verification on, TLS 1.2 or later.

    With ``ca_file`` only that CA is trusted (a self-hosted platform with its own CA);
    without it, the system's trusted CAs.
    """
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context
