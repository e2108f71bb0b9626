"""Generic JSON webhook: any tool that can POST JSON, with a field mapping kept in the integration.

``config.options`` (all optional)::

    {
      "alerts": "<path to a list of alerts; absent: the body is one alert (or a list of them)>",
      "fields": {
        "title": "<path>", "status": "<path>", "severity": "<path>",
        "fingerprint": ["<path>", ...], "description": "<path>",
        "host": "<path>" or ["<path>", ...], "url": "<path>", "labels": "<path>",
        "starts_at": "<path>", "ends_at": "<path>"
      },
      "status_map": {"<their word>": "firing" | "resolved"},
      "severity_map": {"<their word>": "critical" | "warning" | "info"}
    }

A path is dotted with list indexes (``data.targets.0.host``), read from the alert; with
``alerts`` set, a path starting with ``$.`` is read from the whole body instead (an envelope's
status, say). A field left out of ``fields`` is looked for under common names (``title``,
``name``, ``summary``…; see ``DEFAULT_PATHS``), so ``{"title": …, "status": "firing",
"severity": "critical", "host": "web-1", "id": …}`` needs no mapping.

Signing: with a signing secret, ``X-VixPro-Timestamp`` (Unix seconds, within 5 minutes) and
``X-VixPro-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`` are required.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from vixpro.core.alerts import (
    NormalizedAlert,
    Severity,
    Status,
    fingerprint,
    host_hints,
    severity_from_word,
    string_map,
    truncate,
)
from vixpro.ingest.base import (
    IntegrationConfig,
    Parsed,
    PayloadError,
    SignatureError,
    WebhookRequest,
    check_hmac,
    check_timestamp,
)
from vixpro.ingest.base import parse_time as base_parse_time

SOURCE = "generic"
TIMESTAMP_HEADER = "X-VixPro-Timestamp"
SIGNATURE_HEADER = "X-VixPro-Signature"

OPTION_KEYS = ("alerts", "fields", "status_map", "severity_map")
FIELDS = (
    "title",
    "status",
    "severity",
    "fingerprint",
    "description",
    "host",
    "url",
    "labels",
    "starts_at",
    "ends_at",
)
MULTI_PATH_FIELDS = ("fingerprint", "host")
MAX_PATH_LENGTH = 300
MAX_PATH_SEGMENTS = 32
MAX_PATHS_PER_FIELD = 16
MAX_MAP_ENTRIES = 200
MAX_WORD_LENGTH = 100

# Where each field is looked for when the mapping does not say (the first present wins;
# for host, every present one is a hint).
DEFAULT_PATHS: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "summary", "alertname", "subject", "message"),
    "status": ("status", "state"),
    "severity": ("severity", "level", "priority"),
    "fingerprint": ("id", "fingerprint", "dedup_key", "alert_id", "key"),
    "description": ("description", "message", "details", "text", "body"),
    "host": ("host", "hostname", "instance", "server", "node", "ip"),
    "url": ("url", "link", "source_url", "href"),
    "labels": ("labels", "tags"),
    "starts_at": ("starts_at", "startsAt", "started_at", "timestamp", "time"),
    "ends_at": ("ends_at", "endsAt", "ended_at", "resolved_at"),
}

# Status words understood without a status_map (case-insensitive).
DEFAULT_STATUS_WORDS: dict[str, Status] = {
    **dict.fromkeys(
        (
            "firing",
            "fire",
            "alerting",
            "alert",
            "triggered",
            "trigger",
            "problem",
            "down",
            "open",
            "active",
            "critical",
            "warning",
            "error",
            "fail",
            "failed",
            "failing",
            "failure",
            "unhealthy",
        ),
        Status.FIRING,
    ),
    **dict.fromkeys(
        (
            "resolved",
            "resolve",
            "ok",
            "recovered",
            "recovery",
            "closed",
            "close",
            "up",
            "inactive",
            "normal",
            "healthy",
            "success",
            "succeeded",
            "passed",
            "pass",
            "cleared",
            "clear",
        ),
        Status.RESOLVED,
    ),
}

_MISSING = object()
_Word = TypeVar("_Word", Status, Severity)


# ---- the mapping ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldMap:
    """A checked ``config.options``."""

    alerts: str | None = None
    # Configured paths per field; fields not here use DEFAULT_PATHS.
    paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    status_map: Mapping[str, Status] = field(default_factory=dict)
    severity_map: Mapping[str, Severity] = field(default_factory=dict)


def validate_options(options: object) -> None:
    """Check a field mapping before it is saved; a PayloadError (a ValueError) says what is wrong."""
    field_map(options)


def field_map(options: object) -> FieldMap:
    """``config.options`` checked and compiled (raises PayloadError naming the bad option)."""
    if options is None:
        return FieldMap()
    if not isinstance(options, Mapping):
        raise PayloadError(f"options must be an object, got {type(options).__name__}")
    unknown = sorted(str(key) for key in options if key not in OPTION_KEYS)
    if unknown:
        raise PayloadError(
            f"unknown option {unknown[0]!r}; the options are: {', '.join(OPTION_KEYS)}"
        )
    alerts = options.get("alerts")
    if alerts is not None:
        _check_path(alerts, "alerts")
    return FieldMap(
        alerts=alerts,
        paths=_field_paths(options.get("fields")),
        status_map=_word_map(options.get("status_map"), "status_map", Status),
        severity_map=_word_map(options.get("severity_map"), "severity_map", Severity),
    )


def _check_path(path: object, where: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise PayloadError(f"'{where}' must be a non-empty path string such as 'data.items'")
    if len(path) > MAX_PATH_LENGTH:
        raise PayloadError(f"'{where}' is longer than {MAX_PATH_LENGTH} characters")
    body = path[2:] if path.startswith("$.") else path
    segments = body.split(".")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise PayloadError(f"'{where}' has more than {MAX_PATH_SEGMENTS} parts")
    if any(not segment for segment in segments):
        raise PayloadError(
            f"'{where}' has an empty part in {path!r} (two dots, or a dot at an end)"
        )
    return path


def _field_paths(fields: object) -> dict[str, tuple[str, ...]]:
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        raise PayloadError(f"'fields' must be an object, got {type(fields).__name__}")
    paths: dict[str, tuple[str, ...]] = {}
    for name, value in fields.items():
        if name not in FIELDS:
            raise PayloadError(
                f"unknown field 'fields.{name}'; the fields are: {', '.join(FIELDS)}"
            )
        where = f"fields.{name}"
        if isinstance(value, list):
            if name not in MULTI_PATH_FIELDS:
                raise PayloadError(f"'{where}' must be one path (a string), not a list")
            if not value or len(value) > MAX_PATHS_PER_FIELD:
                raise PayloadError(f"'{where}' must list 1 to {MAX_PATHS_PER_FIELD} paths")
            paths[name] = tuple(
                _check_path(item, f"{where}[{index}]") for index, item in enumerate(value)
            )
        else:
            paths[name] = (_check_path(value, where),)
    return paths


def _word_map(value: object, where: str, kind: type[_Word]) -> dict[str, _Word]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PayloadError(f"'{where}' must be an object, got {type(value).__name__}")
    if len(value) > MAX_MAP_ENTRIES:
        raise PayloadError(f"'{where}' has more than {MAX_MAP_ENTRIES} entries")
    allowed = [member.value for member in kind]
    words: dict[str, _Word] = {}
    for word, ours in value.items():
        if not isinstance(word, str) or not word.strip() or len(word) > MAX_WORD_LENGTH:
            raise PayloadError(f"'{where}' keys must be words of 1 to {MAX_WORD_LENGTH} characters")
        if ours not in allowed:
            raise PayloadError(
                f"'{where}.{word}' must be one of {', '.join(allowed)}, got {ours!r}"
            )
        words[word.strip().lower()] = kind(ours)
    return words


# ---- reading the body -------------------------------------------------------------------


def resolve(document: object, path: str) -> object:
    """The value at a dotted path (``a.b.0.c``), or ``_MISSING``; null counts as missing."""
    node = document
    for segment in path.split("."):
        if isinstance(node, dict):
            if segment not in node:
                return _MISSING
            node = node[segment]
        elif isinstance(node, list) and _is_index(segment):
            index = int(segment)
            if not -len(node) <= index < len(node):
                return _MISSING
            node = node[index]
        else:
            return _MISSING
    return _MISSING if node is None else node


def _is_index(segment: str) -> bool:
    digits = segment[1:] if segment.startswith("-") else segment
    return digits.isdigit() and len(digits) <= 9


@dataclass(frozen=True, slots=True)
class _Reader:
    """Reads one alert's fields, from the alert item or (``$.`` paths) the whole body."""

    document: object
    item: object
    mapping: FieldMap
    where: str

    def lookup(self, path: str) -> object:
        if path.startswith("$."):
            return resolve(self.document, path[2:])
        return resolve(self.item, path)

    def configured(self, name: str) -> bool:
        return name in self.mapping.paths

    def paths(self, name: str) -> tuple[str, ...]:
        return self.mapping.paths.get(name) or DEFAULT_PATHS[name]

    def first(self, name: str) -> tuple[str, object]:
        """(path, value) of the field's first present path; (first path, _MISSING) if none."""
        paths = self.paths(name)
        for path in paths:
            value = self.lookup(path)
            if value is not _MISSING:
                return path, value
        return paths[0], _MISSING

    def all(self, name: str) -> list[object]:
        values = (self.lookup(path) for path in self.paths(name))
        return [value for value in values if value is not _MISSING]

    def text(self, name: str, *, structured: bool = False) -> str | None:
        """A field as text: scalars as they are; objects/lists as JSON only if ``structured``."""
        path, value = self.first(name)
        if value is _MISSING:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if structured:
            return json.dumps(value, indent=2, default=str)
        raise PayloadError(
            f"'{path}' in {self.where} (fields.{name}) is {_kind(value)}; a text value was expected"
        )


