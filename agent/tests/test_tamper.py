from __future__ import annotations

import asyncio
import json

import pytest

from fakes.identity import SERVER_ID
from vixpro_agent.agent import HostAgent
from vixpro_agent.config import ConfigError
from vixpro_agent.protocol import messages
from vixpro_agent.tamper import ConfigGuard


@pytest.fixture
def guard(state, platform_key):
    guard = ConfigGuard(state, platform_key.public_key(), SERVER_ID)
    guard.load()
    assert not guard.tampered
    return guard


def test_untouched_config_passes_every_check(guard):
    assert guard.check() is None
    assert guard.check() is None
    assert guard.config.version == 1


def test_edited_config_is_detected_on_the_next_check(guard, state, roots):
    document = json.loads(state.config_path.read_text())
    document["body"]["allowed_cleanup_roots"] = ["/"]
    state.config_path.write_text(json.dumps(document))
    detail = guard.check()
    assert detail is not None and "signature" in detail
    assert guard.tampered
    assert guard.config.allowed_cleanup_roots == (str(roots.cleanup),)  # the verified one stays


def test_unparseable_missing_and_unsigned_configs_are_tampering(guard, state, config_doc):
    state.config_path.write_text("{not json")
    assert "not valid JSON" in guard.check()

    for content in (None, json.dumps(config_doc()["body"])):
        fresh = ConfigGuard(state, guard._key, SERVER_ID)
        state.save_config_document(config_doc())
        fresh.load()
        if content is None:
            state.config_path.unlink()
        else:
            state.config_path.write_text(content)
        assert fresh.check() is not None
        assert fresh.tampered


def test_another_validly_signed_config_is_still_tampering(guard, state, config_doc):
    state.save_config_document(config_doc(version=1, allowed_log_roots=["/"]))
    assert "differs from the config last received" in guard.check()


def test_fresh_signed_config_from_the_platform_clears_tampering(guard, state, config_doc):
    state.config_path.write_text("{}")
    assert guard.check() is not None
    fresh = config_doc(version=2)
    guard.accept(fresh)
    assert not guard.tampered
    assert json.loads(state.config_path.read_text()) == fresh
    assert guard.check() is None


def test_pushed_config_must_verify_and_not_be_older(guard, config_doc, other_key):
    with pytest.raises(ConfigError, match="signature"):
        guard.accept(config_doc(version=2, key=other_key))
    with pytest.raises(ConfigError, match="server_id"):
        guard.accept(config_doc(version=2, server_id="someone-else"))
    guard.accept(config_doc(version=3))
    with pytest.raises(ConfigError, match="older"):
        guard.accept(config_doc(version=2))


def test_tampering_survives_a_restart_with_the_file_restored(state, platform_key, config_doc):
    guard = ConfigGuard(state, platform_key.public_key(), SERVER_ID)
    guard.load(reported_before="config.json differs")
    assert guard.tampered
    assert guard.config is not None  # read tools keep their allowed roots


async def test_host_agent_checks_periodically_and_refuses_mutate_tools(state, roots):
    agent = HostAgent(state, tamper_interval=0.05)
    sent = []

    async def sender(message):
        sent.append(message)

    await agent.connected(sender)
    checker = asyncio.ensure_future(agent.check_tamper_forever())
    try:
        log = roots.logs / "app.log"
        log.write_text("line one\nline two\n")
        call = {"id": "1", "tool": "truncate_log_file", "params": {"path": str(log)}}
        assert (await agent.runner.run(call))["ok"] is True

        state.config_path.write_text(
            state.config_path.read_text().replace('"version": 1', '"version": 7')
        )
        for _ in range(100):
            if any(m["type"] == messages.TAMPER for m in sent):
                break
            await asyncio.sleep(0.01)
        tamper = next(m for m in sent if m["type"] == messages.TAMPER)
        assert "signature" in tamper["detail"]
        assert agent.hello("n")["config_version"] == 0  # so the platform pushes its config

        refused = await agent.runner.run(call)
        assert refused["error_kind"] == messages.ERR_REFUSED
        read = await agent.runner.run(
            {"id": "2", "tool": "tail_log_file", "params": {"path": str(log)}}
        )
        assert read["ok"] is True

        status = json.loads(state.status_path.read_text())
        assert status["tampered"] is True and status["config_verified"] is False
    finally:
        checker.cancel()
        await asyncio.gather(checker, return_exceptions=True)


async def test_tamper_is_reported_again_on_reconnect(state):
    state.config_path.write_text("garbage")
    agent = HostAgent(state)
    sent = []

    async def sender(message):
        sent.append(message)

    await agent.connected(sender)
    assert [m["type"] for m in sent] == [messages.FACTS, messages.TAMPER]
