"""The platform's enrolment endpoint, as a small HTTP(S) server in a thread."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from vixpro_agent.protocol import signing

Answer = tuple[int, dict[str, str], Any]


class EnrollmentServer:
    """Answers ``POST /api/v1/hostagent/enroll`` with ``answer(request_json)``."""

    def __init__(
        self, answer: Callable[[dict[str, Any]], Answer], ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                outer.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": body}
                )
                if self.path != "/api/v1/hostagent/enroll":
                    status, headers, payload = (
                        404,
                        {"Content-Type": "application/problem+json"},
                        {
                            "title": "Not found",
                            "detail": "no such endpoint",
                        },
                    )
                else:
                    status, headers, payload = outer.answer(body)
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if ssl_context else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> EnrollmentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"


def accepting(
    platform_key: signing.PrivateKey,
    server_id: str,
    config_doc: Any,
    manifest_doc: Any,
    token: str = "one-time-token",
) -> Callable[[dict[str, Any]], Answer]:
    """An answer that enrols a request carrying ``token``, and refuses others (401)."""

    def answer(request: dict[str, Any]) -> Answer:
        if request.get("token") != token:
            return (
                401,
                {"Content-Type": "application/problem+json"},
                {
                    "type": "about:blank",
                    "title": "Authentication required",
                    "status": 401,
                    "detail": "the enrolment token is unknown or expired",
                },
            )
        signing.load_public_pem(request["public_key"])  # a real RSA-3072 key, or this raises
        return (
            201,
            {"Content-Type": "application/json"},
            {
                "server_id": server_id,
                "platform_public_key": signing.public_pem(platform_key),
                "config": config_doc,
                "manifest": manifest_doc,
            },
        )

    return answer
