"""The state directory: keys, the signed documents as received, enrolment and status.

``agent_key.pem``   the host agent's RSA-3072 private key (0600)
``platform.pem``    the pinned platform signing key
``ca.pem``          the CA to trust for the platform's TLS, when given at enrolment
``enrollment.json`` server id, platform URL, enrolment time
``config.json``     the signed config document
``manifest.json``   the last verified signed manifest
``status.json``     what ``vixpro-agent status`` reads (written atomically)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vixpro_agent.protocol import signing

SYSTEM_STATE_DIR = Path("/var/lib/vixpro-agent")


class StateError(Exception):
    """The state directory is missing something it needs, or holds something unreadable."""


def default_state_dir() -> Path:
    if os.geteuid() == 0:
        return SYSTEM_STATE_DIR
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vixpro-agent"


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, value: Any, mode: int = 0o600) -> None:
    write_atomic(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8"), mode)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{path} is missing") from None
    except (OSError, ValueError) as exc:
        raise StateError(f"{path} cannot be read: {exc}") from exc


@dataclass(frozen=True)
class Enrollment:
    server_id: str
    platform_url: str
    enrolled_at: str
    ca_file: str | None


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.key_path = path / "agent_key.pem"
        self.platform_key_path = path / "platform.pem"
        self.ca_path = path / "ca.pem"
        self.enrollment_path = path / "enrollment.json"
        self.config_path = path / "config.json"
        self.manifest_path = path / "manifest.json"
        self.status_path = path / "status.json"

    def create(self) -> None:
        # An existing directory keeps its mode (it may be shared, e.g. a mistaken /tmp); the
        # files that matter are written 0600 whatever the directory.
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def is_enrolled(self) -> bool:
        return self.key_path.exists() and self.enrollment_path.exists()

    # keys
    def save_private_key(self, key: signing.PrivateKey) -> None:
        write_atomic(self.key_path, signing.private_pem(key), 0o600)

    def load_private_key(self) -> signing.PrivateKey:
        try:
            return signing.load_private_pem(self.key_path.read_bytes())
        except FileNotFoundError:
            raise StateError(f"{self.key_path} is missing: enrol first") from None
        except (OSError, ValueError, signing.SignatureError) as exc:
            raise StateError(f"{self.key_path} cannot be read: {exc}") from exc

    def save_platform_key(self, pem: str) -> None:
        write_atomic(self.platform_key_path, pem.encode("ascii"), 0o644)

    def load_platform_key(self) -> signing.PublicKey:
        try:
            return signing.load_public_pem(self.platform_key_path.read_text(encoding="ascii"))
        except FileNotFoundError:
            raise StateError(f"{self.platform_key_path} is missing: enrol first") from None
        except (OSError, ValueError, signing.SignatureError) as exc:
            raise StateError(f"{self.platform_key_path} cannot be read: {exc}") from exc

    # enrolment
    def save_enrollment(self, enrollment: Enrollment) -> None:
        write_json(self.enrollment_path, enrollment.__dict__, 0o644)

    def load_enrollment(self) -> Enrollment:
        data = read_json(self.enrollment_path)
        try:
            return Enrollment(
                server_id=str(data["server_id"]),
                platform_url=str(data["platform_url"]),
                enrolled_at=str(data["enrolled_at"]),
                ca_file=data.get("ca_file"),
            )
        except (KeyError, TypeError) as exc:
            raise StateError(f"{self.enrollment_path} is incomplete: {exc}") from exc

    # signed documents
    def save_config_document(self, document: Any) -> None:
        write_json(self.config_path, document, 0o600)

    def save_manifest_document(self, document: Any) -> None:
        write_json(self.manifest_path, document, 0o600)

    def load_manifest_document(self) -> Any:
        return read_json(self.manifest_path)

    # status
    def write_status(self, status: dict[str, Any]) -> None:
        write_json(self.status_path, {**status, "updated_at": time.time()}, 0o644)

    def read_status(self) -> dict[str, Any]:
        try:
            value = read_json(self.status_path)
        except StateError:
            return {}
        return value if isinstance(value, dict) else {}
