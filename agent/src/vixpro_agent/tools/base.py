"""What every built-in tool is made of: its spec, the context it runs in, and its errors.

A tool is a plain function ``(params, ctx) -> JSON-able value`` run in a thread by the
runner. Subprocesses go through :meth:`ToolContext.run`, which starts each one in its own
session so that the runner can kill the whole process tree when the deadline passes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import psutil

from vixpro_agent.config import AgentConfig
from vixpro_agent.protocol import messages

Params = dict[str, Any]
ToolFunction = Callable[[Params, "ToolContext"], Any]

RISK_READ = "read"
RISK_MUTATE = "mutate"

# Values that make subprocess output stable and parseable whatever the host's locale.
COMMAND_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "LANG": "C.UTF-8",
    "PAGER": "cat",
    "SYSTEMD_PAGER": "cat",
    "SYSTEMD_COLORS": "0",
    "NO_COLOR": "1",
}
# Subprocess output beyond this is cut: tools need the head of it, the platform gets 64 KiB.
MAX_COMMAND_OUTPUT = 4 * 1024 * 1024


class ToolError(Exception):
    """A tool ended without a normal result; ``kind`` is a protocol error_kind."""

    kind = messages.ERR_FAILED

    def __init__(self, message: str, output: Any = None) -> None:
        super().__init__(message)
        self.output = output


class Unavailable(ToolError):
    """What the tool needs (systemd, journald, Docker, apt...) is not on this host."""

    kind = messages.ERR_UNAVAILABLE


class Refused(ToolError):
    """The host agent will not do this: a path outside the allowed roots, pid 1, ..."""

    kind = messages.ERR_REFUSED


class Failed(ToolError):
    """The tool ran and what it ran reported failure."""

    kind = messages.ERR_FAILED


class BadParams(ToolError):
    """Parameters that pass the schema but make no sense together."""

    kind = messages.ERR_BAD_PARAMS


class DeadlineExceeded(ToolError):
    kind = messages.ERR_TIMEOUT


@dataclass(frozen=True)
class Tool:
    """A built-in tool: its signed-manifest spec and its implementation."""

    name: str
    description: str
    risk: str
    parameters: Mapping[str, Any]
    func: ToolFunction
    timeout_s: int = 30
    version: str = "1"

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "risk": self.risk,
            "parameters": _copy(self.parameters),
            "timeout_s": self.timeout_s,
        }


def params_schema(required: Sequence[str] = (), **properties: Mapping[str, Any]) -> dict[str, Any]:
    """An object schema that refuses parameters it does not declare."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
        "additionalProperties": False,
    }


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def failure(self, what: str) -> Failed:
        detail = (self.stderr.strip() or self.stdout.strip())[-2000:]
        return Failed(
            f"{what} failed (exit {self.returncode}): {detail}",
            {"exit_code": self.returncode, "stderr": self.stderr[-4000:]},
        )


@dataclass
class ToolContext:
    """Per-call context: the verified config, the deadline, and the subprocesses started."""

    config: AgentConfig | None
    deadline: float  # time.monotonic() value
    output_limit: int = messages.DEFAULT_OUTPUT_LIMIT
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cancelled: threading.Event = field(default_factory=threading.Event)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check_deadline(self) -> None:
        """Long pure-Python loops call this: threads cannot be killed, only asked to stop."""
        if self.cancelled or self.remaining() <= 0:
            raise DeadlineExceeded("the deadline passed")

    def require_config(self) -> AgentConfig:
        if self.config is None:
            raise Refused("this host agent has no verified config")
        return self.config

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        check: bool = False,
        what: str | None = None,
    ) -> CommandResult:
        """Run a fixed argument list (never a shell string) in its own session.

        Raises :class:`Unavailable` when the program is not installed, and
        :class:`DeadlineExceeded` when the deadline passes (the process tree is killed).
        """
        self.check_deadline()
        program = shutil.which(argv[0], path=COMMAND_ENV["PATH"])
        if program is None:
            raise Unavailable(f"{argv[0]} is not installed on this host")
        full_env = dict(COMMAND_ENV)
        if "HOME" in os.environ:
            full_env["HOME"] = os.environ["HOME"]
        full_env.update(env or {})
        process = subprocess.Popen(  # noqa: S603 - a fixed argument list, never a shell
            [program, *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            start_new_session=True,
        )
        with self._lock:
            self._processes.append(process)
        if self.cancelled:
            kill_process_tree(process)
        try:
            # A little grace past the deadline: the runner is the one that decides the
            # call timed out, and kills the tree; this only stops the thread waiting forever.
            stdout, stderr = process.communicate(timeout=max(self.remaining(), 0) + 1.0)
        except subprocess.TimeoutExpired:
            kill_process_tree(process)
            process.communicate()
            raise DeadlineExceeded("the deadline passed") from None
        finally:
            with self._lock:
                self._processes.remove(process)
        if self.cancelled:
            raise DeadlineExceeded("the deadline passed")
        result = CommandResult(
            argv=list(argv),
            returncode=process.returncode,
            stdout=_decode(stdout),
            stderr=_decode(stderr),
        )
        if check and result.returncode != 0:
            raise result.failure(what or argv[0])
        return result

    def cancel(self) -> None:
        """Called by the runner when the deadline passes: kill every process tree started."""
        self._cancelled.set()
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            kill_process_tree(process)


def kill_process_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a process started with ``start_new_session`` and every descendant.

    The group is stopped first so nothing forks while the tree is listed; descendants
    that left the group (``setsid``) are found through the tree and killed one by one.
    """
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGSTOP)
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    # No waiting for them afterwards: SIGKILL cannot be caught, and orphans that init has
    # not reaped yet would look alive (zombies) for as long as we waited.
    for child in descendants:
        with contextlib.suppress(psutil.Error):
            child.kill()


def _decode(data: bytes) -> str:
    return data[:MAX_COMMAND_OUTPUT].decode("utf-8", errors="replace")


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def resolve_under(path: str, roots: Sequence[str], what: str) -> str:
    """The real path of ``path`` if it lies under one of ``roots``, else :class:`Refused`.

    Symlinks are resolved first, so a link inside a root that points outside is refused.
    """
    if not roots:
        raise Refused(f"no {what} are configured for this host")
    if not os.path.isabs(path):
        raise Refused(f"{path} is not an absolute path")
    real = os.path.realpath(path)
    for root in roots:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real, real_root]) == real_root:
            return real
    raise Refused(f"{path} is not under the {what} ({', '.join(roots)})")


def iso_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def is_systemd_running() -> bool:
    # The same test as sd_booted(3): systemd creates this directory when it is PID 1.
    return os.path.isdir("/run/systemd/system")


def require_systemd() -> None:
    if not is_systemd_running():
        raise Unavailable("systemd is not running on this host (no /run/systemd/system)")


def fit_lines(lines: list[str], budget: int) -> tuple[list[str], int]:
    """Keep the newest lines that fit in ``budget`` bytes of JSON; return them and how many
    older ones were left out. Logs are read bottom-up, so the tail is what matters."""
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        size += len(line.encode("utf-8")) + 8  # quotes, comma, escapes (roughly)
        if size > budget:
            break
        kept.append(line)
    kept.reverse()
    return kept, len(lines) - len(kept)
