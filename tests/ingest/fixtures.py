"""Loading adapter fixtures: vendors' documented example payloads, stored as files."""

from __future__ import annotations

from pathlib import Path

from vixpro.ingest.base import IntegrationConfig, Parsed, WebhookRequest

ROOT = Path(__file__).parent / "fixtures"


def fixture_names(source: str) -> list[str]:
    return sorted(path.name for path in (ROOT / source).iterdir() if path.is_file())


def fixture_bytes(source: str, name: str) -> bytes:
    return (ROOT / source / name).read_bytes()


def request(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest(body=body, headers={k.lower(): v for k, v in (headers or {}).items()})


def parse_fixture(
    adapter: object, source: str, name: str, config: IntegrationConfig | None = None
) -> Parsed:
    parse = adapter.parse  # type: ignore[attr-defined]
    result = parse(request(fixture_bytes(source, name)), config or IntegrationConfig())
    assert isinstance(result, Parsed)
    return result
