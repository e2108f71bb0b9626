from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "src" / "vixpro_agent" / "packaging"
TEMPLATE = PACKAGING / "install.sh.template"
UNIT = PACKAGING / "vixpro-agent.service"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"


def render(url="https://vixpro.example.com", token="tok-123", ca_pem="") -> str:
    text = TEMPLATE.read_text()
    for name, value in (("PLATFORM_URL", url), ("TOKEN", token), ("CA_PEM", ca_pem)):
        text = text.replace("{{" + name + "}}", value)
    return text


def test_template_has_exactly_the_documented_placeholders():
    assert set(re.findall(r"\{\{([A-Z_]+)\}\}", TEMPLATE.read_text())) == {
        "PLATFORM_URL",
        "TOKEN",
        "CA_PEM",
    }


@pytest.mark.parametrize("ca_pem", ["", CA_PEM])
@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_rendered_script_is_valid_posix_sh(tmp_path, shell, ca_pem):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = tmp_path / "install.sh"
    script.write_text(render(ca_pem=ca_pem))
    subprocess.run([shell, "-n", str(script)], check=True)
    assert "{{" not in script.read_text()
    assert script.read_text().startswith("#!/bin/sh\n")
    assert "set -eu" in script.read_text()


def test_script_embeds_the_unit_file_verbatim():
    embedded = re.search(r"<<'UNIT'\n(.*?)\nUNIT\n", TEMPLATE.read_text(), re.S)
    assert embedded is not None
    assert embedded.group(1) == UNIT.read_text().rstrip("\n")


def run_script(tmp_path, path_dirs):
    script = tmp_path / "install.sh"
    script.write_text(render())
    return subprocess.run(
        ["/bin/sh", str(script)],
        check=False,
        env={"PATH": ":".join(str(d) for d in path_dirs), "HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_script_stops_without_python3(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_script(tmp_path, [empty])
    assert result.returncode == 1
    assert "python3 is not installed" in result.stderr


def test_script_stops_on_python_older_than_3_9(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    # Answers like Python 3.8 would: the version check fails, -V prints 3.8.
    fake.write_text(
        '#!/bin/sh\ncase "$*" in *version_info*) exit 1;; -V) echo "Python 3.8.10"; exit 0;; esac\nexit 0\n'
    )
    fake.chmod(0o755)
    result = run_script(tmp_path, [bin_dir, "/usr/bin", "/bin"])
    assert result.returncode == 1
    assert "Python 3.9 or later is needed; this server has Python 3.8.10" in result.stderr
    assert not (tmp_path / "home" / ".local").exists()


def test_unit_runs_the_agent_from_the_venv_and_restarts_always():
    unit = UNIT.read_text()
    assert (
        "ExecStart=/opt/vixpro-agent/venv/bin/vixpro-agent run --state-dir /var/lib/vixpro-agent"
        in unit
    )
    assert "Restart=always" in unit
    assert "WantedBy=multi-user.target" in unit


def test_unit_passes_systemd_analyze(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The venv does not exist here: point ExecStart at a binary that does.
    unit = tmp_path / "vixpro-agent.service"
    unit.write_text(
        UNIT.read_text().replace("/opt/vixpro-agent/venv/bin/vixpro-agent", "/bin/true")
    )
    result = subprocess.run(
        [analyze, "verify", str(unit)], check=False, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
