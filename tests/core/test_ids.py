from __future__ import annotations

import multiprocessing
import os
import threading
import uuid
from multiprocessing.connection import Connection

from vixpro.core import ids


def test_ids_are_version_4_and_never_repeat() -> None:
    made = [ids.uuid4() for _ in range(5000)]  # many chunks of randomness
    assert len(set(made)) == len(made)
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in made)


def test_threads_never_share_randomness() -> None:
    made: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def make(out: list[uuid.UUID]) -> None:
        out.extend(ids.uuid4() for _ in range(2000))

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [u for out in made for u in out]
    assert len(set(every)) == len(every) == 8000


def _child(conn: Connection) -> None:
    conn.send([ids.uuid4() for _ in range(10)])


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    ids.uuid4()  # the parent holds unread randomness
    parent, child = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(target=_child, args=(child,))
    process.start()
    theirs = parent.recv()
    process.join()
    ours = [ids.uuid4() for _ in range(10)]
    assert not set(ours) & set(theirs)
    assert os.getpid() != process.pid
