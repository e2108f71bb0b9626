from __future__ import annotations

from vixpro.core.plans import LimitExceeded

__all__ = ["Conflict", "Forbidden", "InvalidInput", "LimitExceeded", "NotFound", "Throttled"]


class NotFound(Exception):
    """The thing does not exist, or belongs to another organisation: the two look the same."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} not found")


class Forbidden(Exception):
    pass


class Conflict(Exception):
    pass


class InvalidInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class Throttled(Exception):
    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)
