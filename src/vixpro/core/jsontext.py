"""JSON text for the hot paths (statement parameters, host-agent messages), made with orjson.

orjson writes UUIDs, datetimes and enums itself and is several times faster than the standard
library's encoder with a ``default``. It refuses what JSON can say but it cannot (integers
beyond 64 bits, say, in a tool's parameters): those fall back to the standard library, so any
value the standard encoder accepts is accepted here. Reading stays with the standard library:
orjson reads such integers as floats, and refuses the NaN that Python writes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """``value`` as JSON text; anything else (a ``Decimal``, say) written as its ``str``."""
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value, default=str)
