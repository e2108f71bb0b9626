"""The signed manifest: the tools this host agent may run, verified before it is used.

A pushed manifest replaces the current one only when it is signed by the pinned platform
key, strictly newer, and every tool spec is well-formed. The swap is one reference
assignment: a call in flight keeps the :class:`Manifest` it started with.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vixpro_agent.protocol import messages, signing
from vixpro_agent.protocol.canonical import canonical_json
from vixpro_agent.protocol.schema import SchemaError, check_schema

TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
RISKS = ("read", "mutate")
SPEC_KEYS = {"name", "version", "description", "risk", "parameters", "timeout_s"}


class ManifestError(Exception):
    """Why a manifest was refused; ``version`` is the refused version when it could be read."""

    def __init__(self, reason: str, version: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.version = version


@dataclass(frozen=True)
class Manifest:
    version: int
    issued_at: str
    tools: Mapping[str, Mapping[str, Any]]
    document: Mapping[str, Any]  # as received, to persist and to compare


def check_tool_spec(spec: Any, index: int) -> str:
    """Raise :class:`ManifestError` unless ``spec`` is a well-formed ToolSpec; return its name."""
    where = f"tools[{index}]"
    if not isinstance(spec, dict):
        raise ManifestError(f"{where}: must be an object")
    name = spec.get("name")
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        raise ManifestError(f"{where}.name: must be a snake_case name")
    where = f"tool {name}"
    missing = sorted(SPEC_KEYS - set(spec))
    if missing:
        raise ManifestError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if not isinstance(spec["version"], str) or not spec["version"]:
        raise ManifestError(f"{where}.version: must be a non-empty string")
    if not isinstance(spec["description"], str):
        raise ManifestError(f"{where}.description: must be a string")
    if spec["risk"] not in RISKS:
        raise ManifestError(f"{where}.risk: must be read or mutate")
    timeout = spec["timeout_s"]
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int)
        or not 1 <= timeout <= messages.MAX_TIMEOUT_S
    ):
        raise ManifestError(
            f"{where}.timeout_s: must be an integer from 1 to {messages.MAX_TIMEOUT_S}"
        )
    parameters = spec["parameters"]
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        raise ManifestError(f"{where}.parameters: must be an object schema")
    try:
        check_schema(parameters, f"{where}.parameters")
    except SchemaError as exc:
        raise ManifestError(str(exc)) from exc
    return name


def verify_manifest(document: Any, key: signing.PublicKey) -> Manifest:
    """The manifest in a signed document, or :class:`ManifestError` saying why not."""
    version = _claimed_version(document)
    try:
        body = signing.verify_document(key, document)
    except signing.SignatureError as exc:
        raise ManifestError(f"signature: {exc}", version) from exc
    if not isinstance(body, dict):
        raise ManifestError("body: must be an object", version)
    if version is None or version < 1:
        raise ManifestError("version: must be a positive integer")
    issued_at = body.get("issued_at")
    if not isinstance(issued_at, str):
        raise ManifestError("issued_at: must be a string", version)
    tools = body.get("tools")
    if not isinstance(tools, list):
        raise ManifestError("tools: must be a list", version)
    by_name: dict[str, Mapping[str, Any]] = {}
    for index, spec in enumerate(tools):
        try:
            name = check_tool_spec(spec, index)
        except ManifestError as exc:
            raise ManifestError(exc.reason, version) from exc
        if name in by_name:
            raise ManifestError(f"tool {name} appears twice", version)
        by_name[name] = spec
    return Manifest(version=version, issued_at=issued_at, tools=by_name, document=document)


def _claimed_version(document: Any) -> int | None:
    """The version a document claims, before verification: only for the refusal message."""
    body = document.get("body") if isinstance(document, dict) else None
    version = body.get("version") if isinstance(body, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


class ManifestStore:
    """The current verified manifest; :meth:`offer` swaps in a newer one."""

    def __init__(self, key: signing.PublicKey, current: Manifest | None = None) -> None:
        self._key = key
        self._current = current
        self._lock = threading.Lock()

    @property
    def current(self) -> Manifest | None:
        return self._current

    @property
    def version(self) -> int:
        return self._current.version if self._current else 0

    def offer(self, document: Any) -> Manifest | None:
        """Verify and adopt ``document``. Returns the new manifest, or None when it is the
        current one again (ignored); raises :class:`ManifestError` when refused."""
        manifest = verify_manifest(document, self._key)
        with self._lock:
            current = self._current
            if current is not None and manifest.version <= current.version:
                if manifest.version == current.version and _same_body(manifest, current):
                    return None
                raise ManifestError(
                    f"version {manifest.version} is not newer than the current version {current.version}",
                    manifest.version,
                )
            self._current = manifest
        return manifest


def _same_body(a: Manifest, b: Manifest) -> bool:
    return canonical_json(a.document["body"]) == canonical_json(b.document["body"])
