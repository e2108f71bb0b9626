"""A port or HTTP check failing: does it connect, what does it answer, does anything listen."""

from __future__ import annotations

from typing import Any

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolOutcome, ToolPort, mutate
from vixpro.ai.runbooks.targets import Endpoint, endpoint, systemd_unit

# Addresses that mean "this server" in an alert (compared with, never bound to).
LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::"}  # noqa: S104
SLOW_MS = 5000.0


async def _listening(
    inv: Investigation, port: int
) -> tuple[ToolOutcome, list[dict[str, Any]]] | None:
    ports = await inv.run("listening_ports")
    if ports is None:
        return None
    rows = [
        r
        for r in ports.output.get("listening", [])
        if isinstance(r, dict)
        and r.get("port") == port
        and str(r.get("proto", "")).startswith("tcp")
    ]
    return ports, rows


async def _tcp(
    inv: Investigation, target: Endpoint, context: IncidentContext
) -> DiagnosisReport | None:
    """A diagnosis when the port does not connect, else None (the port is open)."""
    assert target.port is not None
    check = await inv.run("tcp_connect_check", {"host": target.host, "port": target.port})
    if check is None:
        return inv.escalate(f"Could not check {target.host}:{target.port}.")
    if check.output.get("reachable"):
        inv.found(
            check,
            f"TCP {target.host}:{target.port} connects in {check.output.get('duration_ms')} ms",
        )
        return None
    error = check.output.get("error")
    inv.found(check, f"TCP {target.host}:{target.port} does not connect: {error}")
    unit = systemd_unit(context)
    actions = [mutate("restart_service", {"unit": unit}, f"start {unit} again")] if unit else []
    if target.host in LOCAL_HOSTS:
        listening = await _listening(inv, target.port)
        if listening is not None:
            ports, rows = listening
            if not rows:
                inv.found(ports, f"no process listens on TCP port {target.port} on this host")
                return inv.conclude(
                    f"Nothing listens on port {target.port}.",
                    f"No process is listening on TCP port {target.port}: the service behind "
                    f"{target.host}:{target.port} is not running or not bound to it "
                    f"(connect error: {error}).",
                    0.9,
                    actions,
                )
            owners = ", ".join(
                f"{r.get('process')} (pid {r.get('pid')}) on {r.get('address')}" for r in rows
            )
            inv.found(ports, f"TCP port {target.port} is listened on by {owners}")
            return inv.conclude(
                f"Port {target.port} is listened on but {target.host} cannot connect.",
                f"{owners} listens on port {target.port} but connections to {target.host} "
                f"fail ({error}): bound to another address, or a firewall drops them.",
                0.6,
            )
    refused = "refused" in str(error).lower()
    return inv.conclude(
        f"{target.host}:{target.port} does not accept connections.",
        f"Connections from this server to {target.host}:{target.port} fail: {error}"
        + (" (nothing listens there, or a firewall rejects)" if refused else ""),
        0.7 if refused else 0.55,
        actions,
    )


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:endpoint", tools)
    target = endpoint(context)
    if target is None:
        return inv.escalate(
            "The alert does not say which endpoint failed.",
            "no URL or host:port found in the alert's labels, annotations or text",
        )
    if target.port is not None:
        failed = await _tcp(inv, target, context)
        if failed is not None:
            return failed
    if target.url is None:
        return inv.escalate(
            f"{target.host}:{target.port} accepts connections now.",
            "the port check passes now: the failure may have been transient",
        )
    http = await inv.run("http_check", {"url": target.url, "timeout_s": 10})
    if http is None:
        return inv.escalate(f"Could not request {target.url}.")
    out = http.output
    if not out.get("reachable"):
        inv.found(http, f"GET {target.url} fails: {out.get('error')}")
        return inv.conclude(
            f"{target.url} does not answer.",
            f"Requests to {target.url} fail before any HTTP answer: {out.get('error')}",
            0.7,
        )
    status = out.get("status")
    body = " ".join(str(out.get("body_excerpt") or "").split())[:200]
    inv.found(
        http,
        f"GET {target.url} answered HTTP {status} in {out.get('duration_ms')} ms"
        + (f"; body starts: {body}" if body else ""),
    )
    if not out.get("ok"):
        side = "server error" if status and status >= 500 else "client error"
        return inv.conclude(
            f"{target.url} answers HTTP {status}.",
            f"The application at {target.url} answers HTTP {status} ({side})"
            + (f": {body}" if body else "."),
            0.85 if status and status >= 500 else 0.7,
        )
    if float(out.get("duration_ms") or 0) >= SLOW_MS:
        return inv.conclude(
            f"{target.url} is slow.",
            f"{target.url} answers HTTP {status} but takes {out.get('duration_ms')} ms.",
            0.6,
        )
    return inv.escalate(
        f"{target.url} answers HTTP {status} now.",
        "the check passes now: the failure may have been transient or seen from elsewhere",
    )
