"""Ticket attachments: screenshots and PDFs, checked by their content and never by their name.

A name is kept for display only, and refused if it tries to be a path. The type comes from the
file's first bytes (the ``filetype`` library); anything but PNG, JPEG, WebP or PDF is refused.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import filetype

from vixpro.accounts.errors import InvalidInput

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 3
MAX_NAME = 120
ALLOWED = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WebP",
    "application/pdf": "PDF",
}
# A request with the largest allowed files, plus room for the form's text fields.
UPLOAD_REQUEST_LIMIT = MAX_FILES * MAX_BYTES + 256 * 1024


class AttachmentTooLarge(InvalidInput):
    """Over ``MAX_BYTES``: answered 413 by the web layer."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as received: the name the client gave and at most ``MAX_BYTES + 1`` bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Checked:
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes


def clean_name(name: str) -> str:
    """``name`` if it is a plain file name; refuses directories, traversal and control
    characters rather than quietly rewriting them."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise InvalidInput("attachments", "a file needs a name")
    if len(name) > MAX_NAME:
        raise InvalidInput("attachments", f"file names are limited to {MAX_NAME} characters")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise InvalidInput("attachments", f"{name!r} is not a plain file name (no paths)")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput("attachments", "file names cannot contain control characters")
    return name


def check(upload: Upload) -> Checked:
    name = clean_name(upload.filename)
    size = len(upload.data)
    if size > MAX_BYTES:
        raise AttachmentTooLarge(
            "attachments", f"{name} is larger than {MAX_BYTES // (1024 * 1024)} MiB"
        )
    if size == 0:
        raise InvalidInput("attachments", f"{name} is empty")
    kind = filetype.guess(upload.data)
    if kind is None or kind.mime not in ALLOWED:
        found = f" (it looks like {kind.mime})" if kind is not None else ""
        raise InvalidInput(
            "attachments",
            f"{name} is not a PNG, JPEG, WebP or PDF file{found}; "
            "the type is read from the content, not the name",
        )
    return Checked(name, kind.mime, size, hashlib.sha256(upload.data).hexdigest(), upload.data)


def check_all(uploads: list[Upload]) -> list[Checked]:
    """Every upload checked before anything is stored: one bad file refuses them all."""
    if len(uploads) > MAX_FILES:
        raise InvalidInput("attachments", f"at most {MAX_FILES} files per message")
    return [check(u) for u in uploads]
