from __future__ import annotations

import re

import pytest

from vixpro_agent.manifest import check_tool_spec
from vixpro_agent.protocol import messages
from vixpro_agent.tools.registry import builtin_specs, implementations

READ = {
    "system_overview": {},
    "load_uptime": {},
    "top_processes_cpu": {"limit": 3},
    "top_processes_memory": {"limit": 3},
    "memory_swap": {},
    "disk_usage": {},
    "inode_usage": {},
    "largest_directories": {"path": "/etc", "max_seconds": 2},
    "fd_usage": {"limit": 3},
    "process_details": {"pid": 1},
    "listening_ports": {},
    "network_connections_summary": {},
    "interface_stats": {},
    "dns_resolve": {"name": "localhost"},
    "tcp_connect_check": {"host": "127.0.0.1", "port": 1, "timeout_s": 1},
    "http_check": {"url": "http://127.0.0.1:1/", "timeout_s": 1},
    "tls_certificate_expiry": {"host": "127.0.0.1", "port": 1, "timeout_s": 1},
    "systemd_service_status": {"unit": "ssh.service"},
    "systemd_failed_units": {},
    "service_logs": {"unit": "ssh.service", "lines": 5},
    "tail_log_file": None,  # needs a file under the allowed roots: tests/tools/test_logs.py
    "kernel_messages_oom": {"lines": 5},
    "package_updates_available": {},
    "docker_containers": {},
    "docker_container_logs": {"container": "web"},
}
MUTATE = {
    "restart_service",
    "signal_process",
    "delete_old_files",
    "truncate_log_file",
    "restart_docker_container",
    "package_upgrades",
}


def test_the_catalogue_has_the_promised_tools_with_their_risk():
    specs = {spec["name"]: spec for spec in builtin_specs()}
    assert len(specs) >= 25
    assert set(READ) | MUTATE == set(specs)
    for name, spec in specs.items():
        assert spec["risk"] == ("mutate" if name in MUTATE else "read"), name


def test_every_spec_passes_manifest_verification():
    for index, spec in enumerate(builtin_specs()):
        assert check_tool_spec(spec, index) == spec["name"]
        assert re.match(r"^[a-z][a-z0-9_]+$", spec["name"])
        assert 1 <= spec["timeout_s"] <= messages.MAX_TIMEOUT_S
        assert spec["description"]


def test_specs_are_fresh_copies():
    first = builtin_specs()
    first[0]["parameters"]["properties"]["injected"] = {"type": "string"}
    assert "injected" not in builtin_specs()[0]["parameters"]["properties"]


def test_implementations_match_the_specs():
    assert set(implementations()) == {spec["name"] for spec in builtin_specs()}


@pytest.mark.parametrize("name", [n for n, p in READ.items() if p is not None])
async def test_read_tool_runs_here_and_returns_structured_output_or_unavailable(call_tool, name):
    result = await call_tool(name, READ[name])
    if result["ok"]:
        assert isinstance(result["output"], dict) and result["output"]
        assert result["truncated"] is False
    else:
        # This sandbox has no systemd, journald or Docker daemon.
        assert result["error_kind"] == messages.ERR_UNAVAILABLE, result
        assert result["error"]
