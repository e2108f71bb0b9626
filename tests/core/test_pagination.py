from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from vixpro.core.pagination import BadCursor, Cursor


def test_cursor_round_trips() -> None:
    cursor = Cursor(datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=UTC), uuid.uuid4())
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("text", ["", "abc", "W10", "WyJ4IiwgInkiXQ"])
def test_garbage_cursor_is_refused(text: str) -> None:
    with pytest.raises(BadCursor):
        Cursor.decode(text)