def _kind(value: object) -> str:
    return "an object" if isinstance(value, dict) else "a list"


def parse_time(value: object, where: str) -> datetime | None:
    """``base.parse_time``, with a huge number also reported as a PayloadError."""
    try:
        return base_parse_time(value, where)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, PayloadError):
            raise
        raise PayloadError(f"'{where}' is not a valid time") from exc


def _status(reader: _Reader) -> Status:
    word = reader.text("status")
    if word is None:
        return Status.FIRING
    key = word.strip().lower()
    status = reader.mapping.status_map.get(key) or DEFAULT_STATUS_WORDS.get(key)
    if status is None:
        path, _ = reader.first("status")
        raise PayloadError(
            f"'{path}' in {reader.where} is {truncate(word, 60)!r}, which is neither firing nor "
            "resolved; add it to the integration's status_map"
        )
    return status


def _severity(reader: _Reader) -> Severity:
    word = reader.text("severity")
    if word is None:
        return Severity.WARNING
    mapped = reader.mapping.severity_map.get(word.strip().lower())
    return mapped or severity_from_word(word, Severity.WARNING)


def _labels(value: object) -> dict[str, str]:
    """An object of labels, or a list of ``key:value`` / ``key=value`` / ``tag`` strings."""
    if isinstance(value, dict):
        return {key: truncate(item, 1000) for key, item in string_map(value).items()}
    labels: dict[str, str] = {}
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str) or not item.strip():
                continue
            for separator in (":", "="):
                if separator in item:
                    key, _, text = item.partition(separator)
                    labels[key.strip()] = text.strip()
                    break
            else:
                labels[item.strip()] = ""
    return labels


