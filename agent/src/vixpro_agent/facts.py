"""Host facts sent at enrolment and after connecting: what the platform shows about a server."""

from __future__ import annotations

import ipaddress
import platform
import shlex
import socket
from pathlib import Path
from typing import Any

import psutil

from vixpro_agent import __version__

OS_RELEASE_FILES = (Path("/etc/os-release"), Path("/usr/lib/os-release"))


def read_os_release() -> dict[str, str]:
    """The fields of os-release(5); empty when the file is absent (containers, macOS)."""
    for path in OS_RELEASE_FILES:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        fields: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, raw = line.partition("=")
            if not sep or key.strip().startswith("#"):
                continue
            try:
                words = shlex.split(raw)
            except ValueError:
                continue
            fields[key.strip()] = words[0] if words else ""
        return fields
    return {}


def os_summary() -> dict[str, str]:
    fields = read_os_release()
    return {
        "id": fields.get("ID", platform.system().lower()),
        "version_id": fields.get("VERSION_ID", ""),
        "pretty_name": fields.get("PRETTY_NAME", platform.platform()),
    }


def addresses() -> list[str]:
    """Non-loopback, non-link-local IP addresses of every interface."""
    found: list[str] = []
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                address = ipaddress.ip_address(entry.address.split("%", 1)[0])
            except ValueError:
                continue
            if address.is_loopback or address.is_link_local:
                continue
            if str(address) not in found:
                found.append(str(address))
    return found


def disks() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for partition in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:
            continue
        found.append(
            {"mountpoint": partition.mountpoint, "fstype": partition.fstype, "total": usage.total}
        )
    return found


def collect_facts() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "os": os_summary(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "cpu_count": psutil.cpu_count(logical=True) or 0,
        "memory_total": psutil.virtual_memory().total,
        "disks": disks(),
        "addresses": addresses(),
        "agent_version": __version__,
        "python_version": platform.python_version(),
    }
