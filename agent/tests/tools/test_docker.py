from __future__ import annotations

import shutil

import pytest

from vixpro_agent.protocol import messages


@pytest.mark.parametrize(
    ("tool", "params"),
    [
        ("docker_containers", {}),
        ("docker_container_logs", {"container": "web", "lines": 10}),
        ("restart_docker_container", {"container": "web"}),
    ],
)
async def test_docker_tools_say_unavailable_without_a_daemon(call_tool, tool, params):
    result = await call_tool(tool, params)
    if result["ok"]:  # a machine with a running Docker daemon
        assert isinstance(result["output"], dict)
        return
    assert result["error_kind"] in (messages.ERR_UNAVAILABLE, messages.ERR_FAILED), result
    if shutil.which("docker") is None:
        assert "docker is not installed" in result["error"]


@pytest.mark.parametrize("container", ["--privileged", "-f", "a/b", "x y", ""])
async def test_container_names_that_could_be_options_are_refused(call_tool, container):
    result = await call_tool("restart_docker_container", {"container": container})
    assert result["error_kind"] == messages.ERR_BAD_PARAMS
