"""Answers leave in one write; nothing is reordered or lost on the way."""

from __future__ import annotations

import asyncio
import re
import socket
from typing import Any

from tests.conftest import LiveServer
from vixpro.web.transport import CoalescingTransport


class Recording(asyncio.Transport):
    """The far side of the wrapper: what reaches the socket, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.calls: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.calls.append("write")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.calls.append("close")
        self.closing = True

    def pause_reading(self) -> None:
        self.calls.append("pause_reading")


async def test_writes_in_one_turn_of_the_loop_leave_in_one_write() -> None:
    inner = Recording()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert inner.writes == []
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(memoryview(b"next"))
    await asyncio.sleep(0)
    assert inner.writes[1:] == [b"next"]


async def test_other_calls_write_what_is_held_first() -> None:
    inner = Recording()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.writelines([b"a", b"b"])
    transport.pause_reading()
    transport.write(b"c")
    transport.close()
    assert inner.calls == ["write", "pause_reading", "write", "close"]
    assert inner.writes == [b"ab", b"c"]
    transport.write(b"late")
    await asyncio.sleep(0)
    assert inner.writes == [b"ab", b"c"]  # the connection is closing: dropped, as asyncio does


def _exchange(port: int, request: bytes, answers: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while received.count(b"HTTP/1.1 ") < answers or not received.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_pipelined_requests_on_one_connection_are_answered_whole_and_in_order(
    live_server: LiveServer,
) -> None:
    request = (
        b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"
        b"GET /api/v1/no-such-thing HTTP/1.1\r\nhost: x\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"
    )
    received = _exchange(live_server.port, request, 3)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", received)
    assert statuses == [b"200", b"404", b"200"]
    bodies = re.split(rb"HTTP/1\.1 \d{3} ", received)[1:]
    assert bodies[0].split(b"\r\n\r\n", 1)[1] == b'{"status":"ok"}'
    assert b"no such route" in bodies[1]
