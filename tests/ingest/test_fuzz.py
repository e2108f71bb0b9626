"""Every adapter, fuzzed: whatever arrives, the answer is alerts or a PayloadError with a reason."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.ingest.mutation import junk, mutated
from vixpro.core.alerts import NormalizedAlert
from vixpro.ingest.base import IntegrationConfig, Parsed, PayloadError, WebhookRequest
from vixpro.ingest.registry import ADAPTERS


def _check(source: str, body: bytes) -> None:
    request = WebhookRequest(
        body=body,
        headers={"content-type": "application/json", "x-amz-sns-message-type": "Notification"},
    )
    try:
        parsed = ADAPTERS[source].parse(request, IntegrationConfig())
    except PayloadError as exc:
        assert str(exc).strip(), f"{source}: a refusal must say why"
        return
    assert isinstance(parsed, Parsed)
    for alert in parsed.alerts:
        assert isinstance(alert, NormalizedAlert)
        assert alert.title.strip() and alert.fingerprint


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_fixtures_give_alerts_or_a_reason(case: tuple[str, bytes]) -> None:
    _check(*case)


@settings(max_examples=500, deadline=None)
@given(junk())
def test_junk_gives_a_reason(case: tuple[str, bytes]) -> None:
    _check(*case)
