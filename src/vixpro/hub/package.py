"""The host-agent wheel the platform serves to servers, built from the running version.

It is assembled from the installed ``vixpro_agent`` package and its metadata, so what a server
installs is exactly what this platform speaks.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import vixpro_agent

DIST = "vixpro-agent"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


@lru_cache(maxsize=1)
def agent_wheel() -> tuple[str, bytes]:
    """(file name, wheel bytes) for ``pip install``."""
    meta = metadata.metadata(DIST)
    version = meta["Version"]
    dist_info = f"vixpro_agent-{version}.dist-info"
    files: list[tuple[str, bytes]] = []
    root = Path(vixpro_agent.__file__).parent
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and "__pycache__" not in path.parts
            and path.suffix in (".py", ".typed", ".template", ".service")
        ):
            files.append((f"vixpro_agent/{path.relative_to(root).as_posix()}", path.read_bytes()))
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {DIST}",
        f"Version: {version}",
        f"Summary: {meta['Summary'] or ''}",
        f"Requires-Python: {meta['Requires-Python'] or '>=3.9'}",
    ]
    lines += [f"Requires-Dist: {req}" for req in (metadata.requires(DIST) or [])]
    files.append((f"{dist_info}/METADATA", ("\n".join(lines) + "\n").encode()))
    files.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: vixpro\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    scripts = [
        ep for ep in metadata.distribution(DIST).entry_points if ep.group == "console_scripts"
    ]
    entry = "[console_scripts]\n" + "".join(f"{ep.name} = {ep.value}\n" for ep in scripts)
    files.append((f"{dist_info}/entry_points.txt", entry.encode()))
    record = [_record_line(name, data) for name, data in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            wheel.writestr(info, data)
    return f"vixpro_agent-{version}-py3-none-any.whl", buffer.getvalue()
