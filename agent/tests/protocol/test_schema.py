from __future__ import annotations

import pytest

from vixpro_agent.protocol.schema import SchemaError, ValidationError, check_schema, validate

SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "minLength": 1, "maxLength": 10, "pattern": "^/"},
        "lines": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1},
        "follow": {"type": "boolean", "default": False},
        "signal": {"type": "string", "enum": ["TERM", "KILL"]},
        "names": {"type": "array", "items": {"type": "string", "maxLength": 3}},
    },
    "required": ["path"],
    "additionalProperties": False,
}


def errors_for(value):
    with pytest.raises(ValidationError) as info:
        validate(value, SCHEMA)
    return info.value.errors


def test_valid_params_get_defaults_filled_in():
    check_schema(SCHEMA)
    assert validate({"path": "/var"}, SCHEMA) == {"path": "/var", "lines": 20, "follow": False}


def test_error_names_the_field_and_the_problem():
    assert errors_for({"path": 5}) == ["params.path: must be a string"]
    assert errors_for({}) == ["params.path: is required"]
    assert errors_for({"path": "/", "lines": "5"}) == ["params.lines: must be an integer"]
    assert errors_for({"path": "/", "follow": 1}) == ["params.follow: must be a boolean"]


def test_all_errors_are_reported_together():
    errors = errors_for({"path": "relative", "lines": 0, "extra": 1})
    assert "params.path: does not match the pattern ^/" in errors
    assert "params.lines: must be at least 1" in errors
    assert "params.extra: is not an allowed parameter" in errors


def test_bounds_on_numbers_and_lengths():
    assert errors_for({"path": "/", "lines": 101}) == ["params.lines: must be at most 100"]
    assert errors_for({"path": "/", "ratio": 1.5}) == ["params.ratio: must be at most 1"]
    assert errors_for({"path": ""}) == [
        "params.path: must be at least 1 characters",
        "params.path: does not match the pattern ^/",
    ]
    assert errors_for({"path": "/" * 11}) == ["params.path: must be at most 10 characters"]


def test_enum_and_arrays():
    assert errors_for({"path": "/", "signal": "HUP"}) == [
        'params.signal: must be one of "TERM", "KILL"'
    ]
    assert errors_for({"path": "/", "names": ["ok", "long"]}) == [
        "params.names[1]: must be at most 3 characters"
    ]
    assert errors_for({"path": "/", "names": "a"}) == ["params.names: must be an array"]


def test_booleans_are_not_integers_and_integral_floats_are():
    assert errors_for({"path": "/", "lines": True}) == ["params.lines: must be an integer"]
    assert validate({"path": "/", "lines": 3.0}, SCHEMA)["lines"] == 3
    assert errors_for({"path": "/", "lines": 3.5}) == ["params.lines: must be an integer"]
    enum = {"type": "integer", "enum": [1, 2]}
    check_schema(enum)
    with pytest.raises(ValidationError):
        validate(True, {"type": "boolean", "enum": [False]})
    assert validate(1, enum) == 1


def test_params_must_be_an_object():
    with pytest.raises(ValidationError, match=r"params: must be an object"):
        validate([], SCHEMA)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "oneOf": []}, "unsupported schema keyword(s): oneOf"),
        ({"type": "string", "format": "ipv4"}, "unsupported schema keyword(s): format"),
        (
            {"type": "object", "properties": {"a": {"type": "string", "$ref": "#"}}},
            "properties.a: unsupported",
        ),
        ({"type": "null"}, "type must be one of"),
        ({"properties": {}}, "type must be one of"),
        ({"type": "string", "minimum": 1}, "do not apply to type string"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, "only true or false"),
        ({"type": "object", "required": ["x"]}, "undeclared properties: x"),
        ({"type": "string", "pattern": "("}, "not a valid regular expression"),
        ({"type": "integer", "minimum": "1"}, "minimum: must be a number"),
        ({"type": "string", "maxLength": -1}, "non-negative integer"),
        ({"type": "integer", "maximum": 5, "default": 9}, "default does not satisfy"),
        ({"type": "string", "enum": ["a", 1]}, "enum option does not satisfy"),
        ({"type": "array", "items": {"type": "string", "uniqueItems": True}}, "uniqueItems"),
    ],
)
def test_unsupported_or_malformed_schemas_are_refused(schema, message):
    with pytest.raises(SchemaError) as info:
        check_schema(schema)
    assert message in str(info.value)


def test_schema_errors_name_where_in_the_schema():
    with pytest.raises(SchemaError, match=r"^parameters\.properties\.unit: unsupported"):
        check_schema({"type": "object", "properties": {"unit": {"type": "string", "const": "x"}}})
