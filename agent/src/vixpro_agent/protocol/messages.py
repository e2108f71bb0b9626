"""WebSocket messages between the platform and a host agent (JSON objects with a ``type``).

Enrolment is plain HTTPS, before any WebSocket:

``POST {platform}/api/v1/hostagent/enroll``
    request ``{"token", "public_key" (PEM, RSA-3072), "facts"}``;
    response ``{"server_id", "platform_public_key" (PEM), "config" (signed document),
    "manifest" (signed document)}``. The host agent pins ``platform_public_key`` from then on.

WebSocket ``{platform}/api/v1/hostagent/ws`` (``wss://`` with TLS 1.2 or later):

1. platform → ``challenge {nonce}``
2. host agent → ``hello {server_id, signature, agent_version, facts, manifest_version,
   config_version}`` where ``signature`` is RSA-SHA256 by the host agent's key over
   ``canonical_json({"nonce": nonce, "server_id": server_id})``
3. platform → ``welcome {heartbeat_s}``; then ``manifest {document}`` and ``config {document}``
   whenever the host agent's versions are older than the platform's (and whenever they change)
4. platform → ``tool_call {id, tool, params, deadline_ms}``;
   host agent → ``tool_result {id, ok, output, error, error_kind, duration_ms, truncated}``
5. either side → ``ping {at}``; the other answers ``pong {at}``; every 15 s
6. host agent → ``tamper {detail}`` when its config file no longer verifies, and
   ``manifest_refused {version, reason}`` when a pushed manifest fails verification;
   ``facts {facts}`` when its host facts change
7. platform → ``error {detail}`` then close, when the hello is refused

Signed documents are ``{"body": ..., "signature": base64}`` (see ``signing.py``).

A manifest body: ``{"version": int, "issued_at": iso8601, "tools": [ToolSpec...]}``;
a ToolSpec: ``{"name", "version", "description", "risk": "read"|"mutate",
"parameters": JSON schema (object), "timeout_s": 1..60}``.

A config body: ``{"version": int, "server_id", "org_id", "platform_url",
"allowed_log_roots": [paths], "allowed_cleanup_roots": [paths], "issued_at"}``.
"""

from __future__ import annotations

from typing import Any, Dict

PROTOCOL_VERSION = 1
HEARTBEAT_SECONDS = 15
DEFAULT_DEADLINE_MS = 60_000
MAX_TIMEOUT_S = 60
DEFAULT_OUTPUT_LIMIT = 64 * 1024

# Message types
CHALLENGE = "challenge"
HELLO = "hello"
WELCOME = "welcome"
MANIFEST = "manifest"
CONFIG = "config"
TOOL_CALL = "tool_call"
TOOL_RESULT = "tool_result"
PING = "ping"
PONG = "pong"
TAMPER = "tamper"
MANIFEST_REFUSED = "manifest_refused"
FACTS = "facts"
ERROR = "error"

# error_kind values in a tool_result that is not ok
ERR_UNKNOWN_TOOL = "unknown_tool"  # not in the verified manifest
ERR_BAD_PARAMS = "bad_params"  # parameters fail the tool's schema
ERR_TIMEOUT = "timeout"  # the deadline passed; the process tree was killed
ERR_UNAVAILABLE = "unavailable"  # systemd, journald, Docker... missing on this host
ERR_REFUSED = "refused"  # e.g. mutate tools while the config is tampered, a path not allowed
ERR_FAILED = "failed"  # the tool ran and reported failure (non-zero exit, etc.)
ERR_CRASHED = "crashed"  # the tool raised: a platform-side problem
ERR_DISCONNECTED = "disconnected"  # set by the platform when the connection drops mid-call
ERR_OFFLINE = "offline"  # set by the platform when the host agent is not connected

Message = Dict[str, Any]


def message(kind: str, **fields: Any) -> Message:
    out: Message = {"type": kind}
    out.update(fields)
    return out


def hello_payload(nonce: str, server_id: str) -> Dict[str, str]:
    """What the host agent signs to answer a challenge."""
    return {"nonce": nonce, "server_id": server_id}
