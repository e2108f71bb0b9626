from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

from fakes.enrollment import EnrollmentServer, accepting
from fakes.identity import SERVER_ID
from fakes.platform import FakePlatform
from vixpro_agent.cli import main
from vixpro_agent.protocol import messages

TOKEN = "one-time-token"


def test_enroll_then_status_when_not_running(
    tmp_path, capsys, platform_key, config_doc, manifest_doc
):
    state_dir = str(tmp_path / "s")
    with EnrollmentServer(
        accepting(platform_key, SERVER_ID, config_doc(), manifest_doc(3))
    ) as server:
        code = main(["enroll", "--server", server.url, "--token", TOKEN, "--state-dir", state_dir])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"Enrolled as server {SERVER_ID}" in out.out and "manifest version 3" in out.out
    assert TOKEN not in out.out + out.err

    assert main(["status", "--state-dir", state_dir]) == 1
    out = capsys.readouterr().out
    assert "not connected (the host agent is not running)" in out
    assert "Config:      verified (version 1)" in out
    assert "Manifest:    version 3" in out


def test_enroll_prints_the_refusal_detail(
    tmp_path, capsys, platform_key, config_doc, manifest_doc, monkeypatch
):
    monkeypatch.setenv("VIXPRO_ENROLL_TOKEN", "expired-token")
    with EnrollmentServer(
        accepting(platform_key, SERVER_ID, config_doc(), manifest_doc())
    ) as server:
        code = main(["enroll", "--server", server.url, "--state-dir", str(tmp_path / "s")])
        assert server.requests[0]["json"]["token"] == "expired-token"
    err = capsys.readouterr().err
    assert code == 1
    assert "enrolment refused (HTTP 401): the enrolment token is unknown or expired" in err
    assert "expired-token" not in err


def test_enroll_without_a_token_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("VIXPRO_ENROLL_TOKEN", raising=False)
    assert main(["enroll", "--server", "http://127.0.0.1:1", "--state-dir", str(tmp_path)]) == 2
    assert "token is needed" in capsys.readouterr().err


def test_status_and_run_without_enrolment(tmp_path, capsys):
    assert main(["status", "--state-dir", str(tmp_path / "none")]) == 1
    assert "Not enrolled" in capsys.readouterr().out
    assert main(["run", "--state-dir", str(tmp_path / "none")]) == 2
    assert "enroll" in capsys.readouterr().err


def test_status_shows_tampering(state, capsys):
    state.config_path.write_text("{}")
    assert main(["status", "--state-dir", str(state.path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["config_verified"] is False and "signature" in report["config_error"]


async def test_run_serves_reports_tampering_and_stops_on_sigterm(
    state, agent_key, manifest_doc, capsys
):
    async with FakePlatform(agent_key.public_key(), SERVER_ID) as platform:
        enrollment = json.loads(state.enrollment_path.read_text())
        enrollment["platform_url"] = platform.url
        state.enrollment_path.write_text(json.dumps(enrollment))
        env = {**os.environ, "VIXPRO_AGENT_TAMPER_INTERVAL": "0.2"}
        process = subprocess.Popen(
            [sys.executable, "-m", "vixpro_agent", "run", "--state-dir", str(state.path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            await platform.wait_for(
                lambda: platform.connections == 1, timeout=20, what="the host agent"
            )
            assert platform.hellos[0]["verified"] is True
            await platform.expect(messages.FACTS)

            assert main(["status", "--state-dir", str(state.path)]) == 0
            assert "Connection:  connected" in capsys.readouterr().out

            call = messages.message(
                messages.TOOL_CALL, id="c", tool="disk_usage", params={}, deadline_ms=5000
            )
            await platform.send(call)
            assert (await platform.expect(messages.TOOL_RESULT, id="c"))["ok"] is True

            state.config_path.write_text(state.config_path.read_text().replace("logs", "etc"))
            tamper = await platform.expect(messages.TAMPER, timeout=5)
            assert "signature" in tamper["detail"]

            process.send_signal(signal.SIGTERM)
            code = await asyncio.get_running_loop().run_in_executor(None, lambda: process.wait(10))
        finally:
            if process.poll() is None:
                process.kill()
            _out, err = process.communicate()
    assert code == 0, err.decode()
    logs = err.decode()
    assert "PRIVATE KEY" not in logs
    assert "config tampering detected" in logs
    assert main(["status", "--state-dir", str(state.path)]) == 1
    out = capsys.readouterr().out
    assert "not connected (the host agent is not running)" in out
    assert "Config:      FAILED verification" in out
