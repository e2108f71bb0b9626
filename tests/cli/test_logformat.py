"""Log lines read as the standard formatter writes them, the second cached or not."""

from __future__ import annotations

import logging

from vixpro.cli.logformat import FORMAT, SecondCachedFormatter


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("vixpro.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    return record


def test_lines_match_the_standard_formatter_across_seconds() -> None:
    cached, standard = SecondCachedFormatter(), logging.Formatter(FORMAT)
    for created in (1_700_000_000.001, 1_700_000_000.999, 1_700_000_001.5, 1_700_000_000.25):
        record = _record(created)
        assert cached.format(record) == standard.format(record)


def test_an_explicit_date_format_is_honoured() -> None:
    record = _record(1_700_000_000.5)
    assert SecondCachedFormatter().formatTime(record, "%Y") == logging.Formatter().formatTime(
        record, "%Y"
    )
