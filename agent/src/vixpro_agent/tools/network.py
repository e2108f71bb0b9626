"""Network: listening ports, connections, interfaces, and checks of DNS, TCP, HTTP and TLS."""

from __future__ import annotations

import datetime
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from vixpro_agent import __version__
from vixpro_agent.tools.base import RISK_READ, Params, Tool, ToolContext, params_schema

HOST = {
    "type": "string",
    "minLength": 1,
    "maxLength": 253,
    "pattern": "^[A-Za-z0-9._:-]+$",
    "description": "Host name or IP address",
}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
TIMEOUT = {"type": "integer", "minimum": 1, "maximum": 30, "default": 5}
BODY_EXCERPT = 2048
KEPT_HEADERS = ("content-type", "content-length", "server", "location", "cache-control", "date")


def _process_names() -> dict[int, str]:
    names: dict[int, str] = {}
    for process in psutil.process_iter(["pid", "name"]):
        names[process.info["pid"]] = process.info["name"]
    return names


def _connections() -> list[Any]:
    # Without root, other users' sockets are listed without their pid.
    return list(psutil.net_connections(kind="inet"))


def _proto(conn: Any) -> str:
    tcp = conn.type == socket.SOCK_STREAM
    v6 = conn.family == socket.AF_INET6
    return ("tcp" if tcp else "udp") + ("6" if v6 else "")


def listening_ports(params: Params, ctx: ToolContext) -> dict[str, Any]:
    names = _process_names()
    rows = []
    seen = set()
    for conn in _connections():
        listening = conn.status == psutil.CONN_LISTEN or (
            conn.type == socket.SOCK_DGRAM and not conn.raddr
        )
        if not listening or not conn.laddr:
            continue
        key = (_proto(conn), conn.laddr.ip, conn.laddr.port, conn.pid)
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "proto": key[0],
                "address": conn.laddr.ip,
                "port": conn.laddr.port,
                "pid": conn.pid,
                "process": names.get(conn.pid) if conn.pid else None,
            }
        )
    rows.sort(key=lambda r: (r["port"], r["proto"]))
    return {"listening": rows, "count": len(rows)}


def network_connections_summary(params: Params, ctx: ToolContext) -> dict[str, Any]:
    by_state: Counter[str] = Counter()
    by_proto: Counter[str] = Counter()
    remotes: Counter[str] = Counter()
    local_ports: Counter[int] = Counter()
    total = 0
    for conn in _connections():
        total += 1
        by_proto[_proto(conn)] += 1
        by_state[conn.status] += 1
        if conn.status == psutil.CONN_ESTABLISHED and conn.raddr:
            remotes[conn.raddr.ip] += 1
            local_ports[conn.laddr.port] += 1
    limit = params["limit"]
    return {
        "total": total,
        "by_state": dict(by_state.most_common()),
        "by_proto": dict(by_proto.most_common()),
        "top_remote_addresses": [
            {"address": a, "connections": n} for a, n in remotes.most_common(limit)
        ],
        "top_local_ports_established": [
            {"port": p, "connections": n} for p, n in local_ports.most_common(limit)
        ],
    }


def interface_stats(params: Params, ctx: ToolContext) -> dict[str, Any]:
    stats = psutil.net_if_stats()
    counters = psutil.net_io_counters(pernic=True)
    addresses = psutil.net_if_addrs()
    rows = []
    for name in sorted(set(stats) | set(counters)):
        row: dict[str, Any] = {"name": name}
        if name in stats:
            s = stats[name]
            row.update({"up": s.isup, "speed_mbps": s.speed, "mtu": s.mtu})
        if name in counters:
            row.update(counters[name]._asdict())
        row["addresses"] = [
            a.address
            for a in addresses.get(name, [])
            if a.family in (socket.AF_INET, socket.AF_INET6)
        ]
        rows.append(row)
    return {"interfaces": rows}


def _nameservers() -> list[str]:
    try:
        text = Path("/etc/resolv.conf").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [
        line.split()[1]
        for line in text.splitlines()
        if line.startswith("nameserver") and len(line.split()) > 1
    ]


def dns_resolve(params: Params, ctx: ToolContext) -> dict[str, Any]:
    """Resolve through the system resolver: what this host's programs would get."""
    name = params["name"]
    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP, flags=socket.AI_CANONNAME)
    except socket.gaierror as exc:
        return {
            "name": name,
            "resolved": False,
            "error": exc.strerror,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "nameservers": _nameservers(),
        }
    addresses: list[dict[str, str]] = []
    canonical = None
    for family, _type, _proto_num, canon, sockaddr in infos:
        canonical = canonical or canon or None
        entry = {
            "family": "ipv6" if family == socket.AF_INET6 else "ipv4",
            "address": str(sockaddr[0]),
        }
        if entry not in addresses:
            addresses.append(entry)
    return {
        "name": name,
        "resolved": True,
        "canonical_name": canonical,
        "addresses": addresses,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
        "nameservers": _nameservers(),
    }


