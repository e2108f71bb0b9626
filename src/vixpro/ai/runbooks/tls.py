"""A TLS certificate expiring, expired or not verifying."""

from __future__ import annotations

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks.base import IncidentContext, Investigation, ToolPort
from vixpro.ai.runbooks.targets import endpoint

EXPIRING_DAYS = 14.0


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    inv = Investigation("runbook:tls", tools)
    target = endpoint(context)
    if target is None:
        return inv.escalate(
            "The alert does not say which certificate.",
            "no host, host:port or URL found in the alert's labels, annotations or text",
        )
    port = target.port or 443
    params: dict[str, object] = {"host": target.host, "port": port}
    server_name = context.label("server_name", "sni")
    if server_name:
        params["server_name"] = server_name
    cert = await inv.run("tls_certificate_expiry", params)
    if cert is None:
        return inv.escalate(f"Could not read the certificate of {target.host}:{port}.")
    out = cert.output
    where = f"{target.host}:{port}"
    if not out.get("reachable"):
        inv.found(cert, f"no TLS handshake with {where}: {out.get('error')}")
        return inv.escalate(
            f"Could not reach {where} to read its certificate.",
            f"the TLS connection to {where} failed ({out.get('error')}): the expiry cannot be read",
        )
    days = float(out.get("days_remaining", 0.0))
    inv.found(
        cert,
        f"{where} presents {out.get('subject')} issued by {out.get('issuer')}, valid until "
        f"{out.get('not_after')} ({days:g} days left), "
        + ("verifies" if out.get("verified") else f"does not verify: {out.get('verify_error')}"),
    )
    subject = out.get("subject")
    if out.get("expired"):
        return inv.conclude(
            f"The certificate of {where} has expired.",
            f"The certificate for {subject} expired on {out.get('not_after')}.",
            0.95,
        )
    if days <= EXPIRING_DAYS:
        extra = (
            f"; it also does not verify ({out.get('verify_error')})"
            if not out.get("verified")
            else ""
        )
        return inv.conclude(
            f"The certificate of {where} expires in {days:g} days.",
            f"The certificate for {subject} expires on {out.get('not_after')}, "
            f"in {days:g} days: it has not been renewed{extra}.",
            0.9,
        )
    if not out.get("verified"):
        return inv.conclude(
            f"The certificate of {where} does not verify.",
            f"The certificate for {subject} is valid for {days:g} more days but does not "
            f"verify: {out.get('verify_error')}.",
            0.8,
        )
    return inv.escalate(
        f"The certificate of {where} is valid for {days:g} more days and verifies.",
        "the certificate seen from this server is fine: it may have been renewed already, "
        "or the alert saw a different endpoint",
    )
