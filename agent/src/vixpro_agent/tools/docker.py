"""Docker containers: list, logs, restart (through the docker CLI)."""

from __future__ import annotations

import json
from typing import Any

from vixpro_agent.tools.base import (
    RISK_MUTATE,
    RISK_READ,
    CommandResult,
    Failed,
    Params,
    Tool,
    ToolContext,
    Unavailable,
    fit_lines,
    params_schema,
)

# Container names and ids; starts with an alphanumeric so it can never be read as an option.
CONTAINER = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    "description": "Container name or id",
}
DAEMON_DOWN = (
    "cannot connect to the docker daemon",
    "is the docker daemon running",
    "permission denied",
)


def _docker(argv: list[str], ctx: ToolContext, what: str) -> CommandResult:
    result = ctx.run(["docker", *argv])
    if result.returncode != 0:
        detail = result.stderr.strip()
        if any(marker in detail.lower() for marker in DAEMON_DOWN):
            raise Unavailable(f"Docker is not reachable: {detail[:500]}")
        if "no such container" in detail.lower():
            raise Failed(detail[:500])
        raise result.failure(what)
    return result


def docker_containers(params: Params, ctx: ToolContext) -> dict[str, Any]:
    argv = ["ps", "--no-trunc", "--format", "{{json .}}"]
    if params["all"]:
        argv.insert(1, "--all")
    result = _docker(argv, ctx, "docker ps")
    containers = []
    for line in result.stdout.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        containers.append(
            {
                "id": str(row.get("ID", ""))[:12],
                "name": row.get("Names"),
                "image": row.get("Image"),
                "state": row.get("State"),
                "status": row.get("Status"),
                "created_at": row.get("CreatedAt"),
                "ports": row.get("Ports"),
                "command": str(row.get("Command", ""))[:300],
            }
        )
    return {
        "containers": containers,
        "count": len(containers),
        "running": sum(1 for c in containers if c["state"] == "running"),
    }


def docker_container_logs(params: Params, ctx: ToolContext) -> dict[str, Any]:
    argv = ["logs", "--timestamps", "--tail", str(params["lines"])]
    if params.get("since_minutes"):
        argv += ["--since", f"{params['since_minutes']}m"]
    result = _docker([*argv, "--", params["container"]], ctx, "docker logs")
    budget = max(ctx.output_limit - 4096, 1024) // 2
    # The container's stdout and stderr arrive on the CLI's stdout and stderr.
    stdout, stdout_omitted = fit_lines(result.stdout.splitlines(), budget)
    stderr, stderr_omitted = fit_lines(result.stderr.splitlines(), budget)
    return {
        "container": params["container"],
        "stdout": stdout,
        "stderr": stderr,
        "omitted_older": stdout_omitted + stderr_omitted,
    }


def restart_docker_container(params: Params, ctx: ToolContext) -> dict[str, Any]:
    container = params["container"]
    _docker(
        ["restart", "--time", str(params["stop_timeout_s"]), "--", container], ctx, "docker restart"
    )
    inspect = _docker(
        ["inspect", "--format", "{{json .State}}", "--", container], ctx, "docker inspect"
    )
    try:
        state = json.loads(inspect.stdout)
    except ValueError:
        state = {}
    return {
        "container": container,
        "restarted": True,
        "status": state.get("Status"),
        "started_at": state.get("StartedAt"),
        "restart_count": state.get("RestartCount"),
    }


TOOLS = [
    Tool(
        name="docker_containers",
        description="Docker containers with image, state, status, ports and creation time.",
        risk=RISK_READ,
        parameters=params_schema(
            all={"type": "boolean", "default": True, "description": "Include stopped containers"}
        ),
        func=docker_containers,
        timeout_s=20,
    ),
    Tool(
        name="docker_container_logs",
        description="The latest log lines of a Docker container (stdout and stderr, with timestamps).",
        risk=RISK_READ,
        parameters=params_schema(
            ["container"],
            container=CONTAINER,
            lines={"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
            since_minutes={"type": "integer", "minimum": 1, "maximum": 43200},
        ),
        func=docker_container_logs,
        timeout_s=30,
    ),
    Tool(
        name="restart_docker_container",
        description="Restart a Docker container (docker restart) and report its state afterwards.",
        risk=RISK_MUTATE,
        parameters=params_schema(
            ["container"],
            container=CONTAINER,
            stop_timeout_s={"type": "integer", "minimum": 0, "maximum": 30, "default": 10},
        ),
        func=restart_docker_container,
        timeout_s=60,
    ),
]
