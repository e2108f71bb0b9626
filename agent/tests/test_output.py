from __future__ import annotations

import json

import pytest

from vixpro_agent.output import OutputError, fit_output, json_size, normalise


def test_output_within_the_limit_is_untouched():
    value = {"a": [1, 2, 3], "b": "text"}
    assert fit_output(value, 1000) == (value, False)


def test_long_lists_are_cut_before_strings():
    value = {"rows": [{"i": i, "name": "n" * 50} for i in range(2000)]}
    fitted, truncated = fit_output(value, 16 * 1024)
    assert truncated is True
    assert json_size(fitted) <= 16 * 1024
    assert fitted["rows"][0] == {"i": 0, "name": "n" * 50}  # items kept whole
    assert fitted["_truncated"].startswith("output exceeded 16384 bytes")


def test_one_huge_string_is_cut_and_marked():
    fitted, truncated = fit_output({"text": "z" * 200_000}, 4096)
    assert truncated is True
    assert fitted["text"].endswith("…[truncated]")
    assert json_size(fitted) <= 4096


def test_a_non_dict_output_stays_valid_json():
    fitted, truncated = fit_output(["line " * 100] * 1000, 2048)
    assert truncated and isinstance(fitted, list) and json_size(fitted) <= 2048


def test_last_resort_is_an_excerpt_of_the_json_text():
    value = {f"key{i}": i for i in range(5000)}  # many keys: nothing to shorten
    fitted, truncated = fit_output(value, 1024)
    assert truncated is True
    assert set(fitted) == {"_truncated", "excerpt"}
    assert fitted["excerpt"].startswith('{"key0": 0')
    assert json_size(fitted) <= 1024
    json.dumps(fitted)


def test_normalise_turns_tuples_and_objects_into_json():
    class Thing:
        def __str__(self):
            return "thing"

    assert normalise({"t": (1, 2), "o": Thing()}) == {"t": [1, 2], "o": "thing"}
    with pytest.raises(OutputError):
        normalise({"x": float("inf")})
