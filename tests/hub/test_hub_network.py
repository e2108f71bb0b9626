"""The hub under network trouble: deadlines, dropped connections, platform restarts, two
replicas on one database, TLS."""

from __future__ import annotations

import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from vixpro_agent.protocol import messages as m

from tests.conftest import Factory, LiveServer
from tests.hub.agents import AGENT, bearer, enrol, run_tool, wait_connected, wait_for
from tests.hub.certs import make_ca_and_server


@pytest.fixture
async def admin_key(factory: Factory) -> str:
    """A fresh organisation per test: the Lean plan holds three servers."""
    return await factory.api_key(await factory.org("lean"), "admin")


@pytest.fixture
def silent_http() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_tool_past_its_deadline_ends_as_timeout(live_server, admin_key, silent_http) -> None:
    agent = enrol(live_server.url, admin_key).start()
    try:
        wait_connected(live_server.url, admin_key, agent.server_id)
        started = time.monotonic()
        r = run_tool(
            live_server.url,
            admin_key,
            agent.server_id,
            "http_check",
            {"url": silent_http, "timeout_s": 20},
            deadline_ms=1000,
        )
        body = r.json()
        assert body["status"] == "failed" and body["error_kind"] == m.ERR_TIMEOUT, body
        assert time.monotonic() - started < 10
    finally:
        agent.stop()


def test_a_dropped_connection_ends_the_call_at_once(live_server, admin_key, silent_http) -> None:
    agent = enrol(live_server.url, admin_key).start()
    wait_connected(live_server.url, admin_key, agent.server_id)
    killer = threading.Timer(1.0, agent.kill)
    killer.start()
    started = time.monotonic()
    r = run_tool(
        live_server.url,
        admin_key,
        agent.server_id,
        "http_check",
        {"url": silent_http, "timeout_s": 25},
    )
    killer.join()
    body = r.json()
    assert body["status"] == "failed" and body["error_kind"] == m.ERR_DISCONNECTED, body
    assert time.monotonic() - started < 10  # not the 35 s deadline


def test_host_agent_reconnects_after_the_platform_restarts(settings, db_urls, admin_key) -> None:
    first = LiveServer(settings, db_urls).start()
    port = first.port
    agent = enrol(first.url, admin_key).start()
    try:
        wait_connected(first.url, admin_key, agent.server_id)
        first.stop()
        second = LiveServer(settings, db_urls, port=port).start()
        try:
            wait_for(
                lambda: httpx.get(
                    f"{second.url}/api/v1/servers/{agent.server_id}", headers=bearer(admin_key)
                ).json()["connected"],
                timeout=40,
            )
            r = run_tool(second.url, admin_key, agent.server_id, "load_uptime")
            assert r.json()["status"] == "succeeded"
        finally:
            second.stop()
    finally:
        agent.stop()


def test_a_call_on_one_replica_reaches_an_agent_on_another(
    live_server, settings, db_urls, admin_key
) -> None:
    agent = enrol(live_server.url, admin_key).start()
    other = LiveServer(settings, db_urls).start()
    try:
        wait_connected(live_server.url, admin_key, agent.server_id)
        assert not other.state.hub.sessions  # the connection is held by live_server only
        r = run_tool(other.url, admin_key, agent.server_id, "memory_swap")
        body = r.json()
        assert body["status"] == "succeeded", body
        assert body["output"]
    finally:
        other.stop()
        agent.stop()


def test_wss_with_a_private_ca_and_nothing_older_than_tls_1_2(settings, db_urls, admin_key) -> None:
    directory = Path(tempfile.mkdtemp(prefix="vxtls", dir="/tmp"))
    ca_file, cert_file, key_file = make_ca_and_server(directory)
    trust = ssl.create_default_context(cafile=ca_file)
    server = LiveServer(settings, db_urls, tls=(cert_file, key_file)).start()
    try:
        # Without the CA the host agent refuses the platform's certificate.
        token = httpx.post(
            f"{server.url}/api/v1/servers/enrollment-tokens",
            headers=bearer(admin_key),
            verify=trust,
        ).json()["token"]
        refused = subprocess.run(
            [
                AGENT,
                "enroll",
                "--server",
                server.url,
                "--token",
                token,
                "--state-dir",
                str(directory / "no-ca"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode != 0
        assert "certificate" in (refused.stdout + refused.stderr).lower()
        agent = enrol(server.url, admin_key, ca_file=ca_file).start()
        try:
            wait_for(
                lambda: httpx.get(
                    f"{server.url}/api/v1/servers/{agent.server_id}",
                    headers=bearer(admin_key),
                    verify=trust,
                ).json()["connected"]
            )
            r = httpx.post(
                f"{server.url}/api/v1/servers/{agent.server_id}/tools/load_uptime/run",
                headers=bearer(admin_key),
                json={"params": {}},
                verify=trust,
                timeout=60,
            )
            assert r.json()["status"] == "succeeded"
        finally:
            agent.stop()
        # A client that offers at most TLS 1.1 gets no connection.
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(ca_file)
        with warnings.catch_warnings():  # asking for TLS 1.0/1.1 is deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        with (
            pytest.raises(ssl.SSLError),
            socket.create_connection(("127.0.0.1", server.port)) as raw,
        ):
            old.wrap_socket(raw, server_hostname="127.0.0.1")
    finally:
        server.stop()
