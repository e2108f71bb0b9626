"""Random (version 4) UUIDs for the hot paths, from the system's randomness 4 KiB at a time.

``uuid.uuid4()`` asks the kernel for 16 bytes each time: a system call per id, several per
alert in a flood. The same randomness read 256 ids' worth at a time costs one. Each thread
keeps its own unread bytes, and a forked child drops what it inherited, so no two ids share
bytes.
"""

from __future__ import annotations

import os
import threading
import uuid

_CHUNK = 4096


class _Pool(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.position = 0


_pool = _Pool()


def _forget() -> None:
    # A forked child has only the thread that forked: its unread bytes are its parent's.
    _pool.data = b""
    _pool.position = 0


os.register_at_fork(after_in_child=_forget)


def uuid4() -> uuid.UUID:
    """A new random UUID, as ``uuid.uuid4()`` makes it."""
    pool = _pool
    position = pool.position
    if position + 16 > len(pool.data):
        pool.data = os.urandom(_CHUNK)
        position = 0
    pool.position = position + 16
    return uuid.UUID(bytes=pool.data[position : position + 16], version=4)