def _identity(reader: _Reader, title: str, hints: tuple[str, ...]) -> tuple[object, ...]:
    if reader.configured("fingerprint"):
        values = [reader.lookup(path) for path in reader.paths("fingerprint")]
        if all(value is _MISSING for value in values):
            paths = ", ".join(repr(path) for path in reader.paths("fingerprint"))
            raise PayloadError(
                f"none of the fingerprint fields ({paths}) is present in {reader.where}"
            )
        return ("fields", [None if value is _MISSING else value for value in values])
    _, value = reader.first("fingerprint")
    if value is not _MISSING and not isinstance(value, bool):
        return ("id", value)
    return ("title", title, list(hints))


def _alert(document: object, item: object, mapping: FieldMap, where: str) -> NormalizedAlert:
    if not isinstance(item, dict):
        raise PayloadError(f"{where} must be an object, got {type(item).__name__}")
    reader = _Reader(document, item, mapping, where)
    title = reader.text("title")
    if title is None or not title.strip():
        tried = ", ".join(repr(path) for path in reader.paths("title"))
        raise PayloadError(
            f"{where} has no title: none of {tried} is present; "
            "set fields.title in the integration's mapping"
        )
    hints = host_hints(*reader.all("host"))
    status = _status(reader)
    url = reader.text("url")
    _, labels = reader.first("labels")
    starts_path, starts = reader.first("starts_at")
    ends_path, ends = reader.first("ends_at")
    return NormalizedAlert(
        source=SOURCE,
        fingerprint=fingerprint(SOURCE, *_identity(reader, title, hints)),
        status=status,
        severity=_severity(reader),
        title=truncate(title.strip(), 500),
        description=truncate(reader.text("description", structured=True) or "", 10_000),
        labels=_labels(labels),
        starts_at=None if starts is _MISSING else parse_time(starts, starts_path),
        ends_at=None
        if ends is _MISSING or status is Status.FIRING
        else parse_time(ends, ends_path),
        host_hints=hints,
        source_url=url if url and "://" in url else None,
        raw=item,
    )


