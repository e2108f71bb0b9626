from __future__ import annotations

from vixpro.web.app import telemetry


def test_native_telemetry_off_where_the_environment_configures_no_opentelemetry() -> None:
    assert telemetry({"PATH": "/usr/bin", "VIXPRO_DATA_DIR": "/var/lib/vixpro"}) == {
        "tracing": False,
        "metrics": False,
        "logs": False,
    }
    assert telemetry({"FASTAPI_OTEL_AUTO_CONFIGURE": "false"})["tracing"] is False


def test_native_telemetry_on_where_opentelemetry_is_configured() -> None:
    on = {"tracing": True, "metrics": True, "logs": True}
    assert telemetry({"FASTAPI_OTEL_AUTO_CONFIGURE": "true"}) == on
    assert telemetry({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == on
    assert telemetry({"OTEL_SERVICE_NAME": "vixpro"}) == on
