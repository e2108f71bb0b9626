"""DNS failing: does the name resolve through this server's resolver, and which one."""

from __future__ import annotations

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort
from vixpro.ai.runbooks.targets import domain

SLOW_MS = 2000.0


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:dns", tools)
    name = domain(context)
    if name is None:
        return inv.escalate(
            "The alert does not say which name fails to resolve.",
            "no domain name found in the alert's labels, annotations or text",
        )
    answer = await inv.run("dns_resolve", {"name": name})
    if answer is None:
        return inv.escalate(f"Could not resolve {name} on this server.")
    out = answer.output
    servers = ", ".join(out.get("nameservers") or []) or "none configured"
    if not out.get("resolved"):
        inv.found(
            answer,
            f"{name} does not resolve: {out.get('error')} (after {out.get('duration_ms')} ms; "
            f"nameservers {servers})",
        )
        if not out.get("nameservers"):
            cause = f"This server has no nameserver configured; {name} cannot resolve."
            return inv.conclude(f"{name} does not resolve.", cause, 0.85)
        return inv.conclude(
            f"{name} does not resolve.",
            f"The resolver ({servers}) answers {out.get('error')!r} for {name}: the record is "
            "missing or the resolver cannot reach the authoritative servers.",
            0.7,
        )
    addresses = ", ".join(a.get("address", "") for a in out.get("addresses", []))
    inv.found(
        answer,
        f"{name} resolves to {addresses} in {out.get('duration_ms')} ms (nameservers {servers})",
    )
    if float(out.get("duration_ms") or 0) >= SLOW_MS:
        return inv.conclude(
            f"{name} resolves, slowly.",
            f"Resolving {name} takes {out.get('duration_ms')} ms through {servers}: "
            "the resolver is slow or retries.",
            0.6,
        )
    return inv.escalate(
        f"{name} resolves now ({addresses}).",
        "the name resolves from this server now: the failure may have been transient",
    )
