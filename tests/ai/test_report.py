"""The DiagnosisReport's rules: escalation needs a reason, a root cause needs evidence."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from vixpro.ai.report import DiagnosisReport, Evidence, RecommendedAction


def test_a_diagnosed_report_round_trips() -> None:
    report = DiagnosisReport(
        summary="/var is 95% full.",
        root_cause="/var/log holds 40 GiB",
        confidence=0.9,
        evidence=[Evidence(execution_id=uuid.uuid4(), tool="disk_usage", finding="95% full")],
        recommended_actions=[
            RecommendedAction(
                tool="delete_old_files",
                params={"path": "/var/log", "older_than_days": 7},
                reason="free space",
                risk="mutate",
            )
        ],
        escalate=False,
        outcome="diagnosed",
        engine="runbook:disk",
    )
    assert DiagnosisReport.model_validate_json(report.model_dump_json()) == report


@pytest.mark.parametrize(
    "fields",
    [
        {"escalate": True, "outcome": "escalated"},  # no escalation_reason
        {"root_cause": "something", "escalate": False, "outcome": "diagnosed"},  # no evidence
        {"escalate": False, "outcome": "escalated"},
        {"escalate": False, "outcome": "diagnosed", "confidence": 1.5},
    ],
)
def test_inconsistent_reports_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DiagnosisReport.model_validate(
            {"summary": "s", "confidence": 0.5, "engine": "runbook:generic", **fields}
        )