def _items(document: object, mapping: FieldMap) -> list[tuple[object, str]]:
    """The alert objects in the body, each with how to name it in an error."""
    if mapping.alerts is not None:
        path = mapping.alerts[2:] if mapping.alerts.startswith("$.") else mapping.alerts
        found = resolve(document, path)
        if found is _MISSING:
            raise PayloadError(f"'{mapping.alerts}' (the alerts option) is missing from the body")
        if not isinstance(found, list):
            raise PayloadError(
                f"'{mapping.alerts}' (the alerts option) must be a list, got {type(found).__name__}"
            )
        return [(item, f"'{mapping.alerts}.{index}'") for index, item in enumerate(found)]
    if isinstance(document, list):
        return [(item, f"item {index} of the body") for index, item in enumerate(document)]
    return [(document, "the body")]


def _check_signature(request: WebhookRequest, secret: str) -> None:
    stamp = request.header(TIMESTAMP_HEADER)
    try:
        check_timestamp(stamp, header=TIMESTAMP_HEADER)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, SignatureError):
            raise
        raise SignatureError(f"the {TIMESTAMP_HEADER} header is not a usable Unix time") from exc
    assert stamp is not None  # check_timestamp refuses a missing one
    message = stamp.strip().encode() + b"." + request.body
    check_hmac(secret, message, request.header(SIGNATURE_HEADER), header=SIGNATURE_HEADER)


class GenericAdapter:
    source: ClassVar[str] = SOURCE
    title: ClassVar[str] = "Generic JSON webhook"

    def parse(self, request: WebhookRequest, config: IntegrationConfig) -> Parsed:
        if config.signing_secret:
            _check_signature(request, config.signing_secret)
        try:
            mapping = field_map(config.options)
        except PayloadError as exc:
            raise PayloadError(
                f"this integration's field mapping is invalid ({exc}); fix it on the "
                "Integrations page"
            ) from exc
        document = request.json()
        if not isinstance(document, dict | list):
            raise PayloadError(f"expected a JSON object or list, got {type(document).__name__}")
        alerts = tuple(
            _alert(document, item, mapping, where) for item, where in _items(document, mapping)
        )
        return Parsed(alerts=alerts)

    def sample(self) -> bytes:
        """A test alert in the default shape (see :func:`sample_for` for a mapped shape)."""
        return sample_for({})


def sample_for(options: object) -> bytes:
    """A test body shaped by an integration's mapping, so "Send test alert" fits its fields."""
    mapping = field_map(options)
    # Written least important first, so that where two fields share a path the title and
    # status win.
    values: dict[str, object] = {
        "labels": {"vixpro_test": "true"},
        "starts_at": datetime.now(UTC).isoformat(),
        "url": "https://monitoring.example/alerts/vixpro-test",
        "description": "Sent from the Integrations page to check the setup.",
        "host": "web-1.example",
        "severity": _word_for(mapping.severity_map, Severity.WARNING, "warning"),
        "fingerprint": "vixpro-test-web-1-cpu",
        "status": _word_for(mapping.status_map, Status.FIRING, "firing"),
        "title": "VixPro test alert: CPU above 90% on web-1",
    }
    item: dict[str, Any] = {}
    # Without an alerts path the body is the alert, and "$." paths point into it too.
    document: dict[str, Any] = {} if mapping.alerts is not None else item
    for name, value in values.items():
        path = (mapping.paths.get(name) or DEFAULT_PATHS[name])[0]
        if path.startswith("$."):
            _put(document, path[2:], value)
        else:
            _put(item, path, value)
    if mapping.alerts is not None:
        _put(document, mapping.alerts.removeprefix("$."), [item])
    return json.dumps(document).encode()


def _word_for(words: Mapping[str, _Word], wanted: _Word, default: str) -> str:
    return next((word for word, ours in words.items() if ours is wanted), default)


def _put(container: dict[str, Any], path: str, value: object) -> None:
    """Set ``value`` at a dotted path, making objects and lists on the way (for samples)."""
    segments = path.split(".")
    node: Any = container
    for segment, following in zip(segments, [*segments[1:], None], strict=True):
        fresh: Any = value if following is None else ([] if _is_index(following) else {})
        if isinstance(node, list):
            index = max(int(segment), 0) if _is_index(segment) else 0
            while len(node) <= index:
                node.append({})
            if following is None or not isinstance(node[index], dict | list):
                node[index] = fresh
            node = node[index]
        else:
            if following is None or not isinstance(node.get(segment), dict | list):
                node[segment] = fresh
            node = node[segment]


ADAPTER = GenericAdapter()
