"""``POST /api/v1/webhooks/{token}``: where monitoring tools send alerts.

202 only once the alerts are committed. A payload that cannot be used is kept raw in
``rejected_payloads`` and answered 422 with the reason (401 for a bad signature). An unknown
token is 404 after the same work as a known one up to that point (hash, one indexed lookup).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from vixpro.core import jsontext
from vixpro.incidents import integrations, rejected
from vixpro.incidents.batch import body_needs_cleaning
from vixpro.incidents.ingest import Outcome, StoreError, Submission
from vixpro.ingest import pagerduty
from vixpro.ingest.base import Parsed, PayloadError, SignatureError, WebhookRequest
from vixpro.ingest.registry import ADAPTERS
from vixpro.web.deps import StateDep
from vixpro.web.fastpath import FastAnswer, FastRequest, FastRoute
from vixpro.web.problems import ApiError
from vixpro.web.state import AppState

router = APIRouter(tags=["webhooks"])
log = logging.getLogger("vixpro.webhooks")

CONFIRM_TIMEOUT_S = 10.0


def accepted_body(source: str, parsed: Parsed, outcome: Outcome) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "success",
        "message": "Event processed",
        "accepted": len(outcome.alert_ids),
        "suppressed": outcome.suppressed,
        "truncated": parsed.truncated,
        "incident_ids": [str(i) for i in outcome.incident_ids],
    }
    if source == "pagerduty":
        # Events API v2 senders read the dedup_key back from the answer.
        body.update(pagerduty.accepted_response(parsed))
    return body


async def _keep(
    state: AppState,
    resolved: integrations.Resolved,
    headers: Mapping[str, str],
    body: bytes,
    reason: str,
) -> uuid.UUID:
    async with state.db.tenant_session(resolved.org_id) as session:
        return await rejected.keep(
            session,
            org_id=resolved.org_id,
            integration_id=resolved.id,
            source=resolved.source,
            reason=reason,
            content_type=headers.get("content-type", ""),
            headers=headers,
            body=body,
        )


async def confirm_subscription(url: str) -> None:
    """Visit a subscription-confirmation URL (AWS SNS's SubscribeURL) that the adapter vetted."""
    async with httpx.AsyncClient(timeout=CONFIRM_TIMEOUT_S, follow_redirects=False) as client:
        response = await client.get(url)
    if response.status_code >= 300:
        raise PayloadError(
            f"confirming the subscription failed: the confirmation URL answered {response.status_code}"
        )


@router.post(
    "/webhooks/{token}",
    status_code=202,
    summary="Receive alerts from a monitoring tool (the integration's webhook URL)",
    responses={
        202: {"description": "the alerts are stored"},
        401: {"description": "signature missing or wrong (the payload is kept)"},
        404: {"description": "no integration has this token"},
        413: {"description": "body over 1 MiB"},
        422: {"description": "the payload cannot be used (kept, with the reason)"},
    },
)
async def receive(token: str, request: Request, state: StateDep) -> JSONResponse:
    status, body = await handle(
        state,
        token,
        await request.body(),
        {k.lower(): v for k, v in request.headers.items()},
        request.url.query,
    )
    return JSONResponse(body, status_code=status)


async def handle(
    state: AppState, token: str, body: bytes, headers: Mapping[str, str], query: str
) -> tuple[int, dict[str, Any]]:
    """One webhook delivery: (status, JSON body). Errors are ``ApiError`` (problem+json)."""
    token = token[:200]
    known, resolved = integrations.cached(token)
    if not known:
        resolved = await integrations.lookup(  # system role: webhook token lookup
            state.db.counter_connection, state.settings.master_key_bytes(), token
        )
    if resolved is None:
        raise ApiError(404, "no integration has this webhook URL", type_="not-found")
    if not resolved.enabled:
        raise ApiError(403, "this integration is disabled; enable it in VixPro to send alerts")
    adapter = ADAPTERS.get(resolved.source)
    if adapter is None:
        raise ApiError(422, f"this integration's source {resolved.source!r} is not supported")
    webhook = WebhookRequest(
        body=body, headers=headers, query=dict(parse_qsl(query)) if query else {}
    )
    try:
        parsed = adapter.parse(webhook, resolved.config)
        if parsed.handshake is not None:
            await confirm_subscription(parsed.handshake.confirm_url)
            return 200, {"status": "confirmed", "message": parsed.handshake.message}
        outcome = await state.ingest.submit(
            Submission(
                resolved.org_id,
                resolved.id,
                parsed.alerts,
                webhook.received_at,
                needs_cleaning=body_needs_cleaning(body),
            )
        )
    except SignatureError as exc:
        payload_id = await _keep(state, resolved, headers, body, str(exc))
        raise ApiError(401, str(exc), type_="bad-signature", rejected_id=str(payload_id)) from exc
    except (PayloadError, StoreError) as exc:
        payload_id = await _keep(state, resolved, headers, body, str(exc))
        raise ApiError(
            422, str(exc), type_="unusable-payload", rejected_id=str(payload_id)
        ) from exc
    except httpx.HTTPError as exc:
        reason = f"confirming the subscription failed: {type(exc).__name__}"
        payload_id = await _keep(state, resolved, headers, body, reason)
        raise ApiError(422, reason, type_="unusable-payload", rejected_id=str(payload_id)) from exc
    except Exception as exc:
        # An adapter bug must not lose the payload or answer 5xx to the monitoring tool.
        log.exception("the %s adapter failed on a payload", resolved.source)
        reason = f"the {adapter.title} payload could not be read ({type(exc).__name__})"
        payload_id = await _keep(state, resolved, headers, body, reason)
        raise ApiError(422, reason, type_="unusable-payload", rejected_id=str(payload_id)) from exc
    return 202, accepted_body(resolved.source, parsed, outcome)


async def _receive_fast(state: AppState, request: FastRequest) -> FastAnswer:
    """``receive`` for the fast path: webhooks are the one endpoint that floods (monitoring
    tools send thousands a second in an alert storm)."""
    status, answer = await handle(
        state, request.params["token"], request.body, request.headers, request.query
    )
    return FastAnswer(status, jsontext.dumps(answer).encode())


WEBHOOK_FAST = FastRoute("POST", "/api/v1/webhooks/{token}", _receive_fast)
