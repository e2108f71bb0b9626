"""What an event may link to: a path on the dashboard, never another site."""

from __future__ import annotations

import pytest

from vixpro.notify.outbox import safe_link


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("/incidents/42", "/incidents/42"),
        ("/support/tickets/7#reply-3", "/support/tickets/7#reply-3"),
        ("//evil.example/phish", ""),
        ("/\\evil.example", ""),
        ("https://evil.example/", ""),
        ("javascript:alert(1)", ""),
        ("/incidents\r\nSet-Cookie: x", ""),
        ("", ""),
    ],
)
def test_only_dashboard_paths_are_kept(link: str, kept: str) -> None:
    assert safe_link(link) == kept
