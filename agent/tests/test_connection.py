from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from fakes.identity import SERVER_ID
from fakes.platform import FakePlatform
from vixpro_agent.agent import HostAgent
from vixpro_agent.connection import Backoff, Connection, websocket_url
from vixpro_agent.protocol import messages
from vixpro_agent.tools.registry import builtin_specs


@contextlib.asynccontextmanager
async def running(agent, url, **kwargs):
    connection = Connection(agent, url, backoff=Backoff(base=0.05, cap=0.2), **kwargs)
    stop = asyncio.Event()
    task = asyncio.ensure_future(connection.run(stop))
    try:
        yield connection
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


@pytest.fixture
def agent(state):
    return HostAgent(state)


async def test_connects_answers_the_challenge_and_serves_a_tool_call(
    agent, agent_key, state, manifest_doc
):
    async with (
        FakePlatform(agent_key.public_key(), SERVER_ID) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: platform.connections == 1, what="a connection")
        hello = platform.hellos[0]
        assert hello["verified"] is True
        assert hello["agent_version"] and hello["facts"]["hostname"]
        assert hello["manifest_version"] == 1 and hello["config_version"] == 1
        assert platform.paths == ["/api/v1/hostagent/ws"]
        facts = await platform.expect(messages.FACTS)
        assert facts["facts"]["cpu_count"] >= 1

        await platform.send(messages.message(messages.MANIFEST, document=manifest_doc(2)))
        await platform.wait_for(lambda: agent.manifests.version == 2, what="manifest 2")
        assert json.loads(state.manifest_path.read_text())["body"]["version"] == 2

        call = messages.message(
            messages.TOOL_CALL, id="c1", tool="memory_swap", params={}, deadline_ms=5000
        )
        await platform.send(call)
        result = await platform.expect(messages.TOOL_RESULT, id="c1")
        assert result["ok"] is True and result["output"]["memory"]["total"] > 0

        status = json.loads(state.status_path.read_text())
        assert status["connected"] is True and status["manifest_version"] == 2

        # The platform drops the socket: the host agent reconnects by itself.
        await platform.current.close()
        await platform.wait_for(lambda: platform.connections == 2, what="a reconnection")
        assert platform.hellos[1]["verified"] is True
        assert platform.hellos[1]["manifest_version"] == 2

    status = json.loads(state.status_path.read_text())
    assert status["connected"] is False


async def test_tool_calls_run_concurrently_and_results_come_as_they_finish(agent, agent_key):
    async with (
        FakePlatform(agent_key.public_key(), SERVER_ID) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: platform.connections == 1)
        await platform.send(
            messages.message(
                messages.TOOL_CALL, id="slow", tool="top_processes_cpu", params={}, deadline_ms=5000
            )
        )
        await platform.send(
            messages.message(messages.TOOL_CALL, id="fast", tool="disk_usage", params={})
        )
        await platform.expect(messages.TOOL_RESULT, id="slow")
        order = [m["id"] for m in platform.received if m["type"] == messages.TOOL_RESULT]
        assert order == ["fast", "slow"]


async def test_refused_calls_come_back_with_their_error_kind(agent, agent_key):
    async with (
        FakePlatform(agent_key.public_key(), SERVER_ID) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: platform.connections == 1)
        await platform.send(
            messages.message(messages.TOOL_CALL, id="u", tool="format_disk", params={})
        )
        await platform.send(
            messages.message(messages.TOOL_CALL, id="b", tool="process_details", params={})
        )
        unknown = await platform.expect(messages.TOOL_RESULT, id="u")
        bad = await platform.expect(messages.TOOL_RESULT, id="b")
        assert unknown["error_kind"] == messages.ERR_UNKNOWN_TOOL
        assert (
            bad["error_kind"] == messages.ERR_BAD_PARAMS
            and bad["error"] == "params.pid: is required"
        )


async def test_a_refused_manifest_is_reported_and_the_old_one_kept(
    agent, agent_key, manifest_doc, other_key
):
    async with (
        FakePlatform(agent_key.public_key(), SERVER_ID) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: platform.connections == 1)
        await platform.send(
            messages.message(messages.MANIFEST, document=manifest_doc(3, key=other_key))
        )
        refused = await platform.expect(messages.MANIFEST_REFUSED)
        assert refused["version"] == 3 and "signature" in refused["reason"]
        assert agent.manifests.version == 1


async def test_ping_is_answered_and_heartbeats_are_sent(agent, agent_key):
    async with (
        FakePlatform(agent_key.public_key(), SERVER_ID, heartbeat_s=0.1) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: platform.connections == 1)
        await platform.send(messages.message(messages.PING, at=123.5))
        pong = await platform.expect(messages.PONG)
        assert pong["at"] == 123.5
        ping = await platform.expect(messages.PING, timeout=2)
        assert isinstance(ping["at"], float)


