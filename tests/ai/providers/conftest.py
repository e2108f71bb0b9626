from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.llm_openai import FakeOpenAI


@pytest.fixture(scope="module")
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-test-openai-0123456789") as fake:
        yield fake


@pytest.fixture
def fake_openai(openai_fake: FakeOpenAI) -> FakeOpenAI:
    """The module's OpenAI fake, with an empty script and no recorded requests."""
    openai_fake.reset()
    return openai_fake
