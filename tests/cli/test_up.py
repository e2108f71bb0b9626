"""``vixpro up`` and ``vixpro admin`` as a user runs them: real processes, embedded PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

VIXPRO = str(Path(sys.executable).parent / "vixpro")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Up:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.stdout_lines: list[str] = []
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [VIXPRO, "up"], env=env, stdout=subprocess.PIPE, stderr=err, text=True
            )

    def read_until_running(self, timeout: float = 60) -> list[str]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"vixpro up exited early:\n{self.log.read_text()[-3000:]}")
            self.stdout_lines.append(line.rstrip("\n"))
            if line.startswith("VixPro is running at"):
                return self.stdout_lines
        raise AssertionError("vixpro up did not announce itself in time")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        if self.proc.stdout is not None:
            self.stdout_lines += self.proc.stdout.read().splitlines()
            self.proc.stdout.close()
        return code


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    data = Path(tempfile.mkdtemp(prefix="vxu", dir="/tmp"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIXPRO_")}
    environment.update(VIXPRO_DATA_DIR=str(data), VIXPRO_PORT=str(free_port()))
    yield environment
    subprocess.run(["rm", "-rf", str(data)], check=False)


def admin(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VIXPRO, "admin", *args],
        check=False,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def field(output: str, name: str) -> str:
    for line in output.splitlines():
        if line.strip().startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name!r} in {output!r}")


def postgres_running(env: dict[str, str]) -> bool:
    return (Path(env["VIXPRO_DATA_DIR"]) / "pg" / "postmaster.pid").exists()


@contextlib.contextmanager
def sign_in(base: str, email: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10) as client:
        r = client.post("/login", data={"email": email, "password": password})
        assert r.status_code == 303, r.text
        yield client


def test_up_admin_restart_keeps_everything(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    started = time.monotonic()
    up = Up(env, log)
    try:
        up.read_until_running()
        base = up.stdout_lines[0].removeprefix("VixPro is running at ").strip()
        assert base == f"http://127.0.0.1:{env['VIXPRO_PORT']}"
        assert up.proc.stdout is not None
        login_lines = [up.proc.stdout.readline() for _ in range(3)]
        email = field("".join(login_lines), "email")
        password = field("".join(login_lines), "password")
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        first_ready = time.monotonic() - started

        # The printed login works, and the first owner is staff (the self-hoster runs the platform).
        with sign_in(base, email, password) as browser:
            me = browser.get("/api/v1/me").json()
            assert me["org_name"] == "My organisation" and me["role"] == "owner"
            assert browser.get("/staff").status_code == 200

        # Admin commands against the running instance.
        made = admin(
            env,
            "create-org",
            "Acme",
            "--plan",
            "starter",
            "--owner",
            "ops@acme.example",
            "--password-stdin",
            stdin="a very good password\n",
        )
        assert made.returncode == 0, made.stderr
        assert "password:" not in made.stdout
        key = admin(env, "create-api-key", "--org", "Acme", "--role", "admin").stdout.strip()
        assert key.startswith("vxp_")
        me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
        assert me["org_name"] == "Acme" and me["plan"]["code"] == "starter"
        assert admin(env, "set-plan", "--org", "Acme", "--plan", "lean").returncode == 0
        # API keys are remembered for a second per process (accounts/keycache.py).
        for _ in range(30):
            me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
            if me["plan"]["code"] == "lean":
                break
            time.sleep(0.1)
        assert me["plan"]["code"] == "lean"
        enrol = admin(env, "enrollment-token", "--org", "Acme", "--url", base)
        assert enrol.returncode == 0, enrol.stderr
        token = field(enrol.stdout, "token")
        assert f"{base}/api/v1/hostagent/install.sh?token={token}" in field(enrol.stdout, "command")
        script = httpx.get(f"{base}/api/v1/hostagent/install.sh", params={"token": token})
        assert script.status_code == 200 and token in script.text
        # Alerts in: an integration from the CLI, a webhook, an incident, the worker's handoff.
        made_hook = admin(env, "create-integration", "--org", "Acme", "--source", "alertmanager")
        assert made_hook.returncode == 0, made_hook.stderr
        hook = field(made_hook.stdout, "webhook_url")
        assert hook.startswith(f"{base}/api/v1/webhooks/vxw_")
        alert = {
            "version": "4",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "DiskFull",
                        "instance": "db-1:9100",
                        "severity": "critical",
                    },
                    "annotations": {"summary": "Disk full on db-1"},
                    "startsAt": "2026-11-27T12:00:00Z",
                }
            ],
        }
        assert httpx.post(hook, json=alert, timeout=10).status_code == 202
        auth = {"Authorization": f"Bearer {key}"}
        incidents = httpx.get(f"{base}/api/v1/incidents", headers=auth).json()["items"]
        assert [i["title"] for i in incidents] == ["Disk full on db-1"]
        for _ in range(100):  # the worker role runs the diagnose job (runbook engine)
            incident = httpx.get(
                f"{base}/api/v1/incidents/{incidents[0]['id']}", headers=auth
            ).json()
            if incident["incident"]["ai_state"] == "done":
                break
            time.sleep(0.1)
        assert incident["diagnosis"]["outcome"] == "escalated"  # db-1 is not enrolled
        assert "no server matched" in incident["diagnosis"]["report"]["escalation_reason"]
        unknown = admin(env, "create-integration", "--org", "Acme", "--source", "nagios9")
        assert unknown.returncode == 1 and "nagios9" in unknown.stderr
        staff = admin(env, "create-staff", "staff@acme.example")
        assert staff.returncode == 0 and len(field(staff.stdout, "password")) >= 12
        # Mistakes are named, and nothing is half-made.
        dup = admin(env, "create-org", "Acme", "--plan", "lean", "--owner", "x@acme.example")
        assert dup.returncode == 1 and "already exists" in dup.stderr
        bad = admin(env, "set-plan", "--org", "Acme", "--plan", "platinum")
        assert bad.returncode == 1 and "platinum" in bad.stderr
    finally:
        code = up.stop(signal.SIGTERM)
    assert code == 0, log.read_text()[-3000:]
    assert not postgres_running(env), "the embedded PostgreSQL was left running"

    # With VixPro stopped, admin commands still work (and leave PostgreSQL stopped).
    offline_key = admin(env, "create-api-key", "--org", "Acme", "--role", "stakeholder")
    assert offline_key.returncode == 0, offline_key.stderr
    assert not postgres_running(env)

    # Start again on the same data: nothing lost, no new first login.
    up = Up(env, log)
    try:
        up.read_until_running()
        time.sleep(0.3)
        with sign_in(base, email, password) as browser:
            assert browser.get("/api/v1/me").json()["org_name"] == "My organisation"
        for k in (key, offline_key.stdout.strip()):
            r = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {k}"})
            assert r.status_code == 200 and r.json()["org_name"] == "Acme"
        kept = httpx.get(f"{base}/api/v1/incidents", headers={"Authorization": f"Bearer {key}"})
        assert [i["title"] for i in kept.json()["items"]] == ["Disk full on db-1"]
    finally:
        code = up.stop(signal.SIGINT)
    assert code == 0
    assert not any("password" in line for line in up.stdout_lines), up.stdout_lines
    logs = log.read_text()
    assert password not in logs and key not in logs
    assert first_ready < 120  # recorded properly in BENCHMARKS.md; this only catches a hang


def test_serve_runs_several_web_processes_on_one_port(env: dict[str, str]) -> None:
    """``vixpro serve --role web --processes 2``: both answer on the port, and stop together."""
    import psutil

    wrong = subprocess.run(
        [VIXPRO, "serve", "--role", "worker", "--processes", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 2 and "several processes are for --role web" in wrong.stderr
    admin(env, "create-org", "Spread", "--plan", "lean", "--owner", "ops@spread.example")
    base = f"http://127.0.0.1:{env['VIXPRO_PORT']}"
    proc = subprocess.Popen(
        [VIXPRO, "serve", "--role", "web", "--processes", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = int(env["VIXPRO_PORT"])

    def listeners() -> list[psutil.Process]:
        found = []
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                conns = child.net_connections(kind="tcp")
            except psutil.Error:
                continue
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in conns):
                found.append(child)
        return found

    try:
        children: list[psutil.Process] = []
        ready = 0
        for _ in range(150):
            children = listeners()
            try:
                ready = sum(
                    httpx.get(f"{base}/readyz", timeout=2).status_code == 200 for _ in range(10)
                )
            except httpx.HTTPError:
                ready = 0
            if len(children) == 2 and ready == 10:
                break
            time.sleep(0.2)
        # Two processes each hold the port themselves (SO_REUSEPORT), and both answer.
        assert len(children) == 2 and ready == 10
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
