"""OS packages: pending updates and upgrading named packages, with apt or dnf/yum."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

from vixpro_agent.tools.base import (
    RISK_MUTATE,
    RISK_READ,
    BadParams,
    Params,
    Tool,
    ToolContext,
    Unavailable,
    iso_time,
    params_schema,
)

APT_UPGRADABLE = re.compile(
    r"^(?P<name>[^/\s]+)/(?P<suite>\S+)\s+(?P<version>\S+)\s+(?P<arch>\S+)\s+\[upgradable from: (?P<current>[^\]]+)\]"
)
DNF_LINE = re.compile(r"^(?P<name>\S+)\.(?P<arch>[^.\s]+)\s+(?P<version>\S+)\s+(?P<repo>\S+)\s*$")
APT_LISTS = "/var/lib/apt/lists"
SHOWN_PACKAGES = 500
# Starts with an alphanumeric so a package name can never be read as an option.
PACKAGE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    "pattern": "^[A-Za-z0-9][A-Za-z0-9+._:~-]*$",
}
MAX_PACKAGES = 20


def _manager() -> str:
    for name in ("apt-get", "dnf", "yum"):
        if shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin"):
            return "apt" if name == "apt-get" else name
    raise Unavailable("no supported package manager (apt, dnf or yum) on this host")


def _apt_updates(ctx: ToolContext) -> dict[str, Any]:
    result = ctx.run(["apt", "list", "--upgradable"], check=True, what="apt list --upgradable")
    packages = []
    for line in result.stdout.splitlines():
        match = APT_UPGRADABLE.match(line)
        if match:
            packages.append({**match.groupdict(), "security": "security" in match.group("suite")})
    try:
        refreshed: str | None = iso_time(os.stat(APT_LISTS).st_mtime)
    except OSError:
        refreshed = None
    return {
        "packages": packages,
        "lists_refreshed_at": refreshed,
        "note": "from the package lists as last refreshed; apt-get update was not run",
    }


def _dnf_updates(ctx: ToolContext, program: str) -> dict[str, Any]:
    # -C: cache only. A metadata refresh can take longer than the tool's deadline.
    result = ctx.run([program, "-q", "-C", "check-update"])
    if result.returncode not in (0, 100):  # 100 means "updates are available"
        raise result.failure(f"{program} check-update")
    packages = []
    for line in result.stdout.splitlines():
        if line.startswith(("Obsoleting", "Security:")):
            break
        match = DNF_LINE.match(line)
        if match:
            packages.append(
                {
                    "name": match.group("name"),
                    "arch": match.group("arch"),
                    "version": match.group("version"),
                    "repo": match.group("repo"),
                    "security": "security" in match.group("repo"),
                }
            )
    return {"packages": packages, "note": "from the cached metadata; no refresh was made"}


def package_updates_available(params: Params, ctx: ToolContext) -> dict[str, Any]:
    manager = _manager()
    found = _apt_updates(ctx) if manager == "apt" else _dnf_updates(ctx, manager)
    packages = found.pop("packages")
    return {
        "manager": manager,
        "count": len(packages),
        "security_count": sum(1 for p in packages if p["security"]),
        "packages": packages[:SHOWN_PACKAGES],
        **found,
    }


def package_upgrades(params: Params, ctx: ToolContext) -> dict[str, Any]:
    names: list[str] = params["packages"]
    if not names or len(names) > MAX_PACKAGES:
        raise BadParams(f"params.packages: name between 1 and {MAX_PACKAGES} packages")
    manager = _manager()
    if manager == "apt":
        argv = [
            "apt-get",
            "install",
            "--only-upgrade",
            "-y",
            "-q",
            "-o",
            "Dpkg::Options::=--force-confold",
            "-o",
            "DPkg::Lock::Timeout=15",
            "--",
            *names,
        ]
        env = {"DEBIAN_FRONTEND": "noninteractive"}
    else:
        argv = [manager, "-y", "-q", "upgrade", "--", *names]
        env = {}
    result = ctx.run(argv, env=env, check=True, what=f"{manager} upgrade")
    return {
        "manager": manager,
        "packages": names,
        "exit_code": result.returncode,
        "output_tail": result.stdout.splitlines()[-60:],
    }


TOOLS = [
    Tool(
        name="package_updates_available",
        description="OS package updates pending (apt or dnf/yum, from the last metadata refresh), with a count of security updates.",
        risk=RISK_READ,
        parameters=params_schema(),
        func=package_updates_available,
        timeout_s=45,
    ),
    Tool(
        name="package_upgrades",
        description=(
            "Upgrade the named OS packages (apt-get install --only-upgrade, or dnf/yum upgrade). "
            "Keep the list short: a package manager stopped at the deadline may need 'dpkg --configure -a'."
        ),
        risk=RISK_MUTATE,
        parameters=params_schema(["packages"], packages={"type": "array", "items": PACKAGE}),
        func=package_upgrades,
        timeout_s=60,
    ),
]
