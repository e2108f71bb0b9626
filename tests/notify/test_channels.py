"""Each channel through its real client code against a local server that speaks the service's
API; the requests received are checked exactly."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.notify_services import FakeServices
from vixpro.notify import pagerduty, twilio, webhook
from vixpro.notify.base import ChannelError, Context, Message
from vixpro.notify.registry import SENDERS
from vixpro.settings import Settings

INCIDENT = uuid.uuid4()


def _message(kind: str = "incident.opened", **data: object) -> Message:
    return Message(
        kind=kind,
        title="#7 opened: Disk full on web-1",
        body="/var is 100% full",
        url=f"https://vixpro.example.com/incidents/{INCIDENT}",
        org_name="Acme",
        subject_id=INCIDENT,
        data={
            "incident_id": str(INCIDENT),
            "severity": "critical",
            "source": "alertmanager",
            **data,
        },
    )


@pytest.fixture
async def context(settings: Settings) -> AsyncIterator[Context]:
    quick = settings.model_copy(update={"notify_timeout_seconds": 1.0})
    async with httpx.AsyncClient(timeout=1.0) as client:
        yield Context(settings=quick, client=client)


def _secret(kind: str, **values: object) -> object:
    model = SENDERS[kind].Secret
    assert model is not None
    return model.model_validate(values)


def _config(kind: str, **values: object) -> object:
    return SENDERS[kind].Config.model_validate(values)


async def test_slack_gets_a_block_kit_message_with_a_link_back(
    services: FakeServices, context: Context
) -> None:
    url = services.slack_url()
    sent = await SENDERS["slack"].send(
        _message(), _config("slack"), _secret("slack", webhook_url=url), context
    )
    assert (sent.status, sent.response) == (200, "ok")
    request = [r for r in services.of("slack") if url.endswith(r.path)][-1]
    body = request.json
    assert body["text"] == "#7 opened: Disk full on web-1"
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context", "actions"]
    button = body["blocks"][-1]["elements"][0]
    assert button["url"] == f"https://vixpro.example.com/incidents/{INCIDENT}"
    assert request.headers["content-type"] == "application/json"


async def test_a_deleted_slack_webhook_is_a_permanent_failure(
    services: FakeServices, context: Context
) -> None:
    gone = f"{services.url}/slack/services/T0/B0/deleted"
    with pytest.raises(ChannelError) as caught:
        await SENDERS["slack"].send(
            _message(), _config("slack"), _secret("slack", webhook_url=gone), context
        )
    assert caught.value.permanent and caught.value.status == 404
    assert caught.value.response == "no_service"
    assert "deleted" not in str(caught.value)  # the URL (the secret) is never in the message


async def test_a_server_error_or_a_hang_is_worth_retrying(
    services: FakeServices, context: Context
) -> None:
    url = services.slack_url()
    secret = _secret("slack", webhook_url=url)
    services.fail("/slack/", 503)
    with pytest.raises(ChannelError) as caught:
        await SENDERS["slack"].send(_message(), _config("slack"), secret, context)
    assert not caught.value.permanent and caught.value.status == 503
    services.hang("/slack/")
    with pytest.raises(ChannelError) as hung:
        await SENDERS["slack"].send(_message(), _config("slack"), secret, context)
    assert not hung.value.permanent and "did not answer in time" in str(hung.value)


async def test_pagerduty_triggers_acknowledges_and_resolves_one_dedup_key(
    services: FakeServices, context: Context
) -> None:
    key = services.routing_key()
    config = _config("pagerduty", events_url=f"{services.url}/pagerduty/v2/enqueue")
    secret = _secret("pagerduty", routing_key=key)
    before = len(services.of("pagerduty"))
    for kind in ("incident.opened", "incident.acknowledged", "incident.resolved"):
        sent = await SENDERS["pagerduty"].send(_message(kind), config, secret, context)
        assert sent.status == 202 and f"vixpro-{INCIDENT}" in sent.response
    trigger, ack, resolve = [r.json for r in services.of("pagerduty")[before:]]
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == key
    assert trigger["dedup_key"] == ack["dedup_key"] == resolve["dedup_key"] == f"vixpro-{INCIDENT}"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"] == "#7 opened: Disk full on web-1"
    assert trigger["links"] == [{"href": _message().url, "text": "Open in VixPro"}]
    assert ack == {
        "routing_key": key,
        "event_action": "acknowledge",
        "dedup_key": f"vixpro-{INCIDENT}",
    }
    assert resolve["event_action"] == "resolve" and "payload" not in resolve


async def test_pagerduty_refuses_an_unknown_routing_key_for_good(
    services: FakeServices, context: Context
) -> None:
    config = _config("pagerduty", events_url=f"{services.url}/pagerduty/v2/enqueue")
    with pytest.raises(ChannelError) as caught:
        await SENDERS["pagerduty"].send(
            _message(), config, _secret("pagerduty", routing_key="x" * 32), context
        )
    assert caught.value.permanent and caught.value.status == 400
    assert "routing_key" in caught.value.response


def test_pagerduty_events_without_an_incident_get_their_own_key() -> None:
    subject = uuid.uuid4()
    message = Message("approval.requested", "Approval", "", "https://x/approvals", "Acme", subject)
    assert pagerduty.dedup_key(message) == f"vixpro-approval.requested-{subject}"
    assert pagerduty.event(message, "k" * 32)["payload"]["severity"] == "warning"


async def test_twilio_sends_one_sms_per_number_with_basic_auth(
    services: FakeServices, context: Context
) -> None:
    sid, token = services.twilio_account()
    config = _config(
        "twilio",
        account_sid=sid,
        from_number="+14155550100",
        to_numbers=["+14155550101", "+447700900123"],
        api_url=f"{services.url}/twilio",
    )
    before = len(services.of("twilio"))
    sent = await SENDERS["twilio"].send(
        _message(), config, _secret("twilio", auth_token=token), context
    )
    assert sent.status == 201
    requests = services.of("twilio")[before:]
    assert [r.form["To"] for r in requests] == ["+14155550101", "+447700900123"]
    for request in requests:
        assert request.path == f"/twilio/2010-04-01/Accounts/{sid}/Messages.json"
        assert (
            request.headers["authorization"]
            == "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
        )
        assert request.form["From"] == "+14155550100"
        assert request.form["Body"] == f"VixPro: #7 opened: Disk full on web-1 - {_message().url}"


async def test_twilio_with_a_wrong_token_is_a_permanent_failure(
    services: FakeServices, context: Context
) -> None:
    sid, _ = services.twilio_account()
    config = _config(
        "twilio",
        account_sid=sid,
        from_number="+14155550100",
        to_numbers=["+14155550101"],
        api_url=f"{services.url}/twilio",
    )
    with pytest.raises(ChannelError) as caught:
        await SENDERS["twilio"].send(
            _message(), config, _secret("twilio", auth_token="w" * 32), context
        )
    assert (
        caught.value.permanent and caught.value.status == 401 and "20003" in caught.value.response
    )


def test_twilio_refuses_numbers_that_are_not_e164() -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        twilio.TwilioConfig.model_validate(
            {
                "account_sid": "AC" + "0" * 32,
                "from_number": "+14155550100",
                "to_numbers": ["555-0101"],
            }
        )


async def test_teams_gets_an_adaptive_card(services: FakeServices, context: Context) -> None:
    url = f"{services.url}/teams/workflows/{uuid.uuid4().hex}"
    sent = await SENDERS["teams"].send(
        _message(), _config("teams"), _secret("teams", webhook_url=url), context
    )
    assert sent.status == 202
    body = services.of("teams")[-1].json
    attachment = body["attachments"][0]
    assert body["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == _message().title
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in VixPro", "url": _message().url}
    ]


async def test_discord_gets_an_embed_that_mentions_nobody(
    services: FakeServices, context: Context
) -> None:
    url = f"{services.url}/discord/api/webhooks/123/{uuid.uuid4().hex}"
    sent = await SENDERS["discord"].send(
        _message(), _config("discord"), _secret("discord", webhook_url=url), context
    )
    assert sent.status == 204
    body = services.of("discord")[-1].json
    assert body["allowed_mentions"] == {"parse": []}
    assert body["embeds"][0]["url"] == _message().url
    assert body["embeds"][0]["color"] == 0xD93025  # critical: red


async def test_the_generic_webhook_is_signed_over_timestamp_and_body(
    services: FakeServices, context: Context
) -> None:
    url = f"{services.url}/hook/receiver"
    secret = _secret("webhook", url=url, signing_secret="s3cret-s3cret-s3cret")
    sent = await SENDERS["webhook"].send(_message(), _config("webhook"), secret, context)
    assert (sent.status, sent.response) == (200, "received")
    request = services.of("hook")[-1]
    timestamp = request.headers["x-vixpro-timestamp"]
    assert request.headers["x-vixpro-signature"] == webhook.sign(
        "s3cret-s3cret-s3cret", timestamp, request.body
    )
    assert (
        webhook.sign("another-secret-16chars", timestamp, request.body)
        != request.headers["x-vixpro-signature"]
    )
    document = request.json
    assert document["event"] == "incident.opened" and document["url"] == _message().url
    assert document["data"]["incident_id"] == str(INCIDENT)


async def test_a_target_that_answers_garbage_is_a_failure_worth_retrying(context: Context) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"\x00\xffthis is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        secret = _secret("webhook", url=f"http://127.0.0.1:{port}/x", signing_secret="g" * 16)
        with pytest.raises(ChannelError) as caught:
            await SENDERS["webhook"].send(_message(), _config("webhook"), secret, context)
    finally:
        server.close()
        await server.wait_closed()
    assert not caught.value.permanent and "could not reach the webhook" in str(caught.value)
