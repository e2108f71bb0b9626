"""ASGI middleware: request-body limit, Prometheus metrics and an access log by route template.

The access log names the route template (``/invite/{token}``), never the raw path, so tokens
in URLs do not reach the log.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vixpro.support.attachments import UPLOAD_REQUEST_LIMIT

access_log = logging.getLogger("vixpro.access")

# Support messages carry screenshots: their routes (and only those) get a larger, still bounded
# limit; ``vixpro.support.attachments`` refuses any single file over its own limit with a 413.
UPLOAD_ROUTES = re.compile(
    r"^(?:/api/v1(?:/staff)?/tickets|/support/tickets|/staff/tickets)(?:/[0-9a-fA-F-]{36}/messages)?$"
)


def _problem_413(limit: int) -> bytes:
    return json.dumps(
        {
            "type": "https://vixpro.dev/problems/body-too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": f"request bodies are limited to {limit} bytes",
        }
    ).encode()


class BodyLimitMiddleware:
    """Answer 413 for bodies over ``limit`` bytes, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        if scope.get("method") == "POST" and UPLOAD_ROUTES.match(scope.get("path", "")):
            limit = max(limit, UPLOAD_REQUEST_LIMIT)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(send, limit)
                    return
        seen = 0
        started = False
        rejected = False

        async def limited_receive() -> Message:
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not rejected:
                    # Answer now and tell the app the client has gone, so it stops reading;
                    # whatever it answers afterwards is dropped.
                    rejected = True
                    if not started:
                        await self._reject(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _reject(self, send: Send, limit: int) -> None:
        body = _problem_413(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class IngestCollector(Collector):
    """The ingest writer's transactions by how they ran, read when scraped."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "vixpro_ingest_transactions",
            "Ingest transactions by how they ran: overlapped (under the organisation's "
            "ingest lease), alone (ingest lock exclusive), sent_back (refused before writing, "
            "then run alone)",
            labels=["mode"],
        )
        for mode, count in sorted(self._counts().items()):
            family.add_metric([mode], count)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vixpro_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vixpro_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # Each (method, route, status)'s counter and histogram, found once: looking labels
        # up cost about 2 % of the web process's CPU in a flood of webhooks. Bounded, as
        # routes are templates.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)


def _route_template(scope: Scope) -> str:
    """The path with each path parameter put back as ``{name}``: bounded label values."""
    if scope.get("route") is None:
        return "unmatched"
    segments = str(scope.get("path", "")).split("/")
    params: dict[str, Any] = scope.get("path_params") or {}
    by_value = {str(value): name for name, value in params.items()}
    return "/".join(f"{{{by_value[s]}}}" if s in by_value else s for s in segments)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.record(method, route, status, elapsed)
            access_log.info("%s %s %d %.1fms", method, route, status, elapsed * 1000)
