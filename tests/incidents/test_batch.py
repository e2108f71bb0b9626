"""The cleaning pass is skipped only for bodies that cannot carry what PostgreSQL refuses."""

from __future__ import annotations

import pytest

from vixpro.incidents.batch import body_needs_cleaning


@pytest.mark.parametrize(
    "body",
    [
        b'{"summary": "a\\u0000b"}',  # a JSON escape for NUL
        b"summary=a\x00b",  # a raw NUL byte
        b"summary=a%00b",  # form-encoded
        b'{"value": NaN}',
        b'{"value": -Infinity}',
    ],
)
def test_bodies_that_may_carry_nul_or_non_finite_numbers_are_cleaned(body: bytes) -> None:
    assert body_needs_cleaning(body)


def test_an_ordinary_body_is_stored_as_it_is() -> None:
    assert not body_needs_cleaning(b'{"alerts": [{"labels": {"alertname": "HighCPU"}}]}')
