"""A small JSON-schema validator for the subset that tool parameter schemas use.

Hand-written because the host agent may depend only on websockets, cryptography and
psutil. The subset: ``type`` (object, string, integer, number, boolean, array),
``properties``, ``required``, ``additionalProperties`` (a boolean), ``enum``,
``minimum``/``maximum``, ``minLength``/``maxLength``, ``pattern``, ``items``,
``default``, and the annotations ``description`` and ``title``.

Any other keyword is an error in :func:`check_schema`, so a signed manifest cannot carry
a constraint that this host agent would silently ignore.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]

TYPES = ("object", "string", "integer", "number", "boolean", "array")
ANNOTATIONS = frozenset({"description", "title"})
# Which keywords mean something for which type: a keyword on the wrong type is refused
# rather than ignored, for the same reason unknown keywords are.
KEYWORDS_BY_TYPE: dict[str, frozenset[str]] = {
    "object": frozenset({"properties", "required", "additionalProperties"}),
    "string": frozenset({"minLength", "maxLength", "pattern"}),
    "integer": frozenset({"minimum", "maximum"}),
    "number": frozenset({"minimum", "maximum"}),
    "boolean": frozenset(),
    "array": frozenset({"items"}),
}
COMMON = frozenset({"type", "enum", "default"}) | ANNOTATIONS
SUPPORTED_KEYWORDS = COMMON.union(*KEYWORDS_BY_TYPE.values())


class SchemaError(Exception):
    """The schema itself uses something this validator does not support, or is malformed."""


class ValidationError(Exception):
    """A value does not satisfy its schema. ``errors`` name the failing fields."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def check_schema(schema: Any, path: str = "parameters") -> None:
    """Raise :class:`SchemaError` unless ``schema`` uses only the supported subset, well-formed."""
    if not isinstance(schema, dict):
        raise SchemaError(f"{path}: a schema must be an object")
    unknown = sorted(set(schema) - SUPPORTED_KEYWORDS)
    if unknown:
        raise SchemaError(f"{path}: unsupported schema keyword(s): {', '.join(unknown)}")
    kind = schema.get("type")
    if kind not in TYPES:
        raise SchemaError(f"{path}: type must be one of {', '.join(TYPES)}")
    misplaced = sorted(set(schema) - COMMON - KEYWORDS_BY_TYPE[kind])
    if misplaced:
        raise SchemaError(f"{path}: keyword(s) {', '.join(misplaced)} do not apply to type {kind}")
    for key in ANNOTATIONS & set(schema):
        if not isinstance(schema[key], str):
            raise SchemaError(f"{path}.{key}: must be a string")
    if kind == "object":
        _check_object_schema(schema, path)
    elif kind == "array":
        if "items" in schema:
            check_schema(schema["items"], f"{path}.items")
    elif kind == "string":
        _check_string_schema(schema, path)
    elif kind in ("integer", "number"):
        for key in ("minimum", "maximum"):
            if key in schema and not _is_number(schema[key]):
                raise SchemaError(f"{path}.{key}: must be a number")
    if "enum" in schema:
        enum = schema["enum"]
        if not isinstance(enum, list) or not enum:
            raise SchemaError(f"{path}.enum: must be a non-empty list")
        plain = _without(schema, "enum", "default")
        for i, option in enumerate(enum):
            errors = _validate(option, plain, f"{path}.enum[{i}]", [])
            if errors:
                raise SchemaError(f"enum option does not satisfy the schema: {'; '.join(errors)}")
    if "default" in schema:
        errors = _validate(schema["default"], schema, f"{path}.default", [])
        if errors:
            raise SchemaError(f"default does not satisfy the schema: {'; '.join(errors)}")


def validate(value: Any, schema: Schema, path: str = "params") -> Any:
    """Return ``value`` with defaults filled in, or raise :class:`ValidationError`.

    ``schema`` must already have passed :func:`check_schema`.
    """
    errors: list[str] = []
    result = _fill(value, schema, path, errors)
    if errors:
        raise ValidationError(errors)
    return result


def _without(schema: Schema, *keys: str) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in keys}


def _check_object_schema(schema: Schema, path: str) -> None:
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise SchemaError(f"{path}.properties: must be an object")
    for name, sub in properties.items():
        check_schema(sub, f"{path}.properties.{name}")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError(f"{path}.required: must be a list of property names")
    missing = [r for r in required if r not in properties]
    if missing:
        raise SchemaError(f"{path}.required: names undeclared properties: {', '.join(missing)}")
    additional = schema.get("additionalProperties", True)
    if not isinstance(additional, bool):
        raise SchemaError(f"{path}.additionalProperties: only true or false is supported")


def _check_string_schema(schema: Schema, path: str) -> None:
    for key in ("minLength", "maxLength"):
        if key in schema:
            bound = schema[key]
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
                raise SchemaError(f"{path}.{key}: must be a non-negative integer")
    if "pattern" in schema:
        pattern = schema["pattern"]
        if not isinstance(pattern, str):
            raise SchemaError(f"{path}.pattern: must be a string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SchemaError(f"{path}.pattern: not a valid regular expression ({exc})") from exc


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return _is_number(value) and float(value).is_integer()
    return _is_number(value)


ARTICLE = {"object": "an", "array": "an", "integer": "an"}


def _validate(value: Any, schema: Schema, path: str, errors: list[str]) -> list[str]:
    _fill(value, schema, path, errors)
    return errors


def _fill(value: Any, schema: Schema, path: str, errors: list[str]) -> Any:
    kind = schema["type"]
    if not _type_ok(value, kind):
        errors.append(f"{path}: must be {ARTICLE.get(kind, 'a')} {kind}")
        return value
    if kind == "integer" and isinstance(value, float):
        value = int(value)  # JSON has one number type: 3.0 is the integer 3
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        options = ", ".join(_show(o) for o in schema["enum"])
        errors.append(f"{path}: must be one of {options}")
        return value
    if kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: must be at most {schema['maximum']}")
    elif kind == "string":
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: must be at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: must be at most {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: does not match the pattern {schema['pattern']}")
    elif kind == "array":
        if "items" in schema:
            return [
                _fill(item, schema["items"], f"{path}[{i}]", errors) for i, item in enumerate(value)
            ]
    elif kind == "object":
        return _fill_object(value, schema, path, errors)
    return value


def _fill_object(value: dict[str, Any], schema: Schema, path: str, errors: list[str]) -> Any:
    properties: Mapping[str, Schema] = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"{path}.{name}: is required")
    for name, item in value.items():
        if name in properties:
            out[name] = _fill(item, properties[name], f"{path}.{name}", errors)
        elif schema.get("additionalProperties", True) is False:
            errors.append(f"{path}.{name}: is not an allowed parameter")
        else:
            out[name] = item
    for name, sub in properties.items():
        if name not in out and "default" in sub:
            out[name] = _copy(sub["default"])
    return out


def _same(value: Any, option: Any) -> bool:
    if _is_number(value) and _is_number(option):
        return bool(value == option)
    # In Python True == 1; in JSON they are different values.
    return type(value) is type(option) and bool(value == option)


def _show(value: Any) -> str:
    return (
        f'"{value}"'
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
