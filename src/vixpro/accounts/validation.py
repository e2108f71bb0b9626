from __future__ import annotations

import re

from vixpro.accounts.errors import InvalidInput
from vixpro.accounts.secrets import MIN_PASSWORD
from vixpro.core.roles import Role

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def clean_email(value: str, field: str = "email") -> str:
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput(field, "is not an email address")
    return email


def clean_role(value: str, field: str = "role", allowed: tuple[Role, ...] = tuple(Role)) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role is None or role not in allowed:
        names = ", ".join(r.value for r in allowed)
        raise InvalidInput(field, f"must be one of: {names}")
    return role


def clean_password(value: str, field: str = "password") -> str:
    if len(value) < MIN_PASSWORD:
        raise InvalidInput(field, f"must be at least {MIN_PASSWORD} characters")
    if len(value) > 1024:
        raise InvalidInput(field, "must be at most 1024 characters")
    return value


def clean_name(value: str, field: str = "name", max_length: int = 100) -> str:
    name = value.strip()
    if not name:
        raise InvalidInput(field, "must not be empty")
    if len(name) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    return name
