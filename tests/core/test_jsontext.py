"""JSON text for the hot paths: what orjson writes, and the standard library where it cannot."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vixpro.core import jsontext
from vixpro.core.roles import Role


def test_uuids_times_and_enums_are_written_as_strings() -> None:
    at = datetime(2026, 11, 27, 18, 0, 1, 250_000, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    text = jsontext.dumps({"id": ident, "at": at, "role": Role.ADMIN, "n": 1})
    assert json.loads(text) == {
        "id": "12345678-1234-5678-1234-567812345678",
        "at": "2026-11-27T18:00:01.250000+00:00",
        "role": "admin",
        "n": 1,
    }
    assert datetime.fromisoformat(json.loads(text)["at"]) == at


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    big = 2**70
    assert json.loads(jsontext.dumps({"pid": big, "cost": Decimal("1.5")})) == {
        "pid": big,
        "cost": "1.5",
    }


def test_text_reads_back() -> None:
    value = {"a": [1, 2.5, None, True, "é", "\u2603"], "b": {}}
    assert json.loads(jsontext.dumps(value)) == value


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_JSON)
@example(-(2**63) - 1)
@example(2**64)
def test_reading_gives_what_the_standard_library_gives(value: object) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        data = text.encode()
        assert jsontext.loads(data) == json.loads(data)


def test_integers_beyond_64_bits_are_read_exactly() -> None:
    assert jsontext.loads(b'{"id": 123456789012345678901234567890}') == {
        "id": 123456789012345678901234567890
    }
    assert jsontext.loads(b"[18446744073709551615, -9223372036854775808]") == [
        18446744073709551615,
        -9223372036854775808,
    ]
    # Just below -2**63: nineteen digits, which orjson reads as a float (found by the
    # property test above).
    assert jsontext.loads(b"[-9223372036854775809]") == [-9223372036854775809]


def test_what_orjson_refuses_is_read_or_refused_as_the_standard_library_does() -> None:
    assert math.isnan(jsontext.loads(b"[NaN]")[0])
    assert jsontext.loads(b'{"a": "\\ud800"}') == {"a": "\ud800"}
    assert jsontext.loads('{"a": 1}'.encode("utf-16")) == {"a": 1}
    for bad in (b"{", b"[1,]", b'{"a" 1}'):
        with pytest.raises(json.JSONDecodeError) as ours:
            jsontext.loads(bad)
        with pytest.raises(json.JSONDecodeError) as theirs:
            json.loads(bad)
        assert str(ours.value) == str(theirs.value)
