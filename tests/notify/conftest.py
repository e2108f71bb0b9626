from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.notify_services import FakeServices, ServicesServer
from tests.fakes.notify_smtp import SmtpServer


@pytest.fixture(scope="module")
def services() -> Iterator[FakeServices]:
    with ServicesServer() as fake:
        yield fake


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server
