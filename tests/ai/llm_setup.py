"""The setup the LLM tests share: an organisation with an admin API key, a live host agent
enrolled in it, an API client, and a scripted OpenAI fake that accepts ``KEY``.

A test module takes these fixtures by naming them at module level:
``org_key, hostagent, module_fake, fake, api = llm_setup.FIXTURES``; each module still gets its
own organisation, host agent and fake (the fixtures are module-scoped).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Factory, LiveServer, OrgInfo
from tests.fakes.llm_openai import FakeOpenAI
from tests.hub.agents import RunningAgent, bearer, enrol, wait_connected

KEY = "sk-llm-test-0123456789"


@pytest.fixture(scope="module")
async def org_key(factory: Factory) -> tuple[OrgInfo, str]:
    org = await factory.org("lean")
    return org, await factory.api_key(org, "admin")


@pytest.fixture(scope="module")
def hostagent(live_server: LiveServer, org_key: tuple[OrgInfo, str]) -> Iterator[RunningAgent]:
    running = enrol(live_server.url, org_key[1]).start()
    wait_connected(live_server.url, org_key[1], running.server_id)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def module_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def fake(module_fake: FakeOpenAI) -> FakeOpenAI:
    """The module's OpenAI fake, with an empty script and no recorded requests."""
    module_fake.reset()
    return module_fake


@pytest.fixture
def api(live_server: LiveServer, org_key: tuple[OrgInfo, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, headers=bearer(org_key[1]), timeout=30) as c:
        yield c


FIXTURES = (org_key, hostagent, module_fake, fake, api)
