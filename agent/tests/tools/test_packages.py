from __future__ import annotations

import shutil

from vixpro_agent.protocol import messages


async def test_package_updates_available_reports_the_manager_and_counts(call_tool):
    result = await call_tool("package_updates_available")
    if not any(shutil.which(m) for m in ("apt-get", "dnf", "yum")):
        assert result["error_kind"] == messages.ERR_UNAVAILABLE
        return
    assert result["ok"] is True, result
    output = result["output"]
    assert output["manager"] in ("apt", "dnf", "yum")
    assert output["count"] >= output["security_count"] >= 0
    for package in output["packages"]:
        assert package["name"] and package["version"]


async def test_package_upgrades_needs_a_short_list_of_plain_names(call_tool):
    empty = await call_tool("package_upgrades", {"packages": []})
    assert empty["error_kind"] == messages.ERR_BAD_PARAMS
    option = await call_tool("package_upgrades", {"packages": ["--allow-downgrades"]})
    assert (
        option["error"]
        == "params.packages[0]: does not match the pattern ^[A-Za-z0-9][A-Za-z0-9+._:~-]*$"
    )
    many = await call_tool("package_upgrades", {"packages": [f"p{i}" for i in range(21)]})
    assert many["error_kind"] == messages.ERR_BAD_PARAMS
