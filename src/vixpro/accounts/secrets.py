"""Passwords (argon2id), random tokens, and API keys (stored as SHA-256, shown once)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so that the answer takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
API_KEY_RE = re.compile(r"^vxp_([A-Za-z0-9]{10})_([A-Za-z0-9_-]{20,64})$")
MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """Return (full key, prefix, hash). The full key is shown once and never stored."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(10))
    secret = secrets.token_urlsafe(32)
    return f"vxp_{prefix}_{secret}", prefix, token_hash(secret)


def split_api_key(key: str) -> tuple[str, str] | None:
    match = API_KEY_RE.match(key)
    return (match.group(1), match.group(2)) if match else None


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
