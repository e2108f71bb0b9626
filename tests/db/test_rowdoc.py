"""Rows sent as positional JSON arrays read back as the typed rows they were."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.conftest import owner_dsn
from vixpro.db.rowdoc import RowDocument, text_list
from vixpro.db.urls import DatabaseUrls

DOCUMENT = RowDocument(
    (
        ("id", "uuid"),
        ("n", "bigint"),
        ("flag", "boolean"),
        ("name", "text"),
        ("at", "timestamptz"),
        ("labels", "jsonb"),
        ("hints", "text[]"),
    )
)


def test_every_type_and_null_reads_back(db_urls: DatabaseUrls) -> None:
    ident = uuid.uuid4()
    at = datetime(2026, 11, 27, 12, 0, 0, 250_000, tzinfo=UTC)
    values: list[list[Any]] = [
        [ident, 2**40, True, 'quote " backslash \\ é ☃ \n', at, {"a": "b", "n": [1]}, ["x", "y"]],
        [None, None, None, None, None, None, None],
        [ident, 0, False, "", at, {}, []],
    ]
    # By name, in another order, with a column the document does not carry.
    rows = [
        {"extra": 1, **dict(reversed(list(zip(DOCUMENT.names, v, strict=True))))} for v in values
    ]
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        got = conn.execute(
            f"SELECT {', '.join('r.' + n for n in DOCUMENT.names)} "
            f"FROM {DOCUMENT.source('%s')} AS r",
            (DOCUMENT.dumps(rows),),
        ).fetchall()
    assert got == [
        (ident, 2**40, True, 'quote " backslash \\ é ☃ \n', at, {"a": "b", "n": [1]}, ["x", "y"]),
        (None, None, None, None, None, None, None),
        (ident, 0, False, "", at, {}, []),
    ]


def test_an_empty_document_has_no_rows(db_urls: DatabaseUrls) -> None:
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        got = conn.execute(f"SELECT count(*) FROM {DOCUMENT.source('%s')} AS r", ("[]",))
        assert got.fetchone() == (0,)


def test_a_missing_column_is_named() -> None:
    with pytest.raises(KeyError, match="labels"):
        DOCUMENT.dumps([{"id": None, "n": 1, "flag": True, "name": "x", "at": None, "hints": []}])


def test_a_text_list_reads_back_in_order_whatever_its_characters(db_urls: DatabaseUrls) -> None:
    # Characters an array literal would have to quote or escape: commas, braces, quotes,
    # backslashes, NULL as a word, spaces, and text beyond ASCII.
    values = ["a,b", "{c}", '"d"', "e\\f", "NULL", " ", "", "é ☃", "a,b"]
    with psycopg.connect(owner_dsn(db_urls)) as conn:
        got = conn.execute(
            "SELECT f.v FROM jsonb_array_elements_text(%s::jsonb) WITH ORDINALITY AS f(v, n) "
            "ORDER BY f.n",
            (text_list(iter(values)),),
        ).fetchall()
    assert [v for (v,) in got] == values
