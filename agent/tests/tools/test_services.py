from __future__ import annotations

import os

import pytest

from vixpro_agent.protocol import messages

NO_SYSTEMD = not os.path.isdir("/run/systemd/system")


@pytest.mark.parametrize(
    ("tool", "params"),
    [
        ("systemd_service_status", {"unit": "ssh.service"}),
        ("systemd_failed_units", {}),
        ("restart_service", {"unit": "ssh.service"}),
    ],
)
async def test_systemd_tools_say_unavailable_without_systemd(call_tool, tool, params):
    result = await call_tool(tool, params)
    if NO_SYSTEMD:
        assert result["error_kind"] == messages.ERR_UNAVAILABLE
        assert "systemd is not running" in result["error"]
    else:
        assert result["ok"] or result["error_kind"] in (messages.ERR_FAILED,)


@pytest.mark.parametrize("unit", ["-H evil", "--host=x", "a b", "unit;reboot", "$(reboot)", ""])
async def test_unit_names_that_could_be_options_or_shell_are_refused(call_tool, unit):
    for tool in ("systemd_service_status", "restart_service", "service_logs"):
        result = await call_tool(tool, {"unit": unit})
        assert result["error_kind"] == messages.ERR_BAD_PARAMS, (tool, unit)
