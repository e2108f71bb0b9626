"""Secrets at rest: AES-256-GCM under the master key, with a key id so keys can be rotated."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
HINT_LENGTH = 4  # characters of a secret that views may show


class SealError(ValueError):
    """Sealed data is damaged or was sealed under another key; never says what it held."""


def key_id(master_key: bytes) -> bytes:
    """Four bytes naming the master key, so data sealed under an older key can be found."""
    return hashlib.sha256(b"vixpro-key-id" + master_key).digest()[:4]


def header(master_key: bytes) -> bytes:
    """The first five bytes of every value sealed under ``master_key``."""
    return _VERSION + key_id(master_key)


def seal(master_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(12)
    ciphertext = AESGCM(master_key).encrypt(nonce, plaintext, context)
    return header(master_key) + nonce + ciphertext


def unseal(master_key: bytes, sealed: bytes, context: bytes) -> bytes:
    if len(sealed) < 1 + 4 + 12 + 16 or sealed[:1] != _VERSION:
        raise SealError("sealed data is not in a known format")
    if sealed[1:5] != key_id(master_key):
        raise SealError("sealed under a different master key")
    try:
        return AESGCM(master_key).decrypt(sealed[5:17], sealed[17:], context)
    except Exception as exc:  # cryptography raises InvalidTag
        raise SealError("sealed data failed authentication") from exc


def hint(secret: str) -> str:
    """What may be shown of a secret: its last ``HINT_LENGTH`` characters."""
    return secret[-HINT_LENGTH:]


@dataclass(frozen=True, slots=True)
class RowSealer:
    """Seals one column's values, each bound to its row: the context is ``template`` with the
    row's id in place of ``{id}``, so a value copied onto another row does not open."""

    template: str

    def context(self, row_id: object) -> bytes:
        return self.template.format(id=row_id).encode()

    def seal(self, master_key: bytes, row_id: object, plaintext: bytes) -> bytes:
        return seal(master_key, plaintext, self.context(row_id))

    def unseal(self, master_key: bytes, row_id: object, sealed: bytes) -> bytes:
        return unseal(master_key, sealed, self.context(row_id))
