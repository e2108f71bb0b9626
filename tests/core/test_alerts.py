"""Fingerprints: the same text hashed, whichever encoder wrote it (stored alerts depend on it)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from vixpro.core.alerts import Severity, fingerprint


def standard(source: str, *identity: object) -> str:
    """The fingerprint as the standard library's JSON encoder writes its text."""
    encoded = json.dumps([source, *identity], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


_ASCII = st.text(alphabet=st.characters(max_codepoint=127))  # controls and DEL included

_IDENTITY = st.one_of(
    st.text(),
    _ASCII,
    st.dictionaries(_ASCII, _ASCII, max_size=6),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)),
    st.dictionaries(st.text(), st.text(), max_size=6),
    st.dictionaries(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)),
        max_size=6,
    ),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
    st.lists(st.text(), max_size=3),
)


@settings(max_examples=1000, deadline=None)
@given(st.text(), st.lists(_IDENTITY, max_size=4))
def test_fingerprints_equal_the_standard_encoders(source: str, identity: list[object]) -> None:
    assert fingerprint(source, *identity) == standard(source, *identity)


def test_prometheus_labels_keep_their_fingerprint() -> None:
    labels = {"alertname": "HighCPU", "instance": "web-1:9100", "severity": "warning"}
    assert fingerprint("alertmanager", labels) == standard("alertmanager", labels)
    assert fingerprint("alertmanager", labels) == fingerprint(
        "alertmanager", dict(reversed(labels.items()))
    )


def test_values_only_the_standard_encoder_writes_as_before() -> None:
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    for identity in (
        (at,),
        (ident,),
        (Severity.CRITICAL,),
        ({"a": "é"},),
        ({"a": 'quote " and \\ backslash'},),
        ({"n": 1},),
        (2**70,),
        ("line\nbreak",),
        ("delete \x7f",),
        ({"k": "\x7f"},),
    ):
        assert fingerprint("src", *identity) == standard("src", *identity)
