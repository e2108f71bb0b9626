from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from fastapi import Depends, Query
from pydantic import BaseModel

from vixpro.core.pagination import BadCursor, Cursor
from vixpro.web.problems import ApiError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: Cursor | None

    def next(self, rows: list[tuple[datetime, UUID]]) -> str | None:
        """The cursor for the page after ``rows`` (their (time, id) keys), if it was full."""
        if len(rows) < self.limit:
            return None
        at, ident = rows[-1]
        return Cursor(at, ident).encode()


async def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="items per page")] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor from the previous page")] = None,
) -> PageParams:
    try:
        decoded = Cursor.decode(cursor) if cursor else None
    except BadCursor as exc:
        raise ApiError(
            422,
            f"cursor: {exc}",
            type_="validation",
            errors=[{"field": "cursor", "location": "query", "message": str(exc)}],
        ) from exc
    return PageParams(limit, decoded)


PageDep = Annotated[PageParams, Depends(page_params)]
