"""Which playbook an incident needs, from its alert names, labels, annotations and text."""

from __future__ import annotations

import re
from enum import StrEnum

from vixpro.ai.runbooks.base import IncidentContext


class Category(StrEnum):
    DISK = "disk"
    CPU = "cpu"
    MEMORY = "memory"
    SERVICE = "service"
    ENDPOINT = "endpoint"
    TLS = "tls"
    DNS = "dns"
    FDS = "fds"
    AGENT_OFFLINE = "agent_offline"
    GENERIC = "generic"


def _words(text: str) -> str:
    """CamelCase alert names split into words, lower case: NodeFilesystemSpaceFillingUp ->
    node filesystem space filling up."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    return re.sub(r"[_\-]+", " ", spaced).lower()


# Most specific first: a TLS probe failing is about the certificate, not the endpoint.
_RULES: list[tuple[Category, re.Pattern[str]]] = [
    (
        Category.AGENT_OFFLINE,
        re.compile(r"\b(host ?)?agent\b.*\b(offline|disconnected|unreachable|down|lost)\b"),
    ),
    (
        Category.TLS,
        re.compile(r"\b(ssl|tls|x509|certificates?|cert)\b|\bcert (expir|expiry)|expir\w* cert"),
    ),
    (
        Category.FDS,
        re.compile(r"file ?descriptors?|too many open files|\bopen files\b|\bnofile\b|\bfds?\b"),
    ),
    (
        Category.DISK,
        re.compile(
            r"\b(disk|filesystems?|file system|inodes?|mountpoint|volume|partition)\b"
            r"|no space left|\bdisk space\b|\bout of (space|files)\b"
        ),
    ),
    (Category.DNS, re.compile(r"\b(dns|nxdomain|servfail|resolv\w*|name resolution)\b")),
    (
        Category.MEMORY,
        re.compile(r"\b(memory|oom|oomkill\w*|swap\w*|ram|out of memory)\b|oom ?killed"),
    ),
    (Category.CPU, re.compile(r"\b(cpu|load average|high load|load\d*|throttl\w*|steal)\b")),
    (
        Category.SERVICE,
        re.compile(
            r"crash ?loop\w*|\bcrash\w*\b|\bservice (is )?(down|failed|stopped|inactive)\b"
            r"|\bunit (failed|down)\b|\bsystemd\b|\.service\b|\bcontainer\b.*\b(exited|restart\w*|down)\b"
            r"|\bprocess (is )?not running\b|\brestart\w* (too )?(often|repeatedly)\b"
        ),
    ),
    (
        Category.ENDPOINT,
        re.compile(
            r"\b(probe|http|https|endpoint|health ?check|port|blackbox|5xx|status code|latency)\b"
            r"|connection refused|unreachable|instance down|target down|website down|\burl\b"
        ),
    ),
]
SERVICE_LABELS = ("unit", "systemd_unit", "service", "container", "container_name")
DOWN = re.compile(r"\b(down|failed|stopped|not running|inactive|dead|exited)\b")


def categorise(context: IncidentContext) -> Category:
    names = " ".join(filter(None, [context.label("alertname"), context.title, context.description]))
    text = _words(names) + "\n" + _words(context.text())
    for category, pattern in _RULES:
        if category is Category.SERVICE and context.label(*SERVICE_LABELS) and DOWN.search(text):
            return category
        if pattern.search(text):
            return category
    if context.label("mountpoint"):
        return Category.DISK
    if context.label(*SERVICE_LABELS):
        return Category.SERVICE
    if context.label("instance", "url", "target"):
        return Category.ENDPOINT
    return Category.GENERIC