async def test_heartbeats_keep_a_live_connection_open(agent, agent_key):
    async with (
        FakePlatform(agent_key.public_key(), SERVER_ID, heartbeat_s=0.1) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: platform.connections == 1)
        await asyncio.sleep(0.8)  # well past 3 heartbeats: the platform's pongs count
        assert platform.connections == 1


async def test_a_silent_platform_is_dropped_and_reconnected(agent, agent_key):
    async with FakePlatform(agent_key.public_key(), SERVER_ID, heartbeat_s=0.1) as platform:
        platform.answer_pings = False
        async with running(agent, platform.url) as connection:
            await platform.wait_for(
                lambda: platform.connections >= 2, timeout=5, what="a reconnection"
            )
            assert connection.last_error == "no message from the platform for 3 heartbeats"


async def test_pushed_config_is_adopted_and_clears_tampering(agent, agent_key, state, config_doc):
    state.config_path.write_text("{}")
    await agent.check_tamper()
    assert agent.guard.tampered
    async with (
        FakePlatform(agent_key.public_key(), SERVER_ID) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: platform.connections == 1)
        assert platform.hellos[0]["config_version"] == 0
        tamper = await platform.expect(messages.TAMPER)
        assert tamper["detail"]
        fresh = config_doc(version=2)
        await platform.send(messages.message(messages.CONFIG, document=fresh))
        await platform.wait_for(lambda: not agent.guard.tampered, what="tampering cleared")
        assert json.loads(state.config_path.read_text()) == fresh
        assert agent.guard.config.version == 2


async def test_a_hello_the_platform_refuses_is_recorded_and_retried(state, other_key):
    agent = HostAgent(state)
    # The platform knows another key for this server: the signature does not verify.
    async with (
        FakePlatform(other_key.public_key(), SERVER_ID) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: len(platform.hellos) >= 2, what="a retry")
        assert not any(h["verified"] for h in platform.hellos)
        await platform.wait_for(lambda: "hello refused" in (agent._status.get("last_error") or ""))
    assert json.loads(state.status_path.read_text())["connected"] is False


async def test_unreachable_platform_is_retried_with_backoff(agent):
    connection = Connection(agent, "http://127.0.0.1:1", backoff=Backoff(base=0.01, cap=0.02))
    stop = asyncio.Event()
    task = asyncio.ensure_future(connection.run(stop))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert connection.backoff.attempt >= 3
    assert "cannot connect" in agent._status["last_error"]


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets():
    backoff = Backoff()
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    for delay, ceiling in zip(delays, ceilings):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_websocket_url_follows_the_platform_url():
    assert websocket_url("http://h:8000") == "ws://h:8000/api/v1/hostagent/ws"
    assert websocket_url("https://h/vixpro/") == "wss://h/vixpro/api/v1/hostagent/ws"
    with pytest.raises(ValueError, match="not an http"):
        websocket_url("ftp://h")


async def test_call_in_flight_when_the_connection_drops_does_not_hang_the_agent(agent, agent_key):
    async with (
        FakePlatform(agent_key.public_key(), SERVER_ID) as platform,
        running(agent, platform.url),
    ):
        await platform.wait_for(lambda: platform.connections == 1)
        await platform.send(
            messages.message(
                messages.TOOL_CALL, id="slow", tool="top_processes_cpu", params={}, deadline_ms=5000
            )
        )
        await asyncio.sleep(0.05)
        await platform.current.close()
        await platform.wait_for(lambda: platform.connections == 2, what="a reconnection")
        await platform.send(
            messages.message(messages.TOOL_CALL, id="after", tool="disk_usage", params={})
        )
        assert (await platform.expect(messages.TOOL_RESULT, id="after"))["ok"] is True


def test_builtin_specs_fit_in_one_message():
    assert len(json.dumps(builtin_specs())) < 1024 * 1024


async def test_stop_during_a_stalled_handshake_returns_promptly(agent):
    writers = []

    async def silent(reader, writer):
        writers.append(writer)  # accepts the TCP connection, never answers the HTTP upgrade
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        connection = Connection(agent, f"http://127.0.0.1:{port}")
        stop = asyncio.Event()
        task = asyncio.ensure_future(connection.run(stop))
        await asyncio.sleep(0.2)
        started = asyncio.get_running_loop().time()
        stop.set()
        await asyncio.wait_for(task, 5)
        assert asyncio.get_running_loop().time() - started < 1
    finally:
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
