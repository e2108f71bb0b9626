from __future__ import annotations

import asyncio
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vixpro_agent.protocol import messages


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/")
            self.end_headers()
            return
        status = 503 if self.path == "/down" else 200
        body = b"hello from the test server"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_listening_ports_include_a_socket_we_opened(call_tool, listener):
    output = (await call_tool("listening_ports"))["output"]
    mine = [r for r in output["listening"] if r["port"] == listener]
    assert mine and mine[0]["proto"] == "tcp" and mine[0]["address"] == "127.0.0.1"


async def test_network_connections_summary_counts_an_established_connection(call_tool, listener):
    client = socket.create_connection(("127.0.0.1", listener))
    try:
        output = (await call_tool("network_connections_summary"))["output"]
    finally:
        client.close()
    assert output["by_state"].get("ESTABLISHED", 0) >= 1
    assert any(r["address"] == "127.0.0.1" for r in output["top_remote_addresses"])


async def test_interface_stats_include_loopback(call_tool):
    output = (await call_tool("interface_stats"))["output"]
    lo = next(i for i in output["interfaces"] if i["name"] == "lo")
    assert lo["up"] is True
    assert "127.0.0.1" in lo["addresses"]
    assert "bytes_recv" in lo


async def test_dns_resolve_localhost_and_a_name_that_does_not_exist(call_tool):
    output = (await call_tool("dns_resolve", {"name": "localhost"}))["output"]
    assert output["resolved"] is True
    assert {"family": "ipv4", "address": "127.0.0.1"} in output["addresses"]
    missing = (await call_tool("dns_resolve", {"name": "no-such-host.invalid"}))["output"]
    assert missing["resolved"] is False and missing["error"]


async def test_tcp_connect_check_open_and_closed_ports(call_tool, listener):
    up = (await call_tool("tcp_connect_check", {"host": "127.0.0.1", "port": listener}))["output"]
    assert up["reachable"] is True
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    down = (await call_tool("tcp_connect_check", {"host": "127.0.0.1", "port": port}))["output"]
    assert down["reachable"] is False
    assert "refused" in down["error"].lower()


async def test_http_check_reports_status_headers_and_body(call_tool, http_server):
    output = (await call_tool("http_check", {"url": http_server + "/"}))["output"]
    assert output["status"] == 200 and output["ok"] is True
    assert output["headers"]["content-type"] == "text/plain"
    assert output["body_excerpt"] == "hello from the test server"
    down = (await call_tool("http_check", {"url": http_server + "/down"}))["output"]
    assert down["status"] == 503 and down["ok"] is False and down["reachable"] is True
    expected = (
        await call_tool("http_check", {"url": http_server + "/down", "expect_status": 503})
    )["output"]
    assert expected["ok"] is True


async def test_http_check_redirects_can_be_left_unfollowed(call_tool, http_server):
    followed = (await call_tool("http_check", {"url": http_server + "/redirect"}))["output"]
    assert followed["status"] == 200 and followed["final_url"] == http_server + "/"
    held = (
        await call_tool("http_check", {"url": http_server + "/redirect", "follow_redirects": False})
    )["output"]
    assert held["status"] == 302 and held["headers"]["location"] == "/"


async def test_http_check_accepts_only_http_urls(call_tool):
    for url in ("file:///etc/shadow", "ftp://example.com/", "gopher://x"):
        result = await call_tool("http_check", {"url": url})
        assert result["error_kind"] == messages.ERR_BAD_PARAMS, url


async def test_tls_certificate_expiry_reads_an_untrusted_certificate(call_tool, tls_files):
    async def handle(reader, writer):
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls_files.server_context())
    port = server.sockets[0].getsockname()[1]
    try:
        result = await call_tool("tls_certificate_expiry", {"host": "127.0.0.1", "port": port})
    finally:
        server.close()
        await server.wait_closed()
    output = result["output"]
    assert output["reachable"] is True
    assert output["subject"] == "127.0.0.1"
    assert output["issuer"] == "VixPro Test CA"
    assert 9 < output["days_remaining"] <= 10
    assert output["expired"] is False
    assert output["verified"] is False  # our test CA is not in the system store
    assert "127.0.0.1" in output["subject_alt_names"]


async def test_tls_certificate_expiry_of_a_closed_port_is_unreachable(call_tool):
    output = (await call_tool("tls_certificate_expiry", {"host": "127.0.0.1", "port": 1}))["output"]
    assert output["reachable"] is False
