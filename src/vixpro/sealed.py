"""Secrets at rest: AES-256-GCM under the master key, with a key id so keys can be rotated."""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class SealError(ValueError):
    """Sealed data is damaged or was sealed under another key; never says what it held."""


def key_id(master_key: bytes) -> bytes:
    """Four bytes naming the master key, so data sealed under an older key can be found."""
    return hashlib.sha256(b"vixpro-key-id" + master_key).digest()[:4]


def seal(master_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(12)
    ciphertext = AESGCM(master_key).encrypt(nonce, plaintext, context)
    return _VERSION + key_id(master_key) + nonce + ciphertext


def unseal(master_key: bytes, sealed: bytes, context: bytes) -> bytes:
    if len(sealed) < 1 + 4 + 12 + 16 or sealed[:1] != _VERSION:
        raise SealError("sealed data is not in a known format")
    if sealed[1:5] != key_id(master_key):
        raise SealError("sealed under a different master key")
    try:
        return AESGCM(master_key).decrypt(sealed[5:17], sealed[17:], context)
    except Exception as exc:  # cryptography raises InvalidTag
        raise SealError("sealed data failed authentication") from exc
