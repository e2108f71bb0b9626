"""The normalised alert: what every monitoring tool's webhook is turned into.

Adapters (``vixpro.ingest``) build these; the incidents service stores them. Nothing here
does I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson


class Status(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class Tier(StrEnum):
    """The seed's two incident severities."""

    CRITICAL = "critical"
    NORMAL = "normal"


def tier_of(severity: Severity) -> Tier:
    return Tier.CRITICAL if severity is Severity.CRITICAL else Tier.NORMAL


# Words monitoring tools use for severity, mapped to ours. Adapters with their own scale
# map explicitly; this table is for free-text labels.
_SEVERITY_WORDS: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "disaster": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "alert": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "sev0": Severity.CRITICAL,
    "sev1": Severity.CRITICAL,
    "high": Severity.CRITICAL,
    "error": Severity.WARNING,
    "err": Severity.WARNING,
    "major": Severity.WARNING,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "average": Severity.WARNING,
    "medium": Severity.WARNING,
    "moderate": Severity.WARNING,
    "p2": Severity.WARNING,
    "p3": Severity.WARNING,
    "sev2": Severity.WARNING,
    "sev3": Severity.WARNING,
    "minor": Severity.INFO,
    "low": Severity.INFO,
    "info": Severity.INFO,
    "information": Severity.INFO,
    "informational": Severity.INFO,
    "notice": Severity.INFO,
    "debug": Severity.INFO,
    "ok": Severity.INFO,
    "none": Severity.INFO,
    "not classified": Severity.INFO,
    "p4": Severity.INFO,
    "p5": Severity.INFO,
    "sev4": Severity.INFO,
}


def severity_from_word(word: object, default: Severity = Severity.WARNING) -> Severity:
    """Map a tool's severity word ("crit", "High", "P2"…) to ours; unknown words get ``default``."""
    if not isinstance(word, str):
        return default
    return _SEVERITY_WORDS.get(word.strip().lower(), default)


def fingerprint(source: str, *identity: object) -> str:
    """A stable hash of the source's identity fields (order matters; mappings are sorted).

    The hashed text is the standard library's compact, key-sorted JSON (stored fingerprints
    depend on it). For the usual identity, strings and string-to-string mappings in plain
    ASCII without escapes, orjson writes the very same text several times faster."""
    value = [source, *identity]
    encoded = _plain_json(value)
    if encoded is None:
        encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


def _plain_json(value: list[object]) -> bytes | None:
    """``value`` as the standard library would write it, where orjson writes it identically:
    strings and mappings of strings only, printable ASCII, nothing escaped; else None."""
    for item in value:
        if type(item) is dict:
            for key, text in item.items():
                if type(key) is not str or type(text) is not str:
                    return None
        elif type(item) is not str:
            return None
    encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    # The standard library escapes DEL (0x7f) as well; orjson writes it as it is.
    if not encoded.isascii() or b"\\" in encoded or b"\x7f" in encoded:
        return None
    return encoded


@dataclass(frozen=True, slots=True)
class NormalizedAlert:
    """One alert from one monitoring tool, in VixPro's terms."""

    source: str
    fingerprint: str
    status: Status
    severity: Severity
    title: str
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # What the alert says about where it happened: hostnames, instance labels, addresses.
    # The incidents service matches these against enrolled servers.
    host_hints: tuple[str, ...] = ()
    source_url: str | None = None
    # The source's own acknowledgement (PagerDuty Events API ``acknowledge``).
    acknowledged: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("an alert needs a title")
        if not self.fingerprint:
            raise ValueError("an alert needs a fingerprint")


def host_hints(*candidates: object) -> tuple[str, ...]:
    """Clean host hints: strings, stripped of ports and schemes, lower-cased, no duplicates."""
    hints: list[str] = []
    for candidate in candidates:
        values: Iterable[object] = (
            candidate if isinstance(candidate, list | tuple) else (candidate,)
        )
        for value in values:
            if not isinstance(value, str) or not value.strip():
                continue
            hint = value.strip().lower()
            if "://" in hint:
                hint = hint.split("://", 1)[1]
            hint = hint.split("/", 1)[0]
            if hint.startswith("["):  # [v6]:port
                hint = hint[1:].split("]", 1)[0]
            elif hint.count(":") == 1:
                hint = hint.split(":", 1)[0]
            if hint and hint not in hints:
                hints.append(hint)
    return tuple(hints)


def truncate(text: object, limit: int) -> str:
    """A string of at most ``limit`` characters ("…" marks a cut)."""
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def string_map(value: object) -> dict[str, str]:
    """A label/annotation mapping with string keys and values (anything else is stringified)."""
    if not isinstance(value, Mapping):
        return {}
    result: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            continue
        result[str(key)] = item if isinstance(item, str) else json.dumps(item, default=str)
    return result
