"""Every adapter, by its ``source`` name."""

from __future__ import annotations

from vixpro.ingest import (
    alertmanager,
    azure_monitor,
    cloudwatch_sns,
    datadog,
    generic,
    grafana,
    netdata,
    newrelic,
    pagerduty,
    sentry,
    uptime_kuma,
    zabbix,
)
from vixpro.ingest.base import Adapter

ADAPTERS: dict[str, Adapter] = {
    module.ADAPTER.source: module.ADAPTER
    for module in (
        alertmanager,
        grafana,
        datadog,
        zabbix,
        uptime_kuma,
        netdata,
        newrelic,
        azure_monitor,
        cloudwatch_sns,
        sentry,
        pagerduty,
        generic,
    )
}


def adapter(source: str) -> Adapter:
    return ADAPTERS[source]


def sources() -> list[tuple[str, str]]:
    """(source, title) pairs, sorted by title, for forms and docs."""
    return sorted(
        ((a.source, a.title) for a in ADAPTERS.values()), key=lambda pair: pair[1].lower()
    )
