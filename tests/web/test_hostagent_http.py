"""What the platform serves to servers before any WebSocket: the install script and the wheel."""

from __future__ import annotations

import io
import zipfile

import httpx


async def test_install_script_names_this_platform_and_the_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/hostagent/install.sh", params={"token": "abcDEF123_-xyz"})
    assert r.status_code == 200
    script = r.text
    assert script.startswith("#!/bin/sh")
    assert "PLATFORM_URL='http://testserver'" in script
    assert "ENROLL_TOKEN='abcDEF123_-xyz'" in script
    assert "{{" not in script


async def test_install_script_refuses_a_token_that_could_break_out_of_quotes(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/api/v1/hostagent/install.sh", params={"token": "abc'; rm -rf /; '"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "token"


async def test_package_is_a_wheel_of_the_running_host_agent(client: httpx.AsyncClient) -> None:
    import vixpro_agent

    r = await client.get("/api/v1/hostagent/package")
    assert r.status_code == 200
    name = f"vixpro_agent-{vixpro_agent.__version__}-py3-none-any.whl"
    assert f'filename="{name}"' in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(
            f"vixpro_agent-{vixpro_agent.__version__}.dist-info/METADATA"
        ).decode()
    assert "vixpro_agent/cli.py" in names
    assert "vixpro_agent/packaging/vixpro-agent.service" in names
    assert "Requires-Dist: websockets" in metadata
