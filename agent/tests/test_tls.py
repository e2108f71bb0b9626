from __future__ import annotations

import asyncio
import socket
import ssl
import warnings

import pytest

from fakes.identity import SERVER_ID
from fakes.platform import FakePlatform
from vixpro_agent.agent import HostAgent
from vixpro_agent.connection import Backoff, Connection
from vixpro_agent.tls import client_context


async def connect_once(agent, url, context) -> str | None:
    connection = Connection(agent, url, context, backoff=Backoff(base=0.01))
    # Returns by itself on success too: the tests tell the fake platform to hang up.
    return await asyncio.wait_for(connection.connect_once(), 10)


async def hang_up(ws):
    await ws.close()


def test_client_context_verifies_and_requires_tls_1_2(tls_files):
    context = client_context(str(tls_files.ca_file))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


async def test_agent_connects_over_wss_with_the_ca_file(state, agent_key, tls_files):
    agent = HostAgent(state)
    async with FakePlatform(
        agent_key.public_key(), SERVER_ID, ssl_context=tls_files.server_context()
    ) as platform:
        platform.on_welcome = hang_up
        assert platform.url.startswith("https://")
        await connect_once(agent, platform.url, client_context(str(tls_files.ca_file)))
        assert platform.connections == 1
        assert platform.hellos[0]["verified"] is True


async def test_agent_refuses_a_certificate_it_cannot_verify(state, agent_key, tls_files):
    agent = HostAgent(state)
    async with FakePlatform(
        agent_key.public_key(), SERVER_ID, ssl_context=tls_files.server_context()
    ) as platform:
        error = await connect_once(agent, platform.url, client_context(None))
        assert error is not None and "CERTIFICATE_VERIFY_FAILED" in error
        assert platform.hellos == []


def tls_1_1_server_context(tls_files) -> ssl.SSLContext:
    context = tls_files.server_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 constants are deprecated
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    # OpenSSL 3 refuses TLS 1.1 at its default security level; level 0 lets this server
    # really offer it, so the refusal below is the host agent's, not OpenSSL's defaults.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def permissive_client_handshake(port: int) -> bool:
    """Can a client that allows TLS 1.1 complete a handshake with the server at all?"""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw) as tls,
        ):
            return tls.version() == "TLSv1.1"
    except (ssl.SSLError, OSError):
        return False


async def test_agent_refuses_a_server_limited_to_tls_1_1(state, agent_key, tls_files):
    agent = HostAgent(state)
    server_context = tls_1_1_server_context(tls_files)
    async with FakePlatform(
        agent_key.public_key(), SERVER_ID, ssl_context=server_context
    ) as platform:
        platform.on_welcome = hang_up
        offers_tls_1_1 = await asyncio.get_running_loop().run_in_executor(
            None, permissive_client_handshake, platform.port
        )
        error = await connect_once(agent, platform.url, client_context(str(tls_files.ca_file)))
        # The server hangs up on a ClientHello it cannot serve (no alert), so the error is
        # a reset or an EOF rather than a named protocol-version failure.
        assert error is not None, "the host agent connected over TLS 1.1"
        assert platform.hellos == []
        if not offers_tls_1_1:
            # This OpenSSL cannot speak TLS 1.1 even at security level 0: the handshake
            # fails either way, and the check below would prove nothing.
            return
        # The same context with only its minimum version lowered connects: the minimum
        # version is what refused the server above.
        weakened = client_context(str(tls_files.ca_file))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            weakened.minimum_version = ssl.TLSVersion.TLSv1
        weakened.set_ciphers("DEFAULT:@SECLEVEL=0")
        assert (
            await connect_once(agent, platform.url, weakened) is not None
        )  # hung up after welcome
        assert platform.connections == 1 and platform.hellos[0]["verified"] is True


@pytest.mark.parametrize("url", ["http://127.0.0.1:1"])
def test_plain_ws_urls_use_no_tls(state, url, tls_files):
    connection = Connection(HostAgent(state), url, client_context(str(tls_files.ca_file)))
    assert connection.url.startswith("ws://")
    assert connection.ssl_context is None
