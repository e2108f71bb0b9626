"""RSA-SHA256 signatures (RSA-3072, PKCS#1 v1.5) over canonical JSON."""

from __future__ import annotations

import base64
from typing import Any, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from vixpro_agent.protocol.canonical import canonical_json

KEY_BITS = 3072
PrivateKey = rsa.RSAPrivateKey
PublicKey = rsa.RSAPublicKey


class SignatureError(Exception):
    """A signature is missing, malformed or does not match."""


def generate_private_key() -> PrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: Union[PrivateKey, PublicKey]) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_private_pem(data: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SignatureError("not an RSA private key")
    return key


def load_public_pem(text: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(text.encode("ascii"))
    except ValueError as exc:
        raise SignatureError("not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("not an RSA public key")
    if key.key_size < KEY_BITS:
        raise SignatureError(f"RSA keys must be at least {KEY_BITS} bits")
    return key


def sign_bytes(key: PrivateKey, data: bytes) -> str:
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify_bytes(key: PublicKey, data: bytes, signature: str) -> None:
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
        key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, UnicodeEncodeError) as exc:
        raise SignatureError("signature does not match") from exc


def sign_document(key: PrivateKey, body: Any) -> dict[str, Any]:
    """Wrap ``body`` as ``{"body": ..., "signature": ...}`` signed over its canonical JSON."""
    return {"body": body, "signature": sign_bytes(key, canonical_json(body))}


def verify_document(key: PublicKey, document: Any) -> Any:
    """Return the body of a signed document, or raise :class:`SignatureError`."""
    if not isinstance(document, dict) or set(document) != {"body", "signature"}:
        raise SignatureError("not a signed document")
    signature = document["signature"]
    if not isinstance(signature, str):
        raise SignatureError("signature is not text")
    verify_bytes(key, canonical_json(document["body"]), signature)
    return document["body"]
