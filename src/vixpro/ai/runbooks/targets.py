"""What an alert points at: a mountpoint, a unit or container, an endpoint, a domain name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from vixpro.ai.runbooks.base import IncidentContext

URL = re.compile(r"\bhttps?://[^\s\"'<>]+", re.IGNORECASE)
HOST_PORT = re.compile(r"\b((?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\b")
HOST_NAME = re.compile(r"\b((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})\b")
PATH_IN_TEXT = re.compile(r"(?:\bon|\bat|mount(?:point)?|path|filesystem)\s+(/[\w./@-]*)")
UNIT_IN_TEXT = re.compile(r"\b([A-Za-z0-9][\w@.:-]*\.(?:service|socket|timer))\b")
SERVICE_IN_TEXT = re.compile(
    r"\b(?:service|unit|daemon|container)\s+[\"']?([A-Za-z0-9][\w@.:-]*)", re.IGNORECASE
)
VALID_HOST = re.compile(r"^[A-Za-z0-9._:-]{1,253}$")
VALID_UNIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:\\-]{0,255}$")
NOT_NAMES = {"is", "was", "has", "down", "failed", "the", "on", "not", "in"}


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int | None
    url: str | None = None

    @property
    def tls(self) -> bool:
        return bool(self.url and self.url.lower().startswith("https://")) or self.port == 443


def mountpoint(context: IncidentContext) -> str | None:
    value = context.label("mountpoint", "mount", "mount_point", "path", "volume")
    if value and value.startswith("/"):
        return value
    match = PATH_IN_TEXT.search(context.title + "\n" + context.description)
    return match.group(1) if match else None


def systemd_unit(context: IncidentContext) -> str | None:
    value = context.label("unit", "systemd_unit", "name", "service")
    if value and VALID_UNIT.match(value):
        return value
    text = context.title + "\n" + context.description
    match = UNIT_IN_TEXT.search(text)
    if match:
        return match.group(1)
    match = SERVICE_IN_TEXT.search(text)
    if match and match.group(1).lower() not in NOT_NAMES and VALID_UNIT.match(match.group(1)):
        return match.group(1)
    return None


def container(context: IncidentContext) -> str | None:
    value = context.label("container", "container_name", "pod")
    return value if value and VALID_UNIT.match(value) else None


def _from_url(url: str) -> Endpoint | None:
    parts = urlsplit(url)
    if not parts.hostname or not VALID_HOST.match(parts.hostname):
        return None
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return None
    return Endpoint(parts.hostname, port, url)


def endpoint(context: IncidentContext) -> Endpoint | None:
    """The URL or host:port the alert is about: labels first (blackbox ``instance`` is a URL,
    node exporter's is host:port), then the alert's text."""
    candidates = [
        v
        for v in (
            context.label("url", "target", "endpoint", "probe_url"),
            context.label("instance", "address"),
        )
        if v
    ]
    text = context.title + "\n" + context.description + "\n" + context.text()
    candidates += URL.findall(text)
    candidates += [f"{h}:{p}" for h, p in HOST_PORT.findall(text)]
    for value in candidates:
        url = URL.match(value)
        if url:
            found = _from_url(url.group(0).rstrip(".,;)"))
            if found:
                return found
            continue
        match = HOST_PORT.fullmatch(value)
        if match and 0 < int(match.group(2)) < 65536:
            host = match.group(1).strip("[]")
            if VALID_HOST.match(host):
                return Endpoint(host, int(match.group(2)))
    host = context.label("host", "hostname", "domain")
    port = context.label("port")
    if host and VALID_HOST.match(host):
        return Endpoint(host, int(port) if port and port.isdigit() else None)
    return None


def domain(context: IncidentContext) -> str | None:
    """The DNS name the alert is about."""
    value = context.label("domain", "query", "record", "dns_name", "name", "server_name", "host")
    if value and VALID_HOST.match(value) and not value.replace(".", "").isdigit():
        return value.rstrip(".")
    found = endpoint(context)
    if found and not found.host.replace(".", "").isdigit():
        return found.host
    match = HOST_NAME.search(context.title + "\n" + context.description)
    return match.group(1) if match else None
