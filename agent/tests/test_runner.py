from __future__ import annotations

import asyncio
import json
import math
import time

import psutil

from fakes.waiting import wait_until
from vixpro_agent.manifest import ManifestStore, verify_manifest
from vixpro_agent.protocol import messages
from vixpro_agent.runner import Runner
from vixpro_agent.tools.base import RISK_MUTATE, RISK_READ, Refused, Tool, params_schema
from vixpro_agent.tools.registry import builtin_specs, implementations

MARK_A = "41.0717"  # unusual sleep lengths: find the children again in the process table
MARK_B = "42.0717"


def spawn_tree(params, ctx):
    # A shell with two sleeping children, one of which leaves the process group (setsid):
    # killing the group alone would leave it running.
    ctx.run(["sh", "-c", f"sleep {MARK_A} & setsid sleep {MARK_B} & wait"])
    return {"finished": True}


def big_output(params, ctx):
    return {"items": [{"n": i, "text": "x" * 100} for i in range(5000)], "summary": "many"}


def crashing(params, ctx):
    raise ValueError("boom at line 3")


def not_json(params, ctx):
    return {"value": math.nan}


def slow(params, ctx):
    time.sleep(0.3)
    return {"slept": True}


def refusing(params, ctx):
    raise Refused("no thanks", {"why": "test"})


EXTRA = [
    Tool(
        "spawn_tree",
        "spawns sleeping children",
        RISK_READ,
        params_schema(),
        spawn_tree,
        timeout_s=1,
    ),
    Tool("big_output", "returns a lot", RISK_READ, params_schema(), big_output),
    Tool("crashing", "raises", RISK_READ, params_schema(), crashing),
    Tool("not_json", "returns NaN", RISK_READ, params_schema(), not_json),
    Tool("slow", "sleeps", RISK_READ, params_schema(), slow),
    Tool("refusing", "refuses", RISK_MUTATE, params_schema(), refusing),
]


def sleepers():
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if (MARK_A in cmdline or MARK_B in cmdline) and process.info[
            "status"
        ] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


async def test_result_has_every_protocol_field(call_tool):
    result = await call_tool("memory_swap")
    assert set(result) == {
        "type",
        "id",
        "ok",
        "output",
        "error",
        "error_kind",
        "duration_ms",
        "truncated",
    }
    assert result["type"] == messages.TOOL_RESULT
    assert result["id"] == "call-1"
    assert result["ok"] is True
    assert result["error"] is None and result["error_kind"] is None
    assert isinstance(result["duration_ms"], int)


async def test_unknown_tool_is_refused(call_tool):
    result = await call_tool("rm_rf")
    assert result["ok"] is False
    assert result["error_kind"] == messages.ERR_UNKNOWN_TOOL
    assert "not in the verified manifest" in result["error"]


async def test_tool_missing_from_manifest_is_refused_even_if_implemented(
    platform_key, manifest_doc
):
    specs = [s for s in builtin_specs() if s["name"] != "memory_swap"]
    key = platform_key.public_key()
    store = ManifestStore(key, verify_manifest(manifest_doc(1, specs), key))
    runner = Runner(store, guard=_Guard())
    result = await runner.run({"id": "1", "tool": "memory_swap", "params": {}, "deadline_ms": 1000})
    assert result["error_kind"] == messages.ERR_UNKNOWN_TOOL


async def test_no_manifest_refuses_everything(platform_key):
    runner = Runner(ManifestStore(platform_key.public_key()), guard=_Guard())
    result = await runner.run({"id": "1", "tool": "memory_swap", "params": {}})
    assert result["error_kind"] == messages.ERR_UNKNOWN_TOOL


async def test_params_failing_the_schema_are_refused_naming_the_field(call_tool):
    result = await call_tool("process_details", {"pid": "one"})
    assert result["error_kind"] == messages.ERR_BAD_PARAMS
    assert result["error"] == "params.pid: must be an integer"
    result = await call_tool("top_processes_cpu", {"limit": 10, "shell": "rm -rf /"})
    assert result["error"] == "params.shell: is not an allowed parameter"


async def test_malformed_call_is_refused(call_tool, platform_key, manifest_doc):
    key = platform_key.public_key()
    runner = Runner(ManifestStore(key, verify_manifest(manifest_doc(), key)), guard=_Guard())
    result = await runner.run({"id": "x", "tool": "memory_swap", "params": [], "deadline_ms": 100})
    assert result["error_kind"] == messages.ERR_BAD_PARAMS
    result = await runner.run({"id": "x", "tool": "memory_swap", "deadline_ms": -1})
    assert result["error"] == "tool_call.deadline_ms: must be a positive number"


