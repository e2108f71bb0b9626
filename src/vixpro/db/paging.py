"""Keyset pagination: order by (time, id) and continue after the last row a page returned."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from vixpro.core.pagination import Cursor

S = TypeVar("S", bound=Select)  # type: ignore[type-arg]


def keyset(
    query: S,
    at: InstrumentedAttribute[Any],
    ident: InstrumentedAttribute[Any],
    cursor: Cursor | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> S:
    key = tuple_(at, ident)
    if newest_first:
        query = query.order_by(at.desc(), ident.desc())
        if cursor is not None:
            query = query.where(key < (cursor.at, cursor.id))
    else:
        query = query.order_by(at, ident)
        if cursor is not None:
            query = query.where(key > (cursor.at, cursor.id))
    return query.limit(limit)
