"""``vixpro-agent``: enrol this server, run the host agent, show its status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from vixpro_agent import __version__
from vixpro_agent.agent import TAMPER_INTERVAL_S, HostAgent
from vixpro_agent.config import ConfigError, read_config_file
from vixpro_agent.connection import Connection
from vixpro_agent.enrollment import EnrollError, enroll
from vixpro_agent.manifest import ManifestError, verify_manifest
from vixpro_agent.state import StateDir, StateError, default_state_dir
from vixpro_agent.tls import client_context

TOKEN_ENV = "VIXPRO_ENROLL_TOKEN"  # noqa: S105 - the name of a variable, not a secret
TAMPER_INTERVAL_ENV = "VIXPRO_AGENT_TAMPER_INTERVAL"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vixpro-agent", description="The VixPro host agent.")
    parser.add_argument("--version", action="version", version=f"vixpro-agent {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_state_dir(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--state-dir",
            type=Path,
            default=None,
            help=f"where keys and signed documents live (default: {default_state_dir()})",
        )

    enroll_cmd = commands.add_parser("enroll", help="enrol this server with a one-time token")
    enroll_cmd.add_argument(
        "--server", required=True, help="the platform URL, e.g. https://vixpro.example.com"
    )
    enroll_cmd.add_argument(
        "--token", default=None, help=f"the one-time enrolment token (or set {TOKEN_ENV})"
    )
    enroll_cmd.add_argument(
        "--ca-file",
        default=None,
        help="PEM CA certificate that signed the platform's TLS certificate",
    )
    enroll_cmd.add_argument(
        "--force", action="store_true", help="enrol again, replacing the existing key"
    )
    with_state_dir(enroll_cmd)

    run_cmd = commands.add_parser("run", help="connect to the platform and serve tool calls")
    with_state_dir(run_cmd)
    run_cmd.add_argument(
        "--tamper-interval",
        type=float,
        default=None,
        help=f"seconds between config signature checks (default {TAMPER_INTERVAL_S:g}, or ${TAMPER_INTERVAL_ENV})",
    )
    run_cmd.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )

    status_cmd = commands.add_parser("status", help="show connection, manifest and config state")
    with_state_dir(status_cmd)
    status_cmd.add_argument("--json", action="store_true", help="print the status as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    state = StateDir(args.state_dir or default_state_dir())
    if args.command == "enroll":
        return cmd_enroll(args, state)
    if args.command == "run":
        return cmd_run(args, state)
    return cmd_status(args, state)


def cmd_enroll(args: argparse.Namespace, state: StateDir) -> int:
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        print(
            f"vixpro-agent: an enrolment token is needed: --token or {TOKEN_ENV}", file=sys.stderr
        )
        return 2
    try:
        result = enroll(args.server, token, state, ca_file=args.ca_file, force=args.force)
    except EnrollError as exc:
        print(f"vixpro-agent: {exc}", file=sys.stderr)
        return 1
    print(
        f"Enrolled as server {result.enrollment.server_id} with {result.enrollment.platform_url}; "
        f"manifest version {result.manifest.version} ({len(result.manifest.tools)} tools). "
        f"State in {state.path}."
    )
    return 0


def _tamper_interval(args: argparse.Namespace) -> float:
    if args.tamper_interval is not None:
        return float(args.tamper_interval)
    raw = os.environ.get(TAMPER_INTERVAL_ENV)
    try:
        return float(raw) if raw else TAMPER_INTERVAL_S
    except ValueError:
        return TAMPER_INTERVAL_S


def cmd_run(args: argparse.Namespace, state: StateDir) -> int:
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    if not state.is_enrolled():
        print(
            f"vixpro-agent: {state.path} holds no enrolment: run 'vixpro-agent enroll' first",
            file=sys.stderr,
        )
        return 2
    try:
        agent = HostAgent(state, tamper_interval=_tamper_interval(args))
    except StateError as exc:
        print(f"vixpro-agent: {exc}", file=sys.stderr)
        return 2
    url = agent.enrollment.platform_url
    context = client_context(agent.enrollment.ca_file) if url.startswith("https://") else None
    asyncio.run(serve(agent, Connection(agent, url, context)))
    return 0


async def serve(
    agent: HostAgent, connection: Connection, stop: asyncio.Event | None = None
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop``): the connection plus the periodic checks."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    background = [
        asyncio.ensure_future(agent.check_tamper_forever()),
        asyncio.ensure_future(agent.refresh_facts_forever()),
    ]
    logging.getLogger("vixpro_agent").info(
        "vixpro-agent %s starting (pid %d)", __version__, os.getpid()
    )
    try:
        await connection.run(stop)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)
        agent.write_status(connected=False, connected_since=None, stopped_at=time.time())
        logging.getLogger("vixpro_agent").info("vixpro-agent stopped")


def _pid_alive(status: dict[str, Any]) -> bool:
    pid = status.get("pid")
    if not isinstance(pid, int) or status.get("stopped_at"):
        return False
    try:
        process = psutil.Process(pid)
        # A pid reused by a later process was created after our last status write.
        updated = status.get("updated_at")
        return process.status() != psutil.STATUS_ZOMBIE and (
            not isinstance(updated, (int, float)) or process.create_time() <= updated + 1
        )
    except psutil.Error:
        return False


def collect_status(state: StateDir) -> dict[str, Any]:
    status = state.read_status()
    running = _pid_alive(status)
    report: dict[str, Any] = {
        "enrolled": state.is_enrolled(),
        "state_dir": str(state.path),
        "running": running,
        "connected": bool(status.get("connected")) and running,
        "server_id": status.get("server_id"),
        "platform_url": status.get("platform_url"),
        "manifest_version": status.get("manifest_version"),
        "last_connected_at": status.get("last_connected_at"),
        "last_error": status.get("last_error"),
        "tampered": bool(status.get("tampered")),
        "tamper_detail": status.get("tamper_detail"),
    }
    if report["enrolled"]:
        try:
            enrollment = state.load_enrollment()
            report["server_id"] = enrollment.server_id
            report["platform_url"] = enrollment.platform_url
            platform_key = state.load_platform_key()
            if report["manifest_version"] is None:  # the agent has not run since enrolment
                with contextlib.suppress(StateError, ManifestError):
                    manifest = verify_manifest(state.load_manifest_document(), platform_key)
                    report["manifest_version"] = manifest.version
            _document, config = read_config_file(state.config_path, platform_key)
            report["config_version"] = config.version
            report["config_verified"] = not report["tampered"]
        except (ConfigError, StateError) as exc:
            report["config_verified"] = False
            report["config_error"] = str(exc)
    return report


def _when(timestamp: Any) -> str:
    if not isinstance(timestamp, (int, float)):
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(timestamp))


def cmd_status(args: argparse.Namespace, state: StateDir) -> int:
    report = collect_status(state)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0 if report["connected"] else 1
    if not report["enrolled"]:
        print(f"Not enrolled (state directory {state.path}).")
        return 1
    print(f"Server:      {report['server_id']} at {report['platform_url']}")
    if report["connected"]:
        connection = "connected"
    elif report["running"]:
        connection = "not connected (the host agent is running and retrying)"
    else:
        connection = "not connected (the host agent is not running)"
    print(f"Connection:  {connection}; last connected {_when(report['last_connected_at'])}")
    print(f"Manifest:    version {report['manifest_version'] or 'none'}")
    if report.get("config_error"):
        print(
            f"Config:      FAILED verification: {report['config_error']} (mutating tools refused)"
        )
    elif report["tampered"]:
        print(f"Config:      TAMPERED: {report['tamper_detail']} (mutating tools refused)")
    else:
        print(f"Config:      verified (version {report.get('config_version')})")
    print(f"Last error:  {report['last_error'] or 'none'}")
    return 0 if report["connected"] else 1


if __name__ == "__main__":
    sys.exit(main())