async def test_deadline_kills_the_whole_process_tree(call_tool):
    started = time.monotonic()
    result = await call_tool("spawn_tree", extra=EXTRA)
    elapsed = time.monotonic() - started
    assert result["ok"] is False
    assert result["error_kind"] == messages.ERR_TIMEOUT
    assert 0.9 < elapsed < 3
    assert wait_until(lambda: not sleepers(), timeout=3), [p.info for p in sleepers()]


async def test_call_deadline_shorter_than_tool_timeout_wins(call_tool):
    result = await call_tool("spawn_tree", extra=EXTRA, deadline_ms=300)
    assert result["error_kind"] == messages.ERR_TIMEOUT
    assert result["duration_ms"] < 900
    assert wait_until(lambda: not sleepers(), timeout=3)


async def test_cancelled_call_kills_its_process_tree(call_tool):
    task = asyncio.ensure_future(call_tool("spawn_tree", extra=EXTRA))
    await asyncio.sleep(0.3)
    assert sleepers()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert wait_until(lambda: not sleepers(), timeout=3)


async def test_large_output_is_truncated_to_valid_json_within_the_limit(call_tool):
    result = await call_tool("big_output", extra=EXTRA, output_limit=64 * 1024)
    assert result["ok"] is True
    assert result["truncated"] is True
    encoded = json.dumps(result["output"], ensure_ascii=False, separators=(",", ":"))
    assert len(encoded.encode()) <= 64 * 1024
    assert 10 <= len(result["output"]["items"]) < 5000
    assert result["output"]["items"][0] == {"n": 0, "text": "x" * 100}
    assert "lists keep their first" in result["output"]["_truncated"]


async def test_small_output_is_not_truncated(call_tool):
    result = await call_tool("big_output", extra=EXTRA, output_limit=10 * 1024 * 1024)
    assert result["truncated"] is False
    assert len(result["output"]["items"]) == 5000


async def test_exception_becomes_crashed_without_traceback(call_tool):
    result = await call_tool("crashing", extra=EXTRA)
    assert result["ok"] is False
    assert result["error_kind"] == messages.ERR_CRASHED
    assert result["error"] == "ValueError: boom at line 3"
    assert "Traceback" not in json.dumps(result)


async def test_output_that_is_not_json_is_a_crash(call_tool):
    result = await call_tool("not_json", extra=EXTRA)
    assert result["error_kind"] == messages.ERR_CRASHED


async def test_tool_error_keeps_its_kind_and_output(call_tool):
    result = await call_tool("refusing", extra=EXTRA)
    assert result["error_kind"] == messages.ERR_REFUSED
    assert result["error"] == "no thanks"
    assert result["output"] == {"why": "test"}


async def test_mutate_tools_refused_while_tampered_read_tools_allowed(call_tool):
    result = await call_tool("refusing", extra=EXTRA, tampered=True)
    assert result["error_kind"] == messages.ERR_REFUSED
    assert "tampering" in result["error"]
    assert (await call_tool("memory_swap", tampered=True))["ok"] is True


async def test_version_mismatch_between_manifest_and_implementation_is_refused(
    platform_key, manifest_doc
):
    specs = builtin_specs()
    for spec in specs:
        if spec["name"] == "memory_swap":
            spec["version"] = "99"
    key = platform_key.public_key()
    runner = Runner(
        ManifestStore(key, verify_manifest(manifest_doc(1, specs), key)), guard=_Guard()
    )
    result = await runner.run({"id": "1", "tool": "memory_swap", "params": {}})
    assert result["error_kind"] == messages.ERR_UNKNOWN_TOOL
    assert "version 99" in result["error"]


async def test_calls_run_concurrently(call_tool):
    started = time.monotonic()
    results = await asyncio.gather(*(call_tool("slow", extra=EXTRA) for _ in range(5)))
    assert all(r["ok"] for r in results)
    assert time.monotonic() - started < 1.2


async def test_call_in_flight_finishes_on_the_manifest_it_started_with(platform_key, manifest_doc):
    key = platform_key.public_key()
    tools = dict(implementations())
    tools["slow"] = EXTRA[4]
    with_slow = [*builtin_specs(), EXTRA[4].spec()]
    store = ManifestStore(key, verify_manifest(manifest_doc(1, with_slow), key))
    runner = Runner(store, guard=_Guard(), tools=tools)
    in_flight = asyncio.ensure_future(runner.run({"id": "a", "tool": "slow", "params": {}}))
    await asyncio.sleep(0.05)
    assert store.offer(manifest_doc(2, builtin_specs())) is not None  # v2 drops "slow"
    assert (await in_flight)["ok"] is True
    later = await runner.run({"id": "b", "tool": "slow", "params": {}})
    assert later["error_kind"] == messages.ERR_UNKNOWN_TOOL


class _Guard:
    tampered = False
    config = None