def tcp_connect_check(params: Params, ctx: ToolContext) -> dict[str, Any]:
    host, port = params["host"], params["port"]
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=params["timeout_s"]) as sock:
            peer = sock.getpeername()
        return {
            "host": host,
            "port": port,
            "reachable": True,
            "address": str(peer[0]),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }
    except OSError as exc:
        return {
            "host": host,
            "port": port,
            "reachable": False,
            "error": str(exc) if not isinstance(exc, socket.timeout) else "timed out",
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http_check(params: Params, ctx: ToolContext) -> dict[str, Any]:
    url = params["url"]
    context = ssl.create_default_context()
    if not params["verify_tls"]:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    handlers: list[Any] = [urllib.request.HTTPSHandler(context=context)]
    if not params["follow_redirects"]:
        handlers.append(_NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(  # noqa: S310 - the schema allows http(s) URLs only
        url, method=params["method"], headers={"User-Agent": f"vixpro-agent/{__version__}"}
    )
    started = time.monotonic()
    status: int | None = None
    try:
        try:
            response = opener.open(request, timeout=params["timeout_s"])
        except urllib.error.HTTPError as exc:
            response = exc  # 4xx and 5xx are answers, not failures of the check
        with response:
            status = response.status if hasattr(response, "status") else response.getcode()
            body = response.read(BODY_EXCERPT) if params["method"] == "GET" else b""
            headers = {k.lower(): v for k, v in response.headers.items()}
            final_url = response.geturl()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return {
            "url": url,
            "reachable": False,
            "error": str(reason),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }
    expected = params.get("expect_status")
    return {
        "url": url,
        "final_url": final_url,
        "reachable": True,
        "status": status,
        "ok": (status == expected)
        if expected is not None
        else (status is not None and status < 400),
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
        "headers": {k: headers[k] for k in KEPT_HEADERS if k in headers},
        "body_excerpt": body.decode("utf-8", errors="replace"),
    }


def _certificate(host: str, port: int, server_name: str, timeout: float, verify: bool) -> bytes:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw:  # noqa: SIM117
        # Two statements, not one parenthesised with: that form is official from 3.10.
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string()


def tls_certificate_expiry(params: Params, ctx: ToolContext) -> dict[str, Any]:
    host, port = params["host"], params["port"]
    server_name = params.get("server_name") or host
    timeout = params["timeout_s"]
    verified = True
    verify_error = None
    try:
        der = _certificate(host, port, server_name, timeout, verify=True)
    except ssl.SSLCertVerificationError as exc:
        # An expired or untrusted certificate is exactly what this tool must still report.
        verified, verify_error = False, exc.verify_message or str(exc)
        try:
            der = _certificate(host, port, server_name, timeout, verify=False)
        except (OSError, ssl.SSLError) as inner:
            return {"host": host, "port": port, "reachable": False, "error": str(inner)}
    except (OSError, ssl.SSLError) as exc:
        return {"host": host, "port": port, "reachable": False, "error": str(exc)}
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        sans = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        names = [str(n.value) for n in sans.value]  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        names = []
    return {
        "host": host,
        "port": port,
        "server_name": server_name,
        "reachable": True,
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "subject_alt_names": names[:100],
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_remaining": round((not_after - now).total_seconds() / 86400, 1),
        "expired": not_after < now,
        "verified": verified,
        "verify_error": verify_error,
        "serial_number": format(cert.serial_number, "x"),
    }


TOOLS = [
    Tool(
        name="listening_ports",
        description="TCP and UDP sockets listening on this host, with the owning process.",
        risk=RISK_READ,
        parameters=params_schema(),
        func=listening_ports,
        timeout_s=15,
    ),
    Tool(
        name="network_connections_summary",
        description="Connection counts by state and protocol, top remote addresses and busiest local ports.",
        risk=RISK_READ,
        parameters=params_schema(
            limit={"type": "integer", "minimum": 1, "maximum": 50, "default": 10}
        ),
        func=network_connections_summary,
        timeout_s=15,
    ),
    Tool(
        name="interface_stats",
        description="Network interfaces: up/down, speed, MTU, addresses, bytes, packets, errors and drops.",
        risk=RISK_READ,
        parameters=params_schema(),
        func=interface_stats,
        timeout_s=10,
    ),
    Tool(
        name="dns_resolve",
        description="Resolve a host name through this host's resolver; lists its nameservers.",
        risk=RISK_READ,
        parameters=params_schema(["name"], name=HOST),
        func=dns_resolve,
        timeout_s=20,
    ),
    Tool(
        name="tcp_connect_check",
        description="Open a TCP connection from this host to host:port and report whether and how fast it connected.",
        risk=RISK_READ,
        parameters=params_schema(["host", "port"], host=HOST, port=PORT, timeout_s=TIMEOUT),
        func=tcp_connect_check,
        timeout_s=35,
    ),
    Tool(
        name="http_check",
        description="Make an HTTP(S) GET or HEAD request from this host: status, timing, key headers, start of the body.",
        risk=RISK_READ,
        parameters=params_schema(
            ["url"],
            url={
                "type": "string",
                "minLength": 8,
                "maxLength": 2048,
                "pattern": "^https?://[^\\s]+$",
            },
            method={"type": "string", "enum": ["GET", "HEAD"], "default": "GET"},
            timeout_s={"type": "integer", "minimum": 1, "maximum": 30, "default": 10},
            expect_status={"type": "integer", "minimum": 100, "maximum": 599},
            follow_redirects={"type": "boolean", "default": True},
            verify_tls={"type": "boolean", "default": True},
        ),
        func=http_check,
        timeout_s=35,
    ),
    Tool(
        name="tls_certificate_expiry",
        description="The TLS certificate a server presents: subject, issuer, names, expiry and days remaining, and whether it verifies.",
        risk=RISK_READ,
        parameters=params_schema(
            ["host"],
            host=HOST,
            port={**PORT, "default": 443},
            server_name={**HOST, "description": "SNI name, if different from host"},
            timeout_s={"type": "integer", "minimum": 1, "maximum": 20, "default": 10},
        ),
        func=tls_certificate_expiry,
        timeout_s=45,
    ),
]
