"""JSON text for the hot paths (statement parameters, host-agent messages, webhook bodies),
made and read with orjson.

orjson writes UUIDs, datetimes and enums itself and is several times faster than the standard
library's encoder with a ``default``. It refuses what JSON can say but it cannot (integers
beyond 64 bits, say, in a tool's parameters): those fall back to the standard library, so any
value the standard encoder accepts is accepted here.

Reading gives exactly what the standard library's ``json.loads`` gives: orjson reads integers
beyond 64 bits as floats, so a document with a run of 20 digits, or a minus sign and 19 (below
-2**63), is read by the standard library, as is anything orjson refuses (the NaN that Python writes, UTF-16, lone surrogates),
which also keeps the standard library's error messages.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Twenty digits in a row, or a minus sign and nineteen: possibly an integer beyond 64 bits
# (above 2**64 - 1 or below -2**63), which orjson reads as a float. Found by turning every
# digit into a 9 and looking for the runs (a tenth of the cost of a regular expression, which
# took as long as reading the document).
_DIGITS_AS_NINES = bytes.maketrans(b"0123456789", b"9" * 10)
_LONG_NUMBER = b"9" * 20
_LONG_NEGATIVE = b"-" + b"9" * 19


def dumps(value: Any) -> str:
    """``value`` as JSON text; anything else (a ``Decimal``, say) written as its ``str``."""
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value, default=str)


def loads(data: bytes) -> Any:
    """``data`` read as ``json.loads`` reads it (and failing as it fails)."""
    nines = data.translate(_DIGITS_AS_NINES)
    if _LONG_NUMBER not in nines and _LONG_NEGATIVE not in nines:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
