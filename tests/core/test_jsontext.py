"""JSON text for the hot paths: what orjson writes, and the standard library where it cannot."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

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
