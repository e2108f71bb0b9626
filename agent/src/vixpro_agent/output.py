"""Bounding a tool's output to a size in bytes of JSON while keeping it valid JSON."""

from __future__ import annotations

import json
from typing import Any

STRING_MARK = "…[truncated]"
MIN_ITEMS = 10
MIN_CHARS = 200


class OutputError(Exception):
    """The output cannot be represented as JSON (NaN, infinity)."""


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def normalise(value: Any) -> Any:
    """A plain-JSON copy of ``value``: tuples become lists, unknown objects their ``str``."""
    try:
        return json.loads(json.dumps(value, default=str, allow_nan=False))
    except ValueError as exc:
        raise OutputError(f"the output is not valid JSON: {exc}") from exc


def fit_output(value: Any, limit: int) -> tuple[Any, bool]:
    """``value`` cut down to at most ``limit`` bytes of JSON, and whether it was cut.

    Lists are shortened first (keeping their first items), then strings, then both
    further; a dict output says what happened in ``_truncated``. As a last resort the
    output becomes ``{"_truncated": ..., "excerpt": <start of the JSON text>}``.
    """
    if json_size(value) <= limit:
        return value, False
    items = max(_longest_list(value), MIN_ITEMS)
    chars = max(_longest_string(value), MIN_CHARS)
    for _ in range(64):
        if items > MIN_ITEMS:
            items = max(items // 2, MIN_ITEMS)
        elif chars > MIN_CHARS:
            chars = max(chars // 2, MIN_CHARS)
        elif items > 1 or chars > 16:
            items, chars = max(items // 2, 1), max(chars // 2, 16)
        else:
            break
        shrunk = _annotate(_shrink(value, items, chars), limit, items, chars)
        if json_size(shrunk) <= limit:
            return shrunk, True
    text = json.dumps(value, ensure_ascii=False)
    note = f"output exceeded {limit} bytes of JSON; this is the start of it"
    excerpt = text[: max(limit // 2, 0)]
    while excerpt and json_size({"_truncated": note, "excerpt": excerpt}) > limit:
        excerpt = excerpt[: len(excerpt) * 3 // 4]
    return {"_truncated": note, "excerpt": excerpt}, True


def _annotate(value: Any, limit: int, items: int, chars: int) -> Any:
    if isinstance(value, dict):
        return {
            **value,
            "_truncated": (
                f"output exceeded {limit} bytes of JSON: lists keep their first {items} items, "
                f"text its first {chars} characters"
            ),
        }
    return value


def _shrink(value: Any, items: int, chars: int) -> Any:
    if isinstance(value, dict):
        return {k: _shrink(v, items, chars) for k, v in value.items()}
    if isinstance(value, list):
        return [_shrink(v, items, chars) for v in value[:items]]
    if isinstance(value, str) and len(value) > chars:
        return value[:chars] + STRING_MARK
    return value


def _longest_list(value: Any) -> int:
    if isinstance(value, dict):
        return max((_longest_list(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max([len(value), *(_longest_list(v) for v in value)])
    return 0


def _longest_string(value: Any) -> int:
    if isinstance(value, dict):
        return max((_longest_string(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_string(v) for v in value), default=0)
    return len(value) if isinstance(value, str) else 0
