"""Chat over the API: a question about a real server answered by the chat provider (the real
OpenAI SDK streaming from a scripted fake), streamed over Server-Sent Events with the tool call
and an inline approval, stored so that a reload shows the whole conversation."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from tests.ai import llm_setup
from tests.ai.llm_setup import KEY
from tests.ai.test_llm_reactive import set_chain
from tests.conftest import LiveServer, OrgInfo
from tests.fakes.llm_openai import FakeOpenAI
from tests.hub.agents import RunningAgent, bearer

# The organisation, its live host agent, the OpenAI fake and an API client (tests.ai.llm_setup).
org_key, hostagent, module_fake, fake, api = llm_setup.FIXTURES


def _events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a Server-Sent Events response."""
    event, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]
        elif line == "" and data:
            yield event, json.loads(data)
            event, data = "message", ""


def _conversation(api: httpx.Client, server_id: str) -> str:
    made = api.post("/api/v1/chat/conversations", json={"server_id": server_id})
    assert made.status_code == 201, made.text
    assert made.json()["title"].startswith("About ")
    return str(made.json()["id"])


def test_an_answer_streams_with_its_tool_call_and_an_inline_approval(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
) -> None:
    fake.reset()
    set_chain(live_server, org_key[0], "chat", [(fake, KEY)])
    required = api.patch("/api/v1/tools/system_overview", json={"approval_required": True})
    assert required.status_code == 200
    conversation = _conversation(api, hostagent.server_id)
    fake.tool_call("system_overview", {})
    fake.text("web-1 is healthy: load is low and memory is free.")
    seen: list[tuple[str, dict[str, Any]]] = []
    ready = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=live_server.url, headers=bearer(org_key[1])) as client,
            client.stream(
                "GET", f"/api/v1/chat/conversations/{conversation}/stream", timeout=30
            ) as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            for event, data in _events(response):
                seen.append((event, data))
                if event == "ready":
                    ready.set()
                if event == "message" and data["role"] == "approval":
                    api.post(
                        f"/api/v1/approvals/{data['data']['approval_id']}/decision",
                        json={"approve": True},
                    )
                if event == "done":
                    return

    listener = threading.Thread(target=listen)
    try:
        listener.start()
        assert ready.wait(10)
        asked = api.post(
            f"/api/v1/chat/conversations/{conversation}/messages",
            json={"message": "why is web-1 slow?"},
        )
        assert asked.status_code == 202, asked.text
        listener.join(60)
    finally:
        api.patch("/api/v1/tools/system_overview", json={"approval_required": False})
    assert not listener.is_alive()

    roles = [d["role"] for e, d in seen if e == "message"]
    assert roles == ["user", "approval", "tool", "assistant"]
    streamed = "".join(d["text"] for e, d in seen if e == "delta")
    assert streamed == "web-1 is healthy: load is low and memory is free."
    assert [e for e, _ in seen][-1] == "done"
    tool = next(d for e, d in seen if e == "message" and d["role"] == "tool")
    execution = api.get(f"/api/v1/executions/{tool['data']['execution_id']}").json()
    assert execution["status"] == "succeeded" and execution["area"] == "chat"
    assert all(r.body.get("stream") is True for r in fake.requests)

    # A reload shows the stored conversation, the answer's history kept server-side.
    stored = api.get(f"/api/v1/chat/conversations/{conversation}").json()
    assert [m["role"] for m in stored["messages"]] == roles
    assert stored["messages"][-1]["content"] == streamed
    assert "history" not in stored["messages"][-1]["data"]

    # The next question continues the conversation.
    fake.reset()
    fake.text("Yes, still healthy.")
    api.post(f"/api/v1/chat/conversations/{conversation}/messages", json={"message": "still fine?"})
    _wait_for_roles(api, conversation, [*roles, "user", "assistant"])
    sent = json.dumps(fake.requests[0].body["messages"])
    assert "why is web-1 slow?" in sent and "web-1 is healthy" in sent and "still fine?" in sent


def _wait_for_roles(api: httpx.Client, conversation: str, roles: list[str]) -> None:
    got: list[str] = []
    for _ in range(200):
        got = [
            m["role"]
            for m in api.get(f"/api/v1/chat/conversations/{conversation}").json()["messages"]
        ]
        if got == roles:
            return
        time.sleep(0.05)
    raise AssertionError(f"conversation has {got}, expected {roles}")


def test_without_a_chat_provider_the_answer_says_how_to_set_one_up(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    api: httpx.Client,
) -> None:
    set_chain(live_server, org_key[0], "chat", [])
    conversation = _conversation(api, hostagent.server_id)
    api.post(f"/api/v1/chat/conversations/{conversation}/messages", json={"message": "hi"})
    _wait_for_roles(api, conversation, ["user", "error"])
    messages = api.get(f"/api/v1/chat/conversations/{conversation}").json()["messages"]
    assert "No AI provider is set up for chat" in messages[-1]["content"]


def test_empty_questions_and_unknown_servers_are_refused_with_the_reason(
    hostagent: RunningAgent, api: httpx.Client
) -> None:
    conversation = _conversation(api, hostagent.server_id)
    empty = api.post(f"/api/v1/chat/conversations/{conversation}/messages", json={"message": "   "})
    assert empty.status_code == 422
    assert empty.headers["content-type"].startswith("application/problem+json")
    assert "message" in empty.text
    unknown = api.post("/api/v1/chat/conversations", json={"server_id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and "server" in unknown.json()["detail"]


def test_a_question_about_the_fleet_runs_a_tool_on_the_server_the_model_names(
    live_server: LiveServer,
    org_key: tuple[OrgInfo, str],
    hostagent: RunningAgent,
    fake: FakeOpenAI,
    api: httpx.Client,
) -> None:
    fake.reset()
    set_chain(live_server, org_key[0], "chat", [(fake, KEY)])
    name = api.get(f"/api/v1/servers/{hostagent.server_id}").json()["name"]
    made = api.post("/api/v1/chat/conversations", json={})
    assert made.status_code == 201 and made.json()["server_id"] is None
    conversation = made.json()["id"]
    fake.tool_call("load_uptime", {"server": name})
    fake.text("All quiet across the fleet.")
    api.post(
        f"/api/v1/chat/conversations/{conversation}/messages",
        json={"message": "is anything overloaded?"},
    )
    _wait_for_roles(api, conversation, ["user", "tool", "assistant"])
    tools = {t["function"]["name"]: t["function"] for t in fake.requests[0].body["tools"]}
    assert "list_servers" in tools
    assert tools["load_uptime"]["parameters"]["properties"]["server"]["enum"] == [name]
    tool = api.get(f"/api/v1/chat/conversations/{conversation}").json()["messages"][1]
    assert tool["content"] == f"Ran load_uptime on {name}"
    execution = api.get(f"/api/v1/executions/{tool['data']['execution_id']}").json()
    assert execution["server_id"] == hostagent.server_id and execution["status"] == "succeeded"
    told = next(m for m in fake.requests[1].body["messages"] if m["role"] == "tool")
    assert str(told["content"]).startswith(f"server: {name}")
