"""Protocol-level host agents for benchmarks: many real WebSocket connections per process,
each doing the real challenge-response handshake, heartbeats and tool-call answers, without
running real tools (the benchmarks measure the platform, not the tools)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import uvloop
import websockets
from vixpro_agent.protocol import messages as m
from vixpro_agent.protocol import signing
from vixpro_agent.protocol.canonical import canonical_json


async def run_agent(
    ws_url: str,
    server_id: str,
    key: signing.PrivateKey,
    stop: asyncio.Event,
    connected: list[int],
    heartbeat_s: float = m.HEARTBEAT_SECONDS,
) -> None:
    async with websockets.connect(
        ws_url, max_size=2**22, ping_interval=None, open_timeout=300
    ) as ws:
        challenge = json.loads(await ws.recv())
        signature = signing.sign_bytes(
            key, canonical_json(m.hello_payload(challenge["nonce"], server_id))
        )
        await ws.send(
            json.dumps(
                m.message(
                    m.HELLO,
                    server_id=server_id,
                    signature=signature,
                    agent_version="bench",
                    facts={"hostname": f"sim-{server_id[:8]}"},
                    manifest_version=10**9,
                    config_version=10**9,
                )
            )
        )
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == m.WELCOME, welcome
        connected[0] += 1

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(heartbeat_s)
                await ws.send(json.dumps(m.message(m.PING, at=time.time())))

        async def closer() -> None:
            await stop.wait()
            await ws.close()

        beat = asyncio.create_task(heartbeat())
        stopper = asyncio.create_task(closer())
        try:
            # One loop over the connection's messages (no task per message): the host agents
            # share the machine with the platform being measured, so they should cost little.
            async for raw in ws:
                message: dict[str, Any] = json.loads(raw)
                if message.get("type") == m.TOOL_CALL:
                    await ws.send(
                        json.dumps(
                            m.message(
                                m.TOOL_RESULT,
                                id=message["id"],
                                ok=True,
                                output={"load": [0.1, 0.1, 0.1], "uptime_s": 1},
                                error=None,
                                error_kind=None,
                                duration_ms=0,
                                truncated=False,
                            )
                        )
                    )
        except websockets.ConnectionClosed:
            pass
        finally:
            beat.cancel()
            stopper.cancel()
            connected[0] -= 1


async def hold(
    ws_url: str, server_ids: list[str], key_pem: bytes, seconds: float, heartbeat_s: float
) -> None:
    """Connect every server id, hold the connections for ``seconds``, then close them."""
    key = signing.load_private_pem(key_pem)
    stop = asyncio.Event()
    connected = [0]
    tasks = []
    for i, server_id in enumerate(server_ids):
        tasks.append(
            asyncio.create_task(run_agent(ws_url, server_id, key, stop, connected, heartbeat_s))
        )
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # don't stampede the platform's accept queue
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


def hold_in_process(args: tuple[str, list[str], bytes, float, float]) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(hold(*args))
