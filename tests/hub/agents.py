"""Real ``vixpro-agent`` processes for tests: enrolled through the API, run as subprocesses."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

AGENT = str(Path(sys.executable).parent / "vixpro-agent")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class RunningAgent:
    server_id: str
    state_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self, *, tamper_interval: float = 1.0, ca_file: str | None = None) -> RunningAgent:
        env = {**os.environ, "VIXPRO_AGENT_TAMPER_INTERVAL": str(tamper_interval)}
        self.log = self.state_dir.parent / f"{self.state_dir.name}.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [AGENT, "run", "--state-dir", str(self.state_dir)], env=env, stdout=out, stderr=out
            )
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)

    def output(self) -> str:
        return self.log.read_text() if self.log and self.log.exists() else ""


def _verify(ca_file: str | None) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def enrol(base: str, key: str, *, ca_file: str | None = None) -> RunningAgent:
    token = httpx.post(
        f"{base}/api/v1/servers/enrollment-tokens", headers=bearer(key), verify=_verify(ca_file)
    )
    assert token.status_code == 201, token.text
    state_dir = Path(tempfile.mkdtemp(prefix="vxa", dir="/tmp"))
    args = [
        AGENT,
        "enroll",
        "--server",
        base,
        "--token",
        token.json()["token"],
        "--state-dir",
        str(state_dir),
    ]
    if ca_file:
        args += ["--ca-file", ca_file]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    servers = httpx.get(
        f"{base}/api/v1/servers", headers=bearer(key), verify=_verify(ca_file)
    ).json()
    newest = max(servers["items"], key=lambda s: s["created_at"])
    return RunningAgent(newest["id"], state_dir)


def wait_for(predicate: Any, timeout: float = 20, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def server(base: str, key: str, server_id: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/api/v1/servers/{server_id}", headers=bearer(key))
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_connected(base: str, key: str, server_id: str, connected: bool = True) -> dict[str, Any]:
    return dict(
        wait_for(lambda: (s := server(base, key, server_id))["connected"] == connected and s)
    )


def run_tool(
    base: str,
    key: str,
    server_id: str,
    tool: str,
    params: dict[str, Any] | None = None,
    **body: Any,
) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/servers/{server_id}/tools/{tool}/run",
        headers=bearer(key),
        json={"params": params or {}, **body},
        timeout=90,
    )
