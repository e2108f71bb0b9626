"""Enrolment: one HTTPS request that trades a one-time token for this server's identity.

The host agent makes its key pair, sends the public key with the token and its facts, and
gets back its server id, the platform's signing key (pinned from then on), a signed config
and a signed manifest. Both are verified with the returned key before anything is stored.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vixpro_agent import __version__
from vixpro_agent.config import AgentConfig, ConfigError, verify_config_document
from vixpro_agent.facts import collect_facts
from vixpro_agent.manifest import Manifest, ManifestError, verify_manifest
from vixpro_agent.protocol import signing
from vixpro_agent.state import Enrollment, StateDir, write_atomic
from vixpro_agent.tls import client_context

ENROLL_PATH = "/api/v1/hostagent/enroll"
TIMEOUT_S = 30.0
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


class EnrollError(Exception):
    """Enrolment failed; the message is fit to show to the person enrolling."""


@dataclass(frozen=True)
class EnrollResult:
    enrollment: Enrollment
    config: AgentConfig
    manifest: Manifest


class _RefuseRedirect(urllib.request.HTTPRedirectHandler):
    # Following a redirect would send the token somewhere the operator did not name.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def normalise_server_url(server: str) -> str:
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EnrollError(f"--server must be an http:// or https:// URL, not {server!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def enroll(
    server: str,
    token: str,
    state: StateDir,
    *,
    ca_file: str | None = None,
    force: bool = False,
    key: signing.PrivateKey | None = None,
) -> EnrollResult:
    """Enrol with ``server``; ``key`` defaults to a new RSA-3072 key made here."""
    server = normalise_server_url(server)
    if state.is_enrolled() and not force:
        raise EnrollError(
            f"{state.path} already holds an enrolment; use --force to enrol again with a new key"
        )
    ca_pem: bytes | None = None
    if ca_file:
        try:
            ca_pem = Path(ca_file).read_bytes()
        except OSError as exc:
            raise EnrollError(f"cannot read --ca-file {ca_file}: {exc.strerror}") from None
    context = client_context(ca_file) if server.startswith("https://") else None
    key = key or signing.generate_private_key()
    request_body = {"token": token, "public_key": signing.public_pem(key), "facts": collect_facts()}
    answer = _post_json(server + ENROLL_PATH, request_body, context)
    server_id, platform_pem, config, manifest = _check_answer(answer)
    enrollment = Enrollment(
        server_id=server_id,
        platform_url=server,
        enrolled_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        ca_file=str(state.ca_path) if ca_pem is not None else None,
    )

    state.create()
    if ca_pem is not None:
        write_atomic(state.ca_path, ca_pem, 0o644)
    elif state.ca_path.exists():
        state.ca_path.unlink()
    state.save_private_key(key)
    state.save_platform_key(platform_pem)
    state.save_config_document(answer["config"])
    state.save_manifest_document(answer["manifest"])
    state.save_enrollment(enrollment)
    if state.status_path.exists():
        state.status_path.unlink()  # a tamper record of an earlier enrolment is not ours
    return EnrollResult(enrollment=enrollment, config=config, manifest=manifest)


def _check_answer(answer: Any) -> tuple[str, str, AgentConfig, Manifest]:
    if not isinstance(answer, dict):
        raise EnrollError("the platform's answer is not a JSON object")
    server_id = answer.get("server_id")
    platform_pem = answer.get("platform_public_key")
    if not isinstance(server_id, str) or not server_id:
        raise EnrollError("the platform's answer has no server_id")
    if not isinstance(platform_pem, str):
        raise EnrollError("the platform's answer has no platform_public_key")
    try:
        platform_key = signing.load_public_pem(platform_pem)
    except signing.SignatureError as exc:
        raise EnrollError(f"the platform's public key is unusable: {exc}") from exc
    try:
        config = verify_config_document(answer.get("config"), platform_key)
    except ConfigError as exc:
        raise EnrollError(f"the config from the platform failed verification: {exc}") from exc
    if config.server_id != server_id:
        raise EnrollError("the config from the platform is for another server id")
    try:
        manifest = verify_manifest(answer.get("manifest"), platform_key)
    except ManifestError as exc:
        raise EnrollError(f"the manifest from the platform failed verification: {exc}") from exc
    return server_id, platform_pem, config, manifest


def _post_json(url: str, body: dict[str, Any], context: ssl.SSLContext | None) -> Any:
    handlers: list[Any] = [_RefuseRedirect()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(  # noqa: S310 - the scheme was checked: http(s) only
        url,
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, application/problem+json",
            "User-Agent": f"vixpro-agent/{__version__}",
        },
    )
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            raw = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        with exc:  # holds the response's socket
            message = _http_error_message(exc)
        raise EnrollError(message) from None
    except urllib.error.URLError as exc:
        raise EnrollError(_connection_error_message(url, exc.reason)) from None
    except (OSError, ssl.SSLError) as exc:
        raise EnrollError(_connection_error_message(url, exc)) from None
    try:
        return json.loads(raw)
    except ValueError:
        raise EnrollError("the platform's answer is not JSON") from None


def _http_error_message(exc: urllib.error.HTTPError) -> str:
    code = exc.code
    if 300 <= code < 400:
        return (
            f"the platform answered with a redirect (HTTP {code}) to {exc.headers.get('Location')}; "
            "enrol with that URL"
        )
    detail = None
    try:
        problem = json.loads(exc.read(64 * 1024))
        if isinstance(problem, dict):
            detail = problem.get("detail") or problem.get("title")
    except (ValueError, OSError):
        pass
    detail = detail or exc.reason or "no detail given"
    if 400 <= code < 500:
        return f"enrolment refused (HTTP {code}): {detail}"
    return f"the platform failed to enrol this server (HTTP {code}): {detail}"


def _connection_error_message(url: str, reason: Any) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (
            f"TLS certificate verification failed for {url}: {reason.verify_message}. "
            "If the platform uses its own CA, pass it with --ca-file"
        )
    if isinstance(reason, ssl.SSLError):
        return f"TLS failure talking to {url}: {reason}"
    return f"cannot reach {url}: {reason}"
